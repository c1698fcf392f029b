//! The pages people read: start, Themenfeld, project, organisation, search, sign-in, "Meine
//! Beteiligungen" and the coordinator's edit page. Each loads what it shows with a fixed number of
//! queries (one per kind of row), never one per row.

use std::collections::{BTreeMap, HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Reply, Viewer, notice, page, run};
use crate::auth::Role;
use crate::auth::policy::{self, Op};
use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::newsletter::{self, date_label, day_label, label_of};
use crate::store::rows::*;
use crate::store::{Db, changes, read};

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
    let calls: Vec<CallRow> = calls.into_iter().filter(|c| c.status == "OPEN").collect();
    let projects: HashMap<i32, ProjectRow> =
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
                .filter_map(|r| ParticipationRole::parse(&r.role).ok())
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
                "opened": date_label(&Some(c.opened_on.clone())),
                "closes": date_label(&c.closes_on),
                "invites_reuse": c.invites_reuse,
                "roles": sought,
            })
        })
        .collect())
}

/// How many open calls the start page shows.
const START_CALLS: usize = 24;

/// `GET /`: the Themenfelder and the open calls for participation.
pub async fn start(req: HttpRequest, state: web::Data<AppState>, q: web::Query<Notice>) -> HttpResponse {
    let hint = notice(q.hinweis.as_deref());
    run(&req, &state, move |conn, _| {
        let topics: Vec<Value> =
            read::topic_fields(conn)?.into_iter().map(|t| json!({ "slug": t.slug, "name": t.name })).collect();
        // The most recently opened calls; the Themenfeld pages filter for the rest.
        let mut open = read::calls_filtered(conn, Some("OPEN"), None)?;
        let total = open.len();
        open.sort_by(|a, b| b.opened_on.cmp(&a.opened_on).then(b.id.cmp(&a.id)));
        open.truncate(START_CALLS);
        let calls = open_calls(conn, open)?;
        Ok(page(
            "start.html",
            json!({ "title": "Start", "nav": "start", "topics": topics, "calls": calls,
                    "more_calls": total.saturating_sub(START_CALLS), "notice": hint }),
        ))
    })
    .await
}

#[derive(Deserialize)]
pub struct TopicQuery {
    phase: Option<String>,
    land: Option<String>,
    pilot: Option<String>,
    seite: Option<String>,
}

/// Projects per page of a Themenfeld.
const TOPIC_PAGE: i64 = 100;

/// `GET /themenfelder/{slug}?phase=&land=&pilot=1`: a Themenfeld's projects (filtered) and its
/// OZG-Leistungen with the projects that implement them.
pub async fn topic(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<TopicQuery>,
) -> HttpResponse {
    let slug = path.into_inner();
    let q = q.into_inner();
    run(&req, &state, move |conn, _| {
        let topics = read::topic_fields(conn)?;
        let topic = topics
            .iter()
            .find(|t| t.slug == slug)
            .ok_or_else(|| AppError::not_found("slug", format!("slug: no Themenfeld {slug:?}")))?;
        let lands = lands(conn)?;
        let phase = match q.phase.as_deref().filter(|p| !p.is_empty()) {
            Some(p) => Some(Phase::parse(p).map_err(|e| AppError::invalid_code("phase", e))?),
            None => None,
        };
        let land = match q.land.as_deref().filter(|l| !l.is_empty()) {
            Some(l) if lands.contains_key(l) => Some(l.to_owned()),
            Some(l) => return Err(AppError::bad_input("land", format!("land: {l:?} is not a Land code like DE-NW"))),
            None => None,
        };
        let seeks_pilots = q.pilot.as_deref().is_some_and(|v| !v.is_empty());
        let page_no: i64 = match q.seite.as_deref().filter(|s| !s.is_empty()) {
            None => 1,
            Some(s) => s
                .parse()
                .ok()
                .filter(|n| (1..=100_000).contains(n))
                .ok_or_else(|| AppError::bad_input("seite", format!("seite: {s:?} is not a page number from 1")))?,
        };
        let filter = read::ProjectFilter {
            topic_field: Some(topic.slug.clone()),
            phases: phase.map(|p| vec![p.code().to_owned()]),
            lead_land: land.clone(),
            open_call_seeking: seeks_pilots.then(|| "PILOT".to_owned()),
            ..Default::default()
        };
        let total = read::projects_count(conn, &filter)?;
        let pages = ((total + TOPIC_PAGE - 1) / TOPIC_PAGE).max(1);
        let projects = read::projects_rows(conn, &filter, (page_no - 1) * TOPIC_PAGE, TOPIC_PAGE)?;
        let ids: Vec<i32> = projects.iter().map(|p| p.id).collect();
        let calls: Vec<CallRow> =
            read::calls_by_projects(conn, &ids)?.into_iter().filter(|c| c.status == "OPEN").collect();
        let roles = read::call_roles_by_calls(conn, &calls.iter().map(|c| c.id).collect::<Vec<_>>())?;
        let pilot_calls: HashSet<i32> = roles.iter().filter(|r| r.role == "PILOT").map(|r| r.call_id).collect();
        let wanting: HashSet<i32> =
            calls.iter().filter(|c| pilot_calls.contains(&c.id)).map(|c| c.project_id).collect();
        let with_calls: HashSet<i32> = calls.iter().map(|c| c.project_id).collect();
        let project_rows: Vec<Value> = projects
            .iter()
            .map(|p| {
                json!({
                    "slug": p.slug,
                    "title": p.title,
                    "phase": label_of::<Phase>(&p.phase),
                    "lead_land": p.lead_land_code.as_ref().and_then(|c| lands.get(c)),
                    "open_call": with_calls.contains(&p.id),
                    "seeks_pilots": wanting.contains(&p.id),
                })
            })
            .collect();

        let services = read::ozg_services_rows(
            conn,
            &read::ServiceFilter { topic_field: Some(topic.slug.clone()), ..Default::default() },
            0,
            2000,
        )?;
        let links =
            read::project_services_by_services(conn, &services.iter().map(|s| s.ozg_id.clone()).collect::<Vec<_>>())?;
        let all_projects: HashMap<i32, ProjectRow> =
            read::projects_by_ids(conn, &links.iter().map(|l| l.project_id).collect::<Vec<_>>())?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
        let service_rows: Vec<Value> = services
            .iter()
            .map(|s| {
                let implemented: Vec<Value> = links
                    .iter()
                    .filter(|l| l.ozg_id == s.ozg_id)
                    .filter_map(|l| all_projects.get(&l.project_id))
                    .map(|p| json!({ "slug": p.slug, "title": p.title }))
                    .collect();
                json!({ "ozg_id": s.ozg_id, "name": s.name, "projects": implemented })
            })
            .collect();
        let mut land_options: Vec<(&String, &String)> = lands.iter().collect();
        land_options.sort_by(|a, b| a.1.cmp(b.1));
        Ok(page(
            "topic.html",
            json!({
                "title": topic.name,
                "topic": { "slug": topic.slug, "name": topic.name },
                "projects": project_rows,
                "services": service_rows,
                "filter": { "phase": phase.map(|p| p.code()), "land": land, "pilot": seeks_pilots },
                "total": total,
                "page": page_no,
                "pages": pages,
                "query": serde_urlencoded::to_string([
                    ("phase", phase.map(|p| p.code()).unwrap_or_default()),
                    ("land", land.as_deref().unwrap_or_default()),
                    ("pilot", if seeks_pilots { "1" } else { "" }),
                ])
                .unwrap_or_default(),
                "filtered": phase.is_some() || land.is_some() || seeks_pilots,
                "phases": Phase::ALL.iter().map(|p| code_label(*p)).collect::<Vec<_>>(),
                "lands": land_options.iter().map(|(c, n)| json!({ "code": c, "name": n })).collect::<Vec<_>>(),
            }),
        ))
    })
    .await
}

/// The active (not withdrawn) participations of an organisation in a project.
fn own_participations(rows: &[ParticipationRow], org: Option<i32>) -> Vec<&ParticipationRow> {
    rows.iter().filter(|r| Some(r.organisation_id) == org && r.status != "WITHDRAWN").collect()
}

/// `GET /projekte/{slug}`: everything about a project, with the actions the viewer may take.
pub async fn project(
    req: HttpRequest,
    state: web::Data<AppState>,
    path: web::Path<String>,
    q: web::Query<Notice>,
) -> HttpResponse {
    let slug = path.into_inner();
    let hint = notice(q.hinweis.as_deref());
    run(&req, &state, move |conn, viewer| {
        let p = crate::service::find_project(conn, &slug, "slug")?;
        let topics = read::topic_fields(conn)?;
        let lands = lands(conn)?;
        let built = newsletter::sections(conn, std::slice::from_ref(&p), &topics, &lands)?;
        let section = built.sections.into_iter().next();
        let participations = read::participations_by_projects(conn, &[p.id])?;
        let reuse = read::reuse_by_projects(conn, &[p.id])?;
        let calls = read::calls_by_projects(conn, &[p.id])?;
        let mut org_ids: Vec<i32> = participations.iter().map(|x| x.organisation_id).collect();
        org_ids.extend(reuse.iter().map(|r| r.organisation_id));
        let orgs = organisations(conn, org_ids)?;
        // Replicated projects are changed at their home registry only.
        let can_manage = viewer.session.is_some()
            && p.origin.is_none()
            && policy::require(conn, &viewer.actor(), Op::ManageProject(&p)).is_ok();

        // Participations by role, in the vocabulary's order; withdrawn ones are history.
        let mut groups: BTreeMap<usize, (ParticipationRole, Vec<Value>)> = BTreeMap::new();
        for pa in participations.iter().filter(|x| x.status != "WITHDRAWN") {
            let Ok(role) = ParticipationRole::parse(&pa.role) else { continue };
            let pos = ParticipationRole::ALL.iter().position(|r| *r == role).unwrap_or(99);
            groups.entry(pos).or_insert_with(|| (role, vec![])).1.push(json!({
                "id": pa.id,
                "version": pa.version,
                "organisation": org_json(&orgs, pa.organisation_id),
                "status": pa.status,
                "status_label": label_of::<ParticipationStatus>(&pa.status),
                "requested": pa.status == "REQUESTED",
                "note": pa.note,
                "since": date_label(&pa.since),
            }));
        }
        let roles: Vec<Value> =
            groups.into_values().map(|(r, m)| json!({ "label": r.label(), "members": m })).collect();

        // Reuse declarations by status (withdrawn ones are history).
        let reuse_groups: Vec<Value> = ReuseStatus::ALL
            .iter()
            .filter(|s| **s != ReuseStatus::Withdrawn)
            .filter_map(|s| {
                let items: Vec<Value> = reuse
                    .iter()
                    .filter(|r| r.status == s.code())
                    .map(|r| {
                        let next: Vec<Value> = s
                            .allowed_next()
                            .iter()
                            .filter(|n| **n != ReuseStatus::Withdrawn)
                            .map(|n| code_label(*n))
                            .collect();
                        json!({
                            "id": r.id,
                            "version": r.version,
                            "organisation": org_json(&orgs, r.organisation_id),
                            "note": r.note,
                            "planned_live": date_label(&r.planned_live),
                            "actual_live": date_label(&r.actual_live),
                            "next": next,
                        })
                    })
                    .collect();
                (!items.is_empty()).then(|| json!({ "label": s.label(), "items": items }))
            })
            .collect();

        let calls = open_calls(conn, calls)?;
        let recent: Vec<Value> = changes::recent_public(conn, p.id, 10)?
            .into_iter()
            .map(|c| json!({ "at": day_label(&c.at), "summary": c.summary }))
            .collect();

        // What a signed-in Kommune may do here for its own organisation.
        let kommune = match (&viewer.session, viewer.role()) {
            (Some(s), Role::Municipality) => s.organisation.as_ref().map(|o| {
                let own = own_participations(&participations, Some(o.id));
                let own_reuse = reuse.iter().find(|r| r.organisation_id == o.id && r.status != "WITHDRAWN");
                let taken: HashSet<&str> = own.iter().map(|x| x.role.as_str()).collect();
                json!({
                    "name": o.name,
                    "participations": own.iter().map(|x| json!({
                        "id": x.id, "version": x.version,
                        "role": label_of::<ParticipationRole>(&x.role),
                        "status": label_of::<ParticipationStatus>(&x.status),
                    })).collect::<Vec<_>>(),
                    "pilot": taken.contains("PILOT"),
                    "roles": ParticipationRole::SELF_SERVICE.iter()
                        .filter(|r| !taken.contains(r.code()))
                        .map(|r| code_label(*r)).collect::<Vec<_>>(),
                    "reuse": own_reuse.map(|r| json!({
                        "id": r.id, "version": r.version, "status": label_of::<ReuseStatus>(&r.status),
                    })),
                })
            }),
            _ => None,
        };
        let active = p.origin.is_none() && !Phase::parse(&p.phase).is_ok_and(|ph| ph.is_side_state());
        Ok(page(
            "project.html",
            json!({
                "title": p.title,
                "project": {
                    "slug": p.slug,
                    "title": p.title,
                    "summary": p.summary,
                    "phase": p.phase,
                    "phase_label": label_of::<Phase>(&p.phase),
                    "lead_land": p.lead_land_code.as_ref().and_then(|c| lands.get(c)),
                    "delivery_model": label_of::<DeliveryModel>(&p.delivery_model),
                    "status_note": p.status_note,
                    "updated": day_label(&p.updated_at),
                    "replicated": p.origin.is_some(),
                    "active": active,
                },
                "section": section,
                "phases": phase_timeline(&p),
                "roles": roles,
                "reuse": reuse_groups,
                "calls": calls,
                "changes": recent,
                "can_manage": can_manage,
                "kommune": kommune,
                "notice": hint,
            }),
        ))
    })
    .await
}

/// The regular phases in order, each marked done, current or to come.
fn phase_timeline(p: &ProjectRow) -> Vec<Value> {
    let current = Phase::parse(&p.phase).ok();
    let reference = match current {
        Some(ph) if ph.is_side_state() => p.phase_before_hold.as_deref().and_then(|c| Phase::parse(c).ok()),
        other => other,
    };
    let at = reference.and_then(|r| Phase::ALL.iter().position(|x| *x == r));
    Phase::ALL
        .iter()
        .filter(|ph| !ph.is_side_state())
        .enumerate()
        .map(|(i, ph)| {
            let state = match at {
                Some(a) if i < a => "done",
                Some(a) if i == a && current == Some(*ph) => "current",
                Some(a) if i == a => "stopped",
                _ => "later",
            };
            json!({ "label": ph.label(), "state": state })
        })
        .collect()
}

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
    let phase = Phase::parse(&p.phase).map_err(|e| AppError::Internal(e.to_string()))?;
    let resume = p.phase_before_hold.as_deref().and_then(|c| Phase::parse(c).ok());
    let next = phase.allowed_next(resume);
    let milestones: Vec<Value> = read::milestones_by_projects(conn, &[p.id])?
        .into_iter()
        .map(|m| {
            json!({
                "id": m.id, "version": m.version, "title": m.title,
                "phase": m.phase.as_deref().map(label_of::<Phase>),
                "planned": date_label(&m.planned), "actual": date_label(&m.actual),
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
fn changed_fields(changes: &str) -> Vec<Value> {
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

/// `GET /organisationen/{slug}`: what an organisation takes part in and reuses.
pub async fn organisation(req: HttpRequest, state: web::Data<AppState>, path: web::Path<String>) -> HttpResponse {
    let slug = path.into_inner();
    run(&req, &state, move |conn, _| {
        let o = read::organisation_by_slug(conn, &slug)?
            .ok_or_else(|| AppError::not_found("slug", format!("slug: no organisation {slug:?}")))?;
        let lands = lands(conn)?;
        let parent = match o.parent_id {
            Some(id) => read::organisation_by_id(conn, id)?,
            None => None,
        };
        let offices = read::organisations_by_parents(conn, &[o.id])?;
        let (participations, reuse) = involvement(conn, o.id)?;
        Ok(page(
            "organisation.html",
            json!({
                "title": o.name,
                "organisation": {
                    "name": o.name, "short_name": o.short_name, "kind": label_of::<OrganisationKind>(&o.kind),
                    "land": o.land_code.as_ref().and_then(|c| lands.get(c)), "ags": o.ags, "ars": o.ars,
                    "note": o.note,
                },
                "parent": parent.map(|p| json!({ "name": p.name, "slug": p.slug })),
                "offices": offices.iter().map(|x| json!({ "name": x.name, "slug": x.slug })).collect::<Vec<_>>(),
                "participations": participations,
                "reuse": reuse,
            }),
        ))
    })
    .await
}

/// An organisation's participations (not withdrawn) and reuse declarations, with their projects.
fn involvement(conn: &mut Db, org: i32) -> AppResult<(Vec<Value>, Vec<Value>)> {
    let participations = read::participations_by_organisations(conn, &[org])?;
    let reuse = read::reuse_by_organisations(conn, &[org])?;
    let mut ids: Vec<i32> = participations.iter().map(|p| p.project_id).collect();
    ids.extend(reuse.iter().map(|r| r.project_id));
    let projects: HashMap<i32, ProjectRow> =
        read::projects_by_ids(conn, &ids)?.into_iter().map(|p| (p.id, p)).collect();
    let project = |id: i32| {
        projects.get(&id).map(|p| json!({ "slug": p.slug, "title": p.title, "phase": label_of::<Phase>(&p.phase) }))
    };
    let parts = participations
        .iter()
        .filter(|p| p.status != "WITHDRAWN")
        .map(|p| {
            json!({
                "id": p.id, "version": p.version, "project": project(p.project_id),
                "role": label_of::<ParticipationRole>(&p.role),
                "status": label_of::<ParticipationStatus>(&p.status),
                "since": date_label(&p.since),
            })
        })
        .collect();
    let reuse = reuse
        .iter()
        .filter(|r| r.status != "WITHDRAWN")
        .map(|r| {
            json!({
                "id": r.id, "version": r.version, "project": project(r.project_id),
                "status": label_of::<ReuseStatus>(&r.status),
                "planned_live": date_label(&r.planned_live),
            })
        })
        .collect();
    Ok((parts, reuse))
}

/// `GET /meine-beteiligungen`: the signed-in organisation's participations and reuse; for
/// coordinators also the sign-ups and reuse declarations waiting for a decision in their scope.
pub async fn mine(req: HttpRequest, state: web::Data<AppState>, q: web::Query<Notice>) -> HttpResponse {
    let hint = notice(q.hinweis.as_deref());
    run(&req, &state, move |conn, viewer| {
        let Some(session) = &viewer.session else {
            return Err(AppError::user(crate::error::ErrorCode::Unauthenticated, None, "please sign in first"));
        };
        let (participations, reuse) = match session.actor.organisation_id {
            Some(o) => involvement(conn, o)?,
            None => (vec![], vec![]),
        };
        let coordinator = session.actor.role == Role::Coordinator;
        let pending = if coordinator { pending(conn, viewer)? } else { vec![] };
        let newsletters = if coordinator { newsletters(conn, viewer)? } else { vec![] };
        Ok(page(
            "mine.html",
            json!({
                "title": "Meine Beteiligungen",
                "nav": "mine",
                "participations": participations,
                "reuse": reuse,
                "coordinator": session.actor.role == Role::Coordinator,
                "pending": pending,
                "newsletters": newsletters,
                "notice": hint,
            }),
        ))
    })
    .await
}

/// The newsletters of the Themenfelder in a coordinator's scope, with their last edition and a
/// fresh key for the publish form (a form sent twice publishes once).
fn newsletters(conn: &mut Db, viewer: &Viewer) -> AppResult<Vec<Value>> {
    let actor = viewer.actor();
    let topics: HashMap<String, String> = read::topic_fields(conn)?.into_iter().map(|t| (t.slug, t.name)).collect();
    let mut out = Vec::new();
    for d in crate::store::newsletter::definitions(conn)? {
        if !actor.scope.topic_fields.contains(&d.topic_field_slug) {
            continue;
        }
        let last = crate::store::newsletter::last_edition(conn, d.id)?;
        out.push(json!({
            "slug": d.slug,
            "title": d.title,
            "topic": { "slug": d.topic_field_slug, "name": topics.get(&d.topic_field_slug) },
            "last": last.map(|e| json!({ "number": e.number, "published": day_label(&e.published_at) })),
            "key": crate::auth::session::form_key()?,
        }));
    }
    Ok(out)
}

/// Projects in a coordinator's scope with sign-ups or reuse declarations waiting for a decision.
fn pending(conn: &mut Db, viewer: &Viewer) -> AppResult<Vec<Value>> {
    let actor = viewer.actor();
    let mut projects: Vec<ProjectRow> = Vec::new();
    let mut filters: Vec<read::ProjectFilter> = Vec::new();
    for t in &actor.scope.topic_fields {
        filters.push(read::ProjectFilter { topic_field: Some(t.clone()), ..Default::default() });
    }
    for l in &actor.scope.lands {
        filters.push(read::ProjectFilter { lead_land: Some(l.clone()), ..Default::default() });
    }
    for f in &filters {
        projects.extend(read::projects_rows(conn, f, 0, 1000)?);
    }
    for s in &actor.scope.projects {
        projects.extend(read::project_by_slug(conn, s)?);
    }
    projects.sort_by(|a, b| a.title.cmp(&b.title).then(a.id.cmp(&b.id)));
    projects.dedup_by_key(|p| p.id);
    let ids: Vec<i32> = projects.iter().map(|p| p.id).collect();
    let requested: Vec<ParticipationRow> =
        read::participations_by_projects(conn, &ids)?.into_iter().filter(|p| p.status == "REQUESTED").collect();
    let interest: Vec<ReuseRow> =
        read::reuse_by_projects(conn, &ids)?.into_iter().filter(|r| r.status == "INTEREST").collect();
    let mut org_ids: Vec<i32> = requested.iter().map(|p| p.organisation_id).collect();
    org_ids.extend(interest.iter().map(|r| r.organisation_id));
    let orgs = organisations(conn, org_ids)?;
    Ok(projects
        .iter()
        .filter_map(|p| {
            let signups: Vec<Value> = requested
                .iter()
                .filter(|r| r.project_id == p.id)
                .map(|r| {
                    json!({ "id": r.id, "version": r.version, "organisation": org_json(&orgs, r.organisation_id),
                            "role": label_of::<ParticipationRole>(&r.role), "note": r.note })
                })
                .collect();
            let reuse: Vec<Value> = interest
                .iter()
                .filter(|r| r.project_id == p.id)
                .map(|r| json!({ "organisation": org_json(&orgs, r.organisation_id), "note": r.note }))
                .collect();
            (!signups.is_empty() || !reuse.is_empty())
                .then(|| json!({ "slug": p.slug, "title": p.title, "signups": signups, "reuse": reuse }))
        })
        .collect())
}

#[derive(Deserialize)]
pub struct SearchQuery {
    q: Option<String>,
}

/// `GET /suche?q=`: by name, OZG-ID (5 digits), LeiKa key (14 digits), AGS (8) or ARS (12).
pub async fn search(req: HttpRequest, state: web::Data<AppState>, q: web::Query<SearchQuery>) -> HttpResponse {
    let text = q.into_inner().q.unwrap_or_default().trim().to_owned();
    run(&req, &state, move |conn, _| {
        if text.chars().count() > 200 {
            return Err(AppError::bad_input("q", "q: at most 200 characters"));
        }
        let mut services: Vec<OzgServiceRow> = Vec::new();
        let mut projects: Vec<ProjectRow> = Vec::new();
        let mut orgs: Vec<OrganisationRow> = Vec::new();
        let mut leika: Vec<LeikaServiceRow> = Vec::new();
        let digits = !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit());
        let kind = match (digits, text.len()) {
            (true, 5) => "OZG-ID",
            (true, 8) => "AGS",
            (true, 12) => "ARS",
            (true, 14) => "LeiKa-Schlüssel",
            _ => "Name",
        };
        if text.is_empty() {
        } else if kind == "OZG-ID" {
            services = read::ozg_services_by_ids(conn, std::slice::from_ref(&text))?;
            let f = read::ProjectFilter { ozg_id: Some(text.clone()), ..Default::default() };
            projects = read::projects_rows(conn, &f, 0, 100)?;
        } else if kind == "LeiKa-Schlüssel" {
            leika.extend(read::leika_by_key(conn, &text)?);
            let ids: Vec<String> = leika.iter().filter_map(|l| l.ozg_id.clone()).collect();
            services = read::ozg_services_by_ids(conn, &ids)?;
        } else if kind == "AGS" {
            orgs.extend(read::organisation_by_ags(conn, &text)?);
        } else if kind == "ARS" {
            orgs.extend(read::organisation_by_ars(conn, &text)?);
        } else {
            let needle = text.to_lowercase();
            let f = read::ProjectFilter { title_contains: Some(needle.clone()), ..Default::default() };
            projects = read::projects_rows(conn, &f, 0, 50)?;
            let f = read::OrganisationFilter { name_contains: Some(needle.clone()), ..Default::default() };
            orgs = read::organisations_rows(conn, &f, 0, 50)?;
            let f = read::ServiceFilter { name_contains: Some(needle), ..Default::default() };
            services = read::ozg_services_rows(conn, &f, 0, 50)?;
        }
        let topics: HashMap<String, String> = read::topic_fields(conn)?.into_iter().map(|t| (t.slug, t.name)).collect();
        let found = !(services.is_empty() && projects.is_empty() && orgs.is_empty());
        Ok(page(
            "search.html",
            json!({
                "title": if text.is_empty() { "Suche".to_owned() } else { format!("Suche: {text}") },
                "nav": "search",
                "q": text,
                "kind": kind,
                "found": found,
                "projects": projects.iter().map(|p| json!({
                    "slug": p.slug, "title": p.title, "phase": label_of::<Phase>(&p.phase),
                })).collect::<Vec<_>>(),
                "services": services.iter().map(|s| json!({
                    "ozg_id": s.ozg_id, "name": s.name,
                    "topic": { "slug": s.topic_field_slug, "name": topics.get(&s.topic_field_slug) },
                })).collect::<Vec<_>>(),
                "leika": leika.iter().map(|l| json!({ "key": l.leika_key, "name": l.name })).collect::<Vec<_>>(),
                "organisations": orgs.iter().map(|o| json!({
                    "slug": o.slug, "name": o.name, "kind": label_of::<OrganisationKind>(&o.kind), "ags": o.ags,
                })).collect::<Vec<_>>(),
            }),
        ))
    })
    .await
}

/// `GET /anmelden`: how to sign in.
pub async fn sign_in(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    run(&req, &state, move |conn, _| {
        let issuers: Vec<Value> = super::oidc::web_issuers(conn)?
            .into_iter()
            .map(|i| json!({ "id": i.id, "name": i.display_name.unwrap_or(i.issuer) }))
            .collect();
        Ok(page("sign_in.html", json!({ "title": "Anmelden", "nav": "sign_in", "issuers": issuers })))
    })
    .await
}

#[derive(Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

/// `GET /anmelden/link?code=…`: says whom the link signs in and asks to confirm. The link is used
/// only by the confirming POST, so a mail scanner that fetches links does not use it up.
pub async fn sign_in_link(req: HttpRequest, state: web::Data<AppState>, q: web::Query<CodeQuery>) -> HttpResponse {
    let code = q.into_inner().code.unwrap_or_default();
    run(&req, &state, move |conn, _| {
        let grant = crate::auth::session::peek_link(conn, &code)?
            .ok_or_else(|| AppError::not_found("code", "code: this sign-in link is unknown, used or expired"))?;
        let org = match grant.organisation_id {
            Some(id) => read::organisation_by_id(conn, id)?,
            None => None,
        };
        Ok(page(
            "sign_in_link.html",
            json!({
                "title": "Anmelden",
                "code": code,
                "organisation": org.map(|o| o.name),
                "role": super::role_label(grant.role),
            }),
        ))
    })
    .await
}
