//! `/projekte/{slug}/bearbeiten`: the coordinator's page for a project in scope.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

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
    pub form: Value,
    pub seen: i64,
}

/// The edit page; with `stale`, it shows what changed since the user loaded it and their input.
pub fn edit_page(
    conn: &mut Db,
    viewer: &Viewer,
    slug: &str,
    hint: Option<&str>,
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
    let milestones: Vec<Value> = read::milestones_by_projects(conn, &[p.id])?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id, "version": m.version, "title": m.title,
                "phase": m.phase.map(|p| p.label()),
                "planned": date_label(m.planned), "actual": date_label(m.actual),
                "reached": m.actual.is_some(),
            })
        })
        .collect();
    let calls = read::calls_by_projects(conn, &[p.id])?;
    let calls = open_calls(conn, calls)?;
    let steps: Vec<Value> = read::steps_by_projects(conn, &[p.id])?
        .into_iter()
        .map(|s| json!({ "id": s.id, "position": s.position, "title": s.title, "status": s.status }))
        .collect();
    let latest = changes::recent_public(conn, p.id, 1)?.first().map(|c| c.id).unwrap_or(0);
    let stale = match stale {
        None => None,
        Some(s) => {
            let f = changes::ChangeFilter { project_id: Some(p.id), after_id: Some(s.seen), ..Default::default() };
            let (rows, _) = changes::page(conn, &f, 50)?;
            let changed: Vec<Value> = rows
                .iter()
                .filter(|r| !r.personal)
                .map(|r| json!({ "at": day_label(&r.at), "summary": r.summary, "fields": changed_fields(&r.changes) }))
                .collect();
            Some(json!({ "form": s.form, "changes": changed }))
        }
    };
    Ok(page(
        "edit.html",
        json!({
            "title": format!("{} bearbeiten", p.title),
            "project": {
                "slug": p.slug, "title": p.title, "version": p.version,
                "phase_label": phase.label(), "status_note": p.status_note,
            },
            "seen": latest,
            "next_phases": next.iter().map(|ph| code_label(*ph)).collect::<Vec<_>>(),
            "can_merge": next.contains(&Phase::Merged),
            "milestones": milestones,
            "steps": steps,
            "step_statuses": StepStatus::ALL.iter().map(|s| code_label(*s)).collect::<Vec<_>>(),
            "milestone_phases": Phase::ALL.iter().filter(|ph| !ph.is_side_state()).map(|ph| code_label(*ph)).collect::<Vec<_>>(),
            "calls": calls,
            "roles": ParticipationRole::ALL.iter().map(|r| code_label(*r)).collect::<Vec<_>>(),
            "stale": stale,
            "notice": hint,
        }),
    ))
}

/// The fields a change-log entry changed, with their values before and after, as text.
pub(super) fn changed_fields(changes: &str) -> Vec<Value> {
    let show = |v: &Value| match v {
        Value::Null => "–".to_owned(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    let Ok(Value::Object(m)) = serde_json::from_str::<Value>(changes) else { return vec![] };
    m.iter()
        .map(|(field, d)| json!({ "field": field, "before": show(&d["before"]), "after": show(&d["after"]) }))
        .collect()
}
