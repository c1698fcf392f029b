//! Participations, calls for participation and reuse declarations.

use juniper::{FieldResult, ID, graphql_object};

use super::super::context::Ctx;
use super::*;
use crate::store::read;

/// An organisation's role in a project.
pub struct Participation(pub ParticipationRow);

#[graphql_object(context = Ctx)]
impl Participation {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    fn organisation(&self, context: &Ctx) -> FieldResult<Organisation> {
        context.org_by_id(self.0.organisation_id)
    }
    fn role(&self) -> FieldResult<ParticipationRole> {
        Ok(self.0.role)
    }
    fn role_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.role.label())
    }
    fn status(&self) -> FieldResult<ParticipationStatus> {
        Ok(self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.status.label())
    }
    fn since(&self) -> Option<PartialDate> {
        self.0.since
    }
    fn until(&self) -> Option<PartialDate> {
        self.0.until
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn version(&self) -> i32 {
        self.0.version
    }
    fn created_at(&self) -> FieldResult<Timestamp> {
        Ok(self.0.created_at)
    }
    fn updated_at(&self) -> FieldResult<Timestamp> {
        Ok(self.0.updated_at)
    }
}

/// A call for participation (Aufruf, Interessensbekundung).
pub struct Call(pub CallRow);

#[graphql_object(context = Ctx)]
impl Call {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    /// Who issued the call.
    fn issuer(&self, context: &Ctx) -> FieldResult<Organisation> {
        context.org_by_id(self.0.issuer_id)
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn body(&self) -> &str {
        &self.0.body
    }
    fn roles_sought(&self, context: &Ctx) -> FieldResult<Vec<ParticipationRole>> {
        let rows =
            context
                .l
                .call_roles
                .many(context, &self.0.id, &context.keys.calls, read::call_roles_by_calls, |r| r.call_id)?;
        let mut roles: Vec<ParticipationRole> = rows.iter().map(|r| r.role).collect();
        roles.sort();
        Ok(roles)
    }
    /// Whether the call also invites declarations of reuse.
    fn invites_reuse(&self) -> bool {
        self.0.invites_reuse
    }
    fn opened_on(&self) -> Option<PartialDate> {
        Some(self.0.opened_on)
    }
    fn opened_on_label(&self) -> Option<String> {
        Some(self.0.opened_on).map(|d| d.label())
    }
    fn closes_on(&self) -> Option<PartialDate> {
        self.0.closes_on
    }
    fn status(&self) -> FieldResult<CallStatus> {
        Ok(self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.status.label())
    }
    /// Open and its closing date (if any) not yet passed.
    fn is_open(&self) -> bool {
        let today = PartialDate::today().start();
        self.0.status == CallStatus::Open && self.0.closes_on.is_none_or(|c| c.not_over(today))
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}

/// A Land's or Kommune's declaration that it wants to reuse a project's solution (Nachnutzung).
pub struct ReuseDeclaration(pub ReuseRow);

#[graphql_object(context = Ctx)]
impl ReuseDeclaration {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    fn organisation(&self, context: &Ctx) -> FieldResult<Organisation> {
        context.org_by_id(self.0.organisation_id)
    }
    fn status(&self) -> FieldResult<ReuseStatus> {
        Ok(self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.status.label())
    }
    /// The statuses `advanceReuseDeclaration` / `withdrawReuseDeclaration` accept next.
    fn allowed_next_statuses(&self) -> FieldResult<Vec<ReuseStatus>> {
        Ok(self.0.status.allowed_next().iter().copied().filter(|n| *n != ReuseStatus::Interest).collect())
    }
    fn declared_on(&self) -> Option<PartialDate> {
        self.0.declared_on
    }
    fn planned_live(&self) -> Option<PartialDate> {
        self.0.planned_live
    }
    fn actual_live(&self) -> Option<PartialDate> {
        self.0.actual_live
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}
