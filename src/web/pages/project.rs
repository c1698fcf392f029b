//! `/projekte/{slug}`: everything about a project, with the actions the viewer may take.

use std::collections::{BTreeMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::{notice, page, run};
use crate::auth::Role;
use crate::auth::policy::{self, Op};
use crate::domain::*;
use crate::http::AppState;
use crate::newsletter::{self, date_label, day_label};
use crate::store::{changes, read};

use super::*;

/// The active (not withdrawn) participations of an organisation in a project.
pub(super) fn own_participations(rows: &[ParticipationRow], org: Option<i32>) -> Vec<&ParticipationRow> {
    rows.iter().filter(|r| Some(r.organisation_id) == org && r.status != ParticipationStatus::Withdrawn).collect()
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
        for pa in participations.iter().filter(|x| x.status != ParticipationStatus::Withdrawn) {
            let role = pa.role;
            let pos = ParticipationRole::ALL.iter().position(|r| *r == role).unwrap_or(99);
            groups.entry(pos).or_insert_with(|| (role, vec![])).1.push(json!({
                "id": pa.id,
                "version": pa.version,
                "organisation": org_json(&orgs, pa.organisation_id),
                "status": pa.status,
                "status_label": pa.status.label().to_owned(),
                "requested": pa.status == ParticipationStatus::Requested,
                "note": pa.note,
                "since": date_label(pa.since),
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
                    .filter(|r| r.status == *s)
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
                            "planned_live": date_label(r.planned_live),
                            "actual_live": date_label(r.actual_live),
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
                let own_reuse = reuse.iter().find(|r| r.organisation_id == o.id && r.status != ReuseStatus::Withdrawn);
                let taken: HashSet<ParticipationRole> = own.iter().map(|x| x.role).collect();
                json!({
                    "name": o.name,
                    "participations": own.iter().map(|x| json!({
                        "id": x.id, "version": x.version,
                        "role": x.role.label().to_owned(),
                        "status": x.status.label().to_owned(),
                    })).collect::<Vec<_>>(),
                    "pilot": taken.contains(&ParticipationRole::Pilot),
                    "roles": ParticipationRole::SELF_SERVICE.iter()
                        .filter(|r| !taken.contains(*r))
                        .map(|r| code_label(*r)).collect::<Vec<_>>(),
                    "reuse": own_reuse.map(|r| json!({
                        "id": r.id, "version": r.version, "status": r.status.label().to_owned(),
                    })),
                })
            }),
            _ => None,
        };
        let active = p.origin.is_none() && !p.phase.is_side_state();
        Ok(page(
            "project.html",
            json!({
                "title": p.title,
                "project": {
                    "slug": p.slug,
                    "title": p.title,
                    "summary": p.summary,
                    "phase": p.phase,
                    "phase_label": p.phase.label().to_owned(),
                    "lead_land": p.lead_land_code.as_ref().and_then(|c| lands.get(c)),
                    "delivery_model": p.delivery_model.label().to_owned(),
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
pub(super) fn phase_timeline(p: &ProjectRow) -> Vec<Value> {
    let current = Some(p.phase);
    let reference = match current {
        Some(ph) if ph.is_side_state() => p.phase_before_hold,
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
