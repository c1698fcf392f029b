//! The pages people read: start, Themenfeld, project, organisation, search, sign-in, "Meine
//! Beteiligungen" and the coordinator's edit page. Each loads what it shows with a fixed number of
//! queries (one per kind of row), never one per row.
//! One file per page; the helpers several pages share are here.

use std::collections::HashMap;

use serde::Deserialize;
use serde_json::{Value, json};

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

fn code_label<T: Vocabulary>(v: T) -> Value {
    json!({ "code": v.code(), "label": v.label() })
}

fn organisations(conn: &mut Db, mut ids: Vec<i32>) -> AppResult<HashMap<i32, OrganisationRow>> {
    ids.sort_unstable();
    ids.dedup();
    Ok(read::organisations_by_ids(conn, &ids)?.into_iter().map(|o| (o.id, o)).collect())
}

fn lands(conn: &mut Db) -> AppResult<HashMap<String, String>> {
    Ok(read::lands(conn)?.into_iter().map(|l| (l.code, l.name)).collect())
}

fn org_json(orgs: &HashMap<i32, OrganisationRow>, id: i32) -> Value {
    match orgs.get(&id) {
        Some(o) => json!({ "name": o.name, "slug": o.slug }),
        None => json!({ "name": "", "slug": "" }),
    }
}

/// Open calls with their project, issuer and the roles they seek.
fn open_calls(conn: &mut Db, calls: Vec<CallRow>) -> AppResult<Vec<Value>> {
    let calls: Vec<CallRow> = calls.into_iter().filter(|c| c.status == CallStatus::Open).collect();
    let projects: HashMap<ProjectId, ProjectRow> =
        read::projects_by_ids(conn, &calls.iter().map(|c| c.project_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let orgs = organisations(conn, calls.iter().map(|c| c.issuer_id).collect())?;
    let roles = read::call_roles_by_calls(conn, &calls.iter().map(|c| c.id).collect::<Vec<_>>())?;
    Ok(calls
        .iter()
        .map(|c| {
            let p = projects.get(&c.project_id);
            let sought: Vec<Value> = roles
                .iter()
                .filter(|r| r.call_id == c.id)
                .map(|r| r.role)
                .map(|r| {
                    json!({ "code": r.code(), "label": r.label(),
                            "self_service": ParticipationRole::SELF_SERVICE.contains(&r) })
                })
                .collect();
            json!({
                "id": c.id,
                "version": c.version,
                "title": c.title,
                "body": c.body,
                "project": p.map(|p| json!({ "slug": p.slug, "title": p.title })),
                "issuer": org_json(&orgs, c.issuer_id),
                "opened": Some(c.opened_on.label()),
                "closes": date_label(c.closes_on),
                "invites_reuse": c.invites_reuse,
                "roles": sought,
            })
        })
        .collect())
}

/// How many open calls the start page shows.
const START_CALLS: usize = 24;
