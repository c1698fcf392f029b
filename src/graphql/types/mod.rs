//! GraphQL object types, one file per family of entities. Each wraps a stored row; nested fields
//! go through the request's loaders (registered here, in the `Ctx` helpers below).

use std::sync::Arc;

use juniper::FieldResult;

use super::context::{Ctx, Lk};
use super::errors::internal_error;
use crate::domain::*;
use crate::store::{read, rows::*};

/// A list argument `first` as a length (a negative one, which the limits refuse, as none).
fn n(first: i32) -> usize {
    usize::try_from(first).unwrap_or(0)
}

mod changes;
mod contacts;
mod events;
mod federation;
mod newsletter;
mod organisations;
mod participation;
mod projects;
mod reference;

pub use changes::*;
pub use contacts::*;
pub use events::*;
pub use federation::*;
pub use newsletter::*;
pub use organisations::*;
pub use participation::*;
pub use projects::*;
pub use reference::*;

// ---- registration and lookups ---------------------------------------------------------------

impl Ctx {
    pub fn projects(&self, rows: Vec<ProjectRow>) -> Vec<Project> {
        self.keys.projects.lk().extend(rows.iter().map(|r| r.id));
        let rows: Vec<Arc<ProjectRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.project.prime(&rows, |r| r.id);
        rows.into_iter().map(Project).collect()
    }

    pub fn organisations(&self, rows: Vec<OrganisationRow>) -> Vec<Organisation> {
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.id));
        self.keys.orgs.lk().extend(rows.iter().filter_map(|r| r.parent_id));
        let rows: Vec<Arc<OrganisationRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.org.prime(&rows, |r| r.id);
        rows.into_iter().map(Organisation).collect()
    }

    pub fn services(&self, rows: Vec<OzgServiceRow>) -> Vec<OzgService> {
        self.keys.services.lk().extend(rows.iter().map(|r| r.ozg_id.clone()));
        self.keys.life_situations.lk().extend(rows.iter().map(|r| r.life_situation_id));
        let rows: Vec<Arc<OzgServiceRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.service.prime(&rows, |r| r.ozg_id.clone());
        rows.into_iter().map(OzgService).collect()
    }

    pub fn participations(&self, rows: Vec<ParticipationRow>) -> Vec<Participation> {
        self.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.organisation_id));
        rows.into_iter().map(Participation).collect()
    }

    pub fn calls(&self, rows: Vec<CallRow>) -> Vec<Call> {
        self.keys.calls.lk().extend(rows.iter().map(|r| r.id));
        self.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.issuer_id));
        rows.into_iter().map(Call).collect()
    }

    pub fn reuse(&self, rows: Vec<ReuseRow>) -> Vec<ReuseDeclaration> {
        self.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.organisation_id));
        rows.into_iter().map(ReuseDeclaration).collect()
    }

    pub fn events(&self, rows: Vec<EventRow>) -> Vec<Event> {
        self.keys.events.lk().extend(rows.iter().map(|r| r.id));
        self.keys.orgs.lk().extend(rows.iter().flat_map(|r| [r.location_id, r.organiser_id]).flatten());
        let rows: Vec<Arc<EventRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.event.prime(&rows, |r| r.id);
        rows.into_iter().map(Event).collect()
    }

    pub fn topic_field_objects(&self, rows: Vec<TopicFieldRow>) -> Vec<TopicField> {
        self.keys.topics.lk().extend(rows.iter().map(|r| r.slug.clone()));
        rows.into_iter().map(TopicField).collect()
    }

    fn project_by_id(&self, id: ProjectId) -> FieldResult<Project> {
        let row = self.l.project.one(self, &id, &self.keys.projects, read::projects_by_ids, |r| r.id)?;
        row.map(Project).ok_or_else(|| internal_error(&format!("project {id} vanished")))
    }

    fn org_by_id(&self, id: OrganisationId) -> FieldResult<Organisation> {
        let row = self.l.org.one(self, &id, &self.keys.orgs, read::organisations_by_ids, |r| r.id)?;
        let row = row.ok_or_else(|| internal_error(&format!("organisation {id} vanished")))?;
        if let Some(p) = row.parent_id {
            self.keys.orgs.lk().insert(p);
        }
        Ok(Organisation(row))
    }

    fn service_by_id(&self, id: &str) -> FieldResult<OzgService> {
        let row = self
            .l
            .service
            .one(self, &id.to_owned(), &self.keys.services, read::ozg_services_by_ids, |r| r.ozg_id.clone())?;
        let row = row.ok_or_else(|| internal_error(&format!("OZG service {id} vanished")))?;
        self.keys.life_situations.lk().insert(row.life_situation_id);
        Ok(OzgService(row))
    }

    fn land(&self, code: &Option<String>) -> FieldResult<Option<Land>> {
        let Some(code) = code else { return Ok(None) };
        Ok(self.lands()?.iter().find(|l| &l.code == code).cloned().map(Land))
    }

    fn topic_field(&self, slug: &str) -> FieldResult<TopicField> {
        let t = self.topic_fields()?.iter().find(|t| t.slug == slug).cloned();
        let t = t.ok_or_else(|| internal_error(&format!("topic field {slug} vanished")))?;
        self.keys.topics.lk().insert(t.slug.clone());
        Ok(TopicField(t))
    }
}
