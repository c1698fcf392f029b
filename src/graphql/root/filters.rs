//! The filters of the lists and the checks of their values.

use juniper::{FieldResult, GraphQLInputObject};

use super::super::context::Ctx;
use super::super::errors::field_error;
use super::super::inputs::{OrganisationRef, org_key};
use crate::domain::*;
use crate::error::AppError;
use crate::service;

#[derive(GraphQLInputObject)]
pub struct OzgServiceFilter {
    /// Topic field slug, e.g. "ein_auswanderung".
    pub topic_field: Option<String>,
    /// Case-insensitive part of the name.
    pub name_contains: Option<String>,
    pub federal_priority: Option<FederalPriority>,
}

#[derive(GraphQLInputObject)]
pub struct OrganisationFilter {
    pub kind: Option<OrganisationKind>,
    /// ISO 3166-2 code, e.g. "DE-NW".
    pub land: Option<String>,
    pub name_contains: Option<String>,
}

#[derive(GraphQLInputObject)]
pub struct ProjectFilter {
    /// Topic field slug of any of the project's OZG-Leistungen.
    pub topic_field: Option<String>,
    /// Any of these phases.
    pub phase: Option<Vec<Phase>>,
    /// ISO 3166-2 code of the leading Land.
    pub lead_land: Option<String>,
    pub ozg_id: Option<OzgId>,
    /// Whether the project has an open call for participation.
    pub has_open_call: Option<bool>,
    pub title_contains: Option<String>,
    /// Projects this organisation takes part in (withdrawn participations excluded).
    pub participant: Option<OrganisationRef>,
    /// Only projects homed at this registry instance (its id, see `federationStatus`), or only
    /// those replicated from it.
    pub origin: Option<String>,
    /// `true`: only projects homed here; `false`: only replicated ones.
    pub homed_here: Option<bool>,
}

#[derive(GraphQLInputObject)]
pub struct ReuseFilter {
    pub project_slug: Option<String>,
    pub organisation: Option<OrganisationRef>,
    pub status: Option<Vec<ReuseStatus>>,
}

/// Longest search text accepted.
pub(super) const MAX_SEARCH: usize = 200;
/// Most items in a list argument.
pub(super) const MAX_LIST: usize = crate::graphql::limits::MAX_LIST_ITEMS;

pub(super) fn search_text(field: &str, t: Option<String>) -> FieldResult<Option<String>> {
    match t.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > MAX_SEARCH => {
            Err(field_error(AppError::bad_input(field, format!("{field}: at most {MAX_SEARCH} characters"))))
        }
        Some(t) => Ok(Some(t.to_owned())),
    }
}

pub(super) fn short_list<T>(field: &str, v: Option<Vec<T>>) -> FieldResult<Option<Vec<T>>> {
    match v {
        Some(v) if v.len() > MAX_LIST => {
            Err(field_error(AppError::bad_input(field, format!("{field}: at most {MAX_LIST} items"))))
        }
        v => Ok(v),
    }
}

pub(super) fn slug_of_topic(ctx: &Ctx, slug: &str) -> FieldResult<String> {
    let topics = ctx.topic_fields()?;
    if topics.iter().any(|t| t.slug == slug) {
        Ok(slug.to_owned())
    } else {
        Err(field_error(service::unknown_topic_field("topicField", slug, topics)))
    }
}

pub(super) fn land_of(ctx: &Ctx, code: &str, field: &str) -> FieldResult<String> {
    let lands = ctx.lands()?;
    if lands.iter().any(|l| l.code == code) {
        Ok(code.to_owned())
    } else {
        Err(field_error(AppError::bad_input(
            field,
            format!(
                "{field}: {code:?} is not a Land; allowed: {}",
                lands.iter().map(|l| l.code.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )))
    }
}

pub(super) fn org_ref(ctx: &Ctx, r: &OrganisationRef, field: &str) -> FieldResult<OrganisationId> {
    let key = org_key(r.clone(), field).map_err(field_error)?;
    ctx.with_conn(|c| service::find_organisation(c, &key, field)).map(|o| o.id).map_err(field_error)
}
