//! Workshops, meetings and decisions, and their bearing on projects.

use std::sync::Arc;

use juniper::{FieldResult, graphql_object};

use super::super::context::{Ctx, Lk};
use super::super::errors::internal_error;
use super::*;
use crate::store::read;

/// A workshop, meeting or decision that concerns projects.
pub struct Event(pub Arc<EventRow>);

#[graphql_object(context = Ctx)]
impl Event {
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn kind(&self) -> FieldResult<EventKind> {
        Ok(self.0.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.kind.label())
    }
    fn held_on(&self) -> Option<PartialDate> {
        Some(self.0.held_on)
    }
    fn held_on_label(&self) -> Option<String> {
        Some(self.0.held_on).map(|d| d.label())
    }
    fn location(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.location_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn organiser(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.organiser_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn projects(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<EventLink>> {
        let rows = context.l.event_projects.many_first(
            context,
            &self.0.id,
            &context.keys.events,
            read::event_projects_by_events,
            |r| r.event_id,
            n(first),
        )?;
        context.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        Ok(rows.into_iter().map(EventLink).collect())
    }
}

/// An event's bearing on one project.
pub struct EventLink(pub EventProjectRow);

#[graphql_object(context = Ctx)]
impl EventLink {
    fn event(&self, context: &Ctx) -> FieldResult<Event> {
        let id = self.0.event_id;
        let row = context.l.event.one(context, &id, &context.keys.events, read::events_by_ids, |r| r.id)?;
        row.map(Event).ok_or_else(|| internal_error(&format!("event {id} vanished")))
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }
}
