//! The change log.

use juniper::{FieldResult, GraphQLObject, ID, graphql_object};

use super::super::context::Ctx;
use super::super::errors::internal_error;
use super::*;

/// One entry of the change log.
pub struct ChangeEntry(pub ChangeRow);

/// One field's value before and after, as JSON text.
#[derive(GraphQLObject)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[graphql_object(context = Ctx, name = "Change")]
impl ChangeEntry {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    fn at(&self) -> FieldResult<Timestamp> {
        Ok(self.0.at)
    }
    /// Who made the change (the token's subject); shown to coordinators and admins only.
    fn actor(&self, context: &Ctx) -> Option<&str> {
        context.actor.sees_actors().then_some(self.0.actor.as_str())
    }
    /// The actor's role (anonymous, municipality, coordinator, admin, system); coordinators and admins only.
    fn actor_role(&self, context: &Ctx) -> Option<&str> {
        context.actor.sees_actors().then_some(self.0.actor_role.as_str())
    }
    /// The actor's organisation; coordinators and admins only.
    fn actor_organisation(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        match (context.actor.sees_actors(), self.0.actor_organisation_id) {
            (true, Some(o)) => context.org_by_id(o).map(Some),
            _ => Ok(None),
        }
    }
    /// The issuer of the actor's token; coordinators and admins only.
    fn actor_issuer(&self, context: &Ctx) -> Option<&str> {
        if context.actor.sees_actors() { self.0.actor_issuer.as_deref() } else { None }
    }
    /// APPLIED, or DENIED for a refused attempt (those are listed for coordinators and admins only).
    fn outcome(&self) -> &'static str {
        self.0.outcome.code()
    }
    fn action(&self) -> FieldResult<ChangeAction> {
        Ok(self.0.action)
    }
    fn action_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.action.label())
    }
    /// Project, Participation, Call, ReuseDeclaration, Milestone, Organisation, …
    fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The changed record's slug or id.
    fn entity_id(&self) -> &str {
        &self.0.entity_id
    }
    fn project(&self, context: &Ctx) -> FieldResult<Option<Project>> {
        self.0.project_id.map(|p| context.project_by_id(p)).transpose()
    }
    /// One German sentence saying what happened.
    fn summary(&self) -> &str {
        &self.0.summary
    }
    /// Field values before and after; entries about personal data show them to signed-in users only.
    fn fields(&self, context: &Ctx) -> FieldResult<Vec<FieldChange>> {
        if self.0.personal && !context.actor.is_authenticated() {
            return Ok(vec![]);
        }
        let v: serde_json::Value =
            serde_json::from_str(&self.0.changes).map_err(|e| internal_error(&format!("change {}: {e}", self.0.id)))?;
        let text = |x: Option<&serde_json::Value>| x.filter(|v| !v.is_null()).map(|v| v.to_string());
        Ok(v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, c)| FieldChange {
                        field: k.clone(),
                        before: text(c.get("before")),
                        after: text(c.get("after")),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}
