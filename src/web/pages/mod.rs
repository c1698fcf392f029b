//! The pages people read: start, Themenfeld, project, organisation, search, sign-in, "Meine
//! Beteiligungen" and the coordinator's edit page. Each loads what it shows with a fixed number of
//! queries (one per kind of row), never one per row.
//! One file per page, each with its typed view model (what its template sees, built from rows);
//! the helpers and view parts several pages share are here.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::error::AppResult;
use crate::newsletter::date_label;
use crate::store::rows::*;
use crate::store::{Db, read};

mod edit;
mod mine;
mod organisation;
mod project;
mod search;
mod sign_in;
mod start;
mod topic;

pub use edit::*;
pub use mine::*;
pub use organisation::*;
pub use project::*;
pub use search::*;
pub use sign_in::*;
pub use start::*;
pub use topic::*;

#[derive(Deserialize)]
pub struct Notice {
    hinweis: Option<String>,
}

/// A vocabulary value as a form's option: its code and its German label.
#[derive(Serialize)]
struct CodeLabel {
    code: &'static str,
    label: &'static str,
}

fn code_label<T: Vocabulary>(v: T) -> CodeLabel {
    CodeLabel { code: v.code(), label: v.label() }
}

/// A link to an organisation's page.
#[derive(Serialize)]
struct OrgLink {
    name: String,
    slug: String,
}

impl OrgLink {
    fn of(o: &OrganisationRow) -> Self {
        OrgLink { name: o.name.clone(), slug: o.slug.clone() }
    }
}

/// A link to a project's page.
#[derive(Serialize)]
struct ProjectLink {
    slug: String,
    title: String,
}

impl ProjectLink {
    fn of(p: &ProjectRow) -> Self {
        ProjectLink { slug: p.slug.clone(), title: p.title.clone() }
    }
}

/// A link to a project's page with its phase.
#[derive(Serialize)]
struct ProjectPhase {
    slug: String,
    title: String,
    phase: &'static str,
}

impl ProjectPhase {
    fn of(p: &ProjectRow) -> Self {
        ProjectPhase { slug: p.slug.clone(), title: p.title.clone(), phase: p.phase.label() }
    }
}

/// A Themenfeld by its slug; the name is absent when the slug is unknown.
#[derive(Serialize)]
struct TopicRef {
    slug: String,
    name: Option<String>,
}

fn organisations(conn: &mut Db, mut ids: Vec<OrganisationId>) -> AppResult<HashMap<OrganisationId, OrganisationRow>> {
    ids.sort_unstable();
    ids.dedup();
    Ok(read::organisations_by_ids(conn, &ids)?.into_iter().map(|o| (o.id, o)).collect())
}

fn lands(conn: &mut Db) -> AppResult<HashMap<String, String>> {
    Ok(read::lands(conn)?.into_iter().map(|l| (l.code, l.name)).collect())
}

/// The organisation of an id as a link; empty when it is not among `orgs`.
fn org_link(orgs: &HashMap<OrganisationId, OrganisationRow>, id: OrganisationId) -> OrgLink {
    match orgs.get(&id) {
        Some(o) => OrgLink::of(o),
        None => OrgLink { name: String::new(), slug: String::new() },
    }
}

/// An open call for participation, as the start, project and edit pages list it.
#[derive(Serialize)]
struct OpenCall {
    id: i32,
    version: i32,
    title: String,
    body: String,
    project: Option<ProjectLink>,
    issuer: OrgLink,
    opened: Option<String>,
    closes: Option<String>,
    invites_reuse: bool,
    roles: Vec<SoughtRole>,
}

/// A role a call seeks; `self_service` when a Kommune can answer it itself.
#[derive(Serialize)]
struct SoughtRole {
    code: &'static str,
    label: &'static str,
    self_service: bool,
}

/// Open calls with their project, issuer and the roles they seek.
fn open_calls(conn: &mut Db, calls: Vec<CallRow>) -> AppResult<Vec<OpenCall>> {
    let calls: Vec<CallRow> = calls.into_iter().filter(|c| c.status == CallStatus::Open).collect();
    let projects: HashMap<ProjectId, ProjectRow> =
        read::projects_by_ids(conn, &calls.iter().map(|c| c.project_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let orgs = organisations(conn, calls.iter().map(|c| c.issuer_id).collect())?;
    let roles = read::call_roles_by_calls(conn, &calls.iter().map(|c| c.id).collect::<Vec<_>>())?;
    Ok(calls
        .into_iter()
        .map(|c| {
            let roles = roles
                .iter()
                .filter(|r| r.call_id == c.id)
                .map(|r| r.role)
                .map(|r| SoughtRole {
                    code: r.code(),
                    label: r.label(),
                    self_service: ParticipationRole::SELF_SERVICE.contains(&r),
                })
                .collect();
            OpenCall {
                id: c.id.get(),
                version: c.version,
                project: projects.get(&c.project_id).map(ProjectLink::of),
                issuer: org_link(&orgs, c.issuer_id),
                opened: Some(c.opened_on.label()),
                closes: date_label(c.closes_on),
                invites_reuse: c.invites_reuse,
                roles,
                title: c.title,
                body: c.body,
            }
        })
        .collect())
}

/// How many open calls the start page shows.
const START_CALLS: usize = 24;
