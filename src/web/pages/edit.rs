//! `/projekte/{slug}/bearbeiten`: the coordinator's page for a project in scope.

use actix_web::{HttpRequest, HttpResponse, web};
use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use super::super::{Reply, Viewer, notice, page, run};
use crate::auth::policy::{self, Op};
use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::newsletter::{date_label, day_label};
use crate::store::{Db, changes, read};

use super::*;

/// `GET /projekte/{slug}/bearbeiten`: the coordinator's page for a project in scope.
pub async fn edit_project(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<Notice>,
) -> HttpResponse {
    let slug = path.into_inner();
    let hint = notice(q.hinweis.as_deref());
    run(&req, &state, move |conn, viewer| edit_page(conn, viewer, &slug, hint, None)).await
}

/// A submitted edit that lost against someone else's: what the user sent and what changed since.
pub struct Stale {
    pub form: BTreeMap<String, String>,
    pub seen: i64,
}

/// What the coordinator's edit page shows.
#[derive(Serialize)]
struct EditPage {
    title: String,
    project: EditProject,
    /// The newest public change-log entry when the page was made: a stale edit shows what came after.
    seen: i64,
    next_phases: Vec<CodeLabel>,
    can_merge: bool,
    milestones: Vec<MilestoneView>,
    steps: Vec<StepView>,
    step_statuses: Vec<CodeLabel>,
    milestone_phases: Vec<CodeLabel>,
    calls: Vec<OpenCall>,
    roles: Vec<CodeLabel>,
    stale: Option<StaleView>,
    notice: Option<&'static str>,
}

#[derive(Serialize)]
struct EditProject {
    slug: String,
    title: String,
    version: i32,
    phase_label: &'static str,
    status_note: Option<String>,
}

#[derive(Serialize)]
struct MilestoneView {
    id: i32,
    version: i32,
    title: String,
    phase: Option<&'static str>,
    planned: Option<String>,
    actual: Option<String>,
    reached: bool,
}

#[derive(Serialize)]
struct StepView {
    id: i32,
    position: i32,
    title: String,
    status: &'static str,
}

/// A stale edit: the fields the user sent and the public changes made since they loaded the page.
#[derive(Serialize)]
struct StaleView {
    form: BTreeMap<String, String>,
    changes: Vec<StaleChange>,
}

#[derive(Serialize)]
struct StaleChange {
    at: String,
    summary: String,
    fields: Vec<ChangedField>,
}

/// A field a change-log entry changed, with its values before and after, as text.
#[derive(Serialize)]
pub(super) struct ChangedField {
    field: String,
    before: String,
    after: String,
}

/// The edit page; with `stale`, it shows what changed since the user loaded it and their input.
pub fn edit_page(
    conn: &mut Db,
    viewer: &Viewer,
    slug: &str,
    hint: Option<&'static str>,
    stale: Option<Stale>,
) -> AppResult<Reply> {
    let p = crate::service::find_project(conn, slug, "slug")?;
    if viewer.session.is_none() {
        return Err(AppError::user(crate::error::ErrorCode::Unauthenticated, None, "please sign in first"));
    }
    policy::require(conn, &viewer.actor(), Op::ManageProject(&p))?;
    crate::service::require_home(conn, &p.origin, "project", "slug")?;
    let phase = p.phase;
    let resume = p.phase_before_hold;
    let next = phase.allowed_next(resume);
    let milestones: Vec<MilestoneView> = read::milestones_by_projects(conn, &[p.id])?
        .into_iter()
        .map(|m| MilestoneView {
            id: m.id.get(),
            version: m.version,
            title: m.title,
            phase: m.phase.map(|p| p.label()),
            planned: date_label(m.planned),
            actual: date_label(m.actual),
            reached: m.actual.is_some(),
        })
        .collect();
    let calls = read::calls_by_projects(conn, &[p.id])?;
    let calls = open_calls(conn, calls)?;
    let steps: Vec<StepView> = read::steps_by_projects(conn, &[p.id])?
        .into_iter()
        .map(|s| StepView { id: s.id.get(), position: s.position, title: s.title, status: s.status.code() })
        .collect();
    let latest = changes::recent_public(conn, p.id, 1)?.first().map(|c| c.id).unwrap_or(0);
    let stale = match stale {
        None => None,
        Some(s) => {
            let f = changes::ChangeFilter { project_id: Some(p.id), after_id: Some(s.seen), ..Default::default() };
            let (rows, _) = changes::page(conn, &f, 50)?;
            let changes = rows
                .iter()
                .filter(|r| !r.personal)
                .map(|r| StaleChange {
                    at: day_label(&r.at),
                    summary: r.summary.clone(),
                    fields: changed_fields(&r.changes),
                })
                .collect();
            Some(StaleView { form: s.form, changes })
        }
    };
    Ok(page(
        "edit.html",
        EditPage {
            title: format!("{} bearbeiten", p.title),
            seen: latest,
            next_phases: next.iter().map(|ph| code_label(*ph)).collect(),
            can_merge: next.contains(&Phase::Merged),
            milestones,
            steps,
            step_statuses: StepStatus::ALL.iter().map(|s| code_label(*s)).collect(),
            milestone_phases: Phase::ALL.iter().filter(|ph| !ph.is_side_state()).map(|ph| code_label(*ph)).collect(),
            calls,
            roles: ParticipationRole::ALL.iter().map(|r| code_label(*r)).collect(),
            stale,
            notice: hint,
            project: EditProject {
                slug: p.slug,
                title: p.title,
                version: p.version,
                phase_label: phase.label(),
                status_note: p.status_note,
            },
        },
    ))
}

/// The fields a change-log entry changed, with their values before and after, as text.
pub(super) fn changed_fields(changes: &str) -> Vec<ChangedField> {
    let show = |v: &Value| match v {
        Value::Null => "–".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(changes) else { return vec![] };
    m.iter()
        .map(|(field, d)| ChangedField { field: field.clone(), before: show(&d["before"]), after: show(&d["after"]) })
        .collect()
}
