//! Organisations: Länder, ministries, Kommunen, Kreise, IT service providers, offices.

use std::sync::Arc;

use juniper::{FieldResult, ID, graphql_object};

use super::super::context::Ctx;
use super::*;
use crate::store::read;

/// A Land, ministry, Kommune, Kreis, IT service provider, association, vendor or office.
pub struct Organisation(pub Arc<OrganisationRow>);

#[graphql_object(context = Ctx)]
impl Organisation {
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
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    fn short_name(&self) -> Option<&str> {
        self.0.short_name.as_deref()
    }
    fn kind(&self) -> FieldResult<OrganisationKind> {
        Ok(self.0.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.kind.label())
    }
    fn land(&self, context: &Ctx) -> FieldResult<Option<Land>> {
        context.land(&self.0.land_code)
    }
    fn ags(&self) -> Option<Ags> {
        self.0.ags.as_deref().and_then(|a| Ags::parse(a).ok())
    }
    fn ars(&self) -> Option<Ars> {
        self.0.ars.as_deref().and_then(|a| Ars::parse(a).ok())
    }
    /// Kreisschlüssel of a Kreis or kreisfreie Stadt.
    fn district_key(&self) -> Option<DistrictKey> {
        self.0.district_key.as_deref().and_then(|a| DistrictKey::parse(a).ok())
    }
    /// The organisation this one belongs to (an office's city, a municipality's Kreis).
    fn parent(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.parent_id.map(|p| context.org_by_id(p)).transpose()
    }
    fn children(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Organisation>> {
        let rows = context.l.org_children.many_first(
            context,
            &self.0.id,
            &context.keys.orgs,
            read::organisations_by_parents,
            |r| r.parent_id.unwrap_or(OrganisationId::from(0)),
            n(first),
        )?;
        Ok(context.organisations(rows))
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Every participation of this organisation, withdrawn ones included.
    fn participations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Participation>> {
        let rows = context.l.org_participations.many_first(
            context,
            &self.0.id,
            &context.keys.orgs,
            read::participations_by_organisations,
            |r| r.organisation_id,
            n(first),
        )?;
        Ok(context.participations(rows))
    }
    fn reuse_declarations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ReuseDeclaration>> {
        let rows = context.l.org_reuse.many_first(
            context,
            &self.0.id,
            &context.keys.orgs,
            read::reuse_by_organisations,
            |r| r.organisation_id,
            n(first),
        )?;
        Ok(context.reuse(rows))
    }
    /// Contact persons of the organisation (signed-in users only: null with an UNAUTHENTICATED
    /// error for anonymous readers).
    fn contacts(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Option<Vec<Contact>>> {
        require_signed_in(context)?;
        let rows = context.l.org_contacts.many_first(
            context,
            &self.0.id,
            &context.keys.orgs,
            crate::store::auth::contacts_by_organisations,
            |r| r.organisation_id.unwrap_or(OrganisationId::from(0)),
            n(first),
        )?;
        Ok(Some(rows.into_iter().map(Contact).collect()))
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}
