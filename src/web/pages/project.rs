//! `/projekte/{slug}`: everything about a project, with the actions the viewer may take.

use std::collections::{BTreeMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::super::{notice, page, run};
use crate::auth::Role;
use crate::auth::policy::{self, Op};
use crate::domain::*;
use crate::http::AppState;
use crate::newsletter::{self, Section, date_label, day_label};
use crate::store::{changes, read};

use super::*;

/// What a project's page shows.
#[derive(Serialize)]
struct ProjectPage {
    title: String,
    project: ProjectView,
    /// The project as the newsletter describes it (services, steps, milestones, relations, …).
    section: Option<Section>,
    phases: Vec<PhaseStep>,
    roles: Vec<RoleGroup>,
    reuse: Vec<ReuseGroup>,
    calls: Vec<OpenCall>,
    changes: Vec<RecentChange>,
    can_manage: bool,
    kommune: Option<KommuneView>,
    notice: Option<&'static str>,
}

#[derive(Serialize)]
struct ProjectView {
    slug: String,
    title: String,
    summary: Option<String>,
    phase: &'static str,
    phase_label: &'static str,
    lead_land: Option<String>,
    delivery_model: &'static str,
    status_note: Option<String>,
    updated: String,
    replicated: bool,
    /// Home here and not on hold or stopped: sign-ups are open.
    active: bool,
}

/// A regular phase on the timeline: `done`, `current`, `stopped` (on hold here) or `later`.
#[derive(Serialize)]
pub(super) struct PhaseStep {
    label: &'static str,
    state: &'static str,
}

/// The participating organisations of one role.
#[derive(Serialize)]
struct RoleGroup {
    label: &'static str,
    members: Vec<Member>,
}

#[derive(Serialize)]
struct Member {
    id: i32,
    version: i32,
    organisation: OrgLink,
    status: &'static str,
    status_label: &'static str,
    requested: bool,
    note: Option<String>,
    since: Option<String>,
}

/// The reuse declarations in one status.
#[derive(Serialize)]
struct ReuseGroup {
    label: &'static str,
    items: Vec<ReuseItem>,
}

#[derive(Serialize)]
struct ReuseItem {
    id: i32,
    version: i32,
    organisation: OrgLink,
    note: Option<String>,
    planned_live: Option<String>,
    actual_live: Option<String>,
    /// The statuses a coordinator may move it to.
    next: Vec<CodeLabel>,
}

#[derive(Serialize)]
struct RecentChange {
    at: String,
    summary: String,
}

/// What a signed-in Kommune may do here for its own organisation.
#[derive(Serialize)]
struct KommuneView {
    name: String,
    participations: Vec<OwnParticipation>,
    pilot: bool,
    /// The self-service roles it has not taken yet.
    roles: Vec<CodeLabel>,
    reuse: Option<OwnReuse>,
}

#[derive(Serialize)]
struct OwnParticipation {
    id: i32,
    version: i32,
    role: &'static str,
    status: &'static str,
}

#[derive(Serialize)]
struct OwnReuse {
    id: i32,
    version: i32,
    status: &'static str,
}

/// The active (not withdrawn) participations of an organisation in a project.
pub(super) fn own_participations(rows: &[ParticipationRow], org: Option<OrganisationId>) -> Vec<&ParticipationRow> {
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
        let mut org_ids: Vec<OrganisationId> = participations.iter().map(|x| x.organisation_id).collect();
        org_ids.extend(reuse.iter().map(|r| r.organisation_id));
        let orgs = organisations(conn, org_ids)?;
        // Replicated projects are changed at their home registry only.
        let can_manage = viewer.session.is_some()
            && p.origin.is_none()
            && policy::require(conn, &viewer.actor(), Op::ManageProject(&p)).is_ok();

        // Participations by role, in the vocabulary's order; withdrawn ones are history.
        let mut groups: BTreeMap<usize, (ParticipationRole, Vec<Member>)> = BTreeMap::new();
        for pa in participations.iter().filter(|x| x.status != ParticipationStatus::Withdrawn) {
            let role = pa.role;
            let pos = ParticipationRole::ALL.iter().position(|r| *r == role).unwrap_or(99);
            groups.entry(pos).or_insert_with(|| (role, vec![])).1.push(Member {
                id: pa.id.get(),
                version: pa.version,
                organisation: org_link(&orgs, pa.organisation_id),
                status: pa.status.code(),
                status_label: pa.status.label(),
                requested: pa.status == ParticipationStatus::Requested,
                note: pa.note.clone(),
                since: date_label(pa.since),
            });
        }
        let roles: Vec<RoleGroup> =
            groups.into_values().map(|(r, members)| RoleGroup { label: r.label(), members }).collect();

        // Reuse declarations by status (withdrawn ones are history).
        let reuse_groups: Vec<ReuseGroup> = ReuseStatus::ALL
            .iter()
            .filter(|s| **s != ReuseStatus::Withdrawn)
            .filter_map(|s| {
                let items: Vec<ReuseItem> = reuse
                    .iter()
                    .filter(|r| r.status == *s)
                    .map(|r| {
                        let next: Vec<CodeLabel> = s
                            .allowed_next()
                            .iter()
                            .filter(|n| **n != ReuseStatus::Withdrawn)
                            .map(|n| code_label(*n))
                            .collect();
                        ReuseItem {
                            id: r.id.get(),
                            version: r.version,
                            organisation: org_link(&orgs, r.organisation_id),
                            note: r.note.clone(),
                            planned_live: date_label(r.planned_live),
                            actual_live: date_label(r.actual_live),
                            next,
                        }
                    })
                    .collect();
                (!items.is_empty()).then(|| ReuseGroup { label: s.label(), items })
            })
            .collect();

        let calls = open_calls(conn, calls)?;
        let recent: Vec<RecentChange> = changes::recent_public(conn, p.id, 10)?
            .into_iter()
            .map(|c| RecentChange { at: day_label(&c.at), summary: c.summary })
            .collect();

        // What a signed-in Kommune may do here for its own organisation.
        let kommune = match (&viewer.session, viewer.role()) {
            (Some(s), Role::Municipality) => s.organisation.as_ref().map(|o| {
                let own = own_participations(&participations, Some(o.id));
                let own_reuse = reuse.iter().find(|r| r.organisation_id == o.id && r.status != ReuseStatus::Withdrawn);
                let taken: HashSet<ParticipationRole> = own.iter().map(|x| x.role).collect();
                KommuneView {
                    name: o.name.clone(),
                    participations: own
                        .iter()
                        .map(|x| OwnParticipation {
                            id: x.id.get(),
                            version: x.version,
                            role: x.role.label(),
                            status: x.status.label(),
                        })
                        .collect(),
                    pilot: taken.contains(&ParticipationRole::Pilot),
                    roles: ParticipationRole::SELF_SERVICE
                        .iter()
                        .filter(|r| !taken.contains(*r))
                        .map(|r| code_label(*r))
                        .collect(),
                    reuse: own_reuse.map(|r| OwnReuse { id: r.id.get(), version: r.version, status: r.status.label() }),
                }
            }),
            _ => None,
        };
        let active = p.origin.is_none() && !p.phase.is_side_state();
        Ok(page(
            "project.html",
            ProjectPage {
                title: p.title.clone(),
                phases: phase_timeline(&p),
                project: ProjectView {
                    phase: p.phase.code(),
                    phase_label: p.phase.label(),
                    lead_land: p.lead_land_code.as_ref().and_then(|c| lands.get(c)).cloned(),
                    delivery_model: p.delivery_model.label(),
                    updated: day_label(&p.updated_at),
                    replicated: p.origin.is_some(),
                    active,
                    slug: p.slug,
                    title: p.title,
                    summary: p.summary,
                    status_note: p.status_note,
                },
                section,
                roles,
                reuse: reuse_groups,
                calls,
                changes: recent,
                can_manage,
                kommune,
                notice: hint,
            },
        ))
    })
    .await
}

/// The regular phases in order, each marked done, current or to come.
pub(super) fn phase_timeline(p: &ProjectRow) -> Vec<PhaseStep> {
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
            PhaseStep { label: ph.label(), state }
        })
        .collect()
}
