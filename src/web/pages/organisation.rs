//! `/organisationen/{slug}`: what an organisation takes part in and reuses.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::super::{page, run};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::newsletter::date_label;
use crate::store::{Db, read};

use super::*;

/// What an organisation's page shows.
#[derive(Serialize)]
struct OrganisationPage {
    title: String,
    organisation: OrganisationView,
    parent: Option<OrgLink>,
    offices: Vec<OrgLink>,
    participations: Vec<Involvement>,
    reuse: Vec<ReuseInvolvement>,
}

#[derive(Serialize)]
struct OrganisationView {
    name: String,
    short_name: Option<String>,
    kind: &'static str,
    land: Option<String>,
    ags: Option<String>,
    ars: Option<String>,
    note: Option<String>,
}

/// A participation of an organisation in a project (organisation page, "Meine Beteiligungen").
#[derive(Serialize)]
pub(super) struct Involvement {
    id: i32,
    version: i32,
    project: Option<ProjectPhase>,
    role: &'static str,
    status: &'static str,
    since: Option<String>,
}

/// A reuse declaration of an organisation for a project.
#[derive(Serialize)]
pub(super) struct ReuseInvolvement {
    id: i32,
    version: i32,
    project: Option<ProjectPhase>,
    status: &'static str,
    planned_live: Option<String>,
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
            OrganisationPage {
                title: o.name.clone(),
                organisation: OrganisationView {
                    kind: o.kind.label(),
                    land: o.land_code.as_ref().and_then(|c| lands.get(c)).cloned(),
                    name: o.name,
                    short_name: o.short_name,
                    ags: o.ags,
                    ars: o.ars,
                    note: o.note,
                },
                parent: parent.as_ref().map(OrgLink::of),
                offices: offices.iter().map(OrgLink::of).collect(),
                participations,
                reuse,
            },
        ))
    })
    .await
}

/// An organisation's participations (not withdrawn) and reuse declarations, with their projects.
pub(super) fn involvement(conn: &mut Db, org: OrganisationId) -> AppResult<(Vec<Involvement>, Vec<ReuseInvolvement>)> {
    let participations = read::participations_by_organisations(conn, &[org])?;
    let reuse = read::reuse_by_organisations(conn, &[org])?;
    let mut ids: Vec<ProjectId> = participations.iter().map(|p| p.project_id).collect();
    ids.extend(reuse.iter().map(|r| r.project_id));
    let projects: HashMap<ProjectId, ProjectRow> =
        read::projects_by_ids(conn, &ids)?.into_iter().map(|p| (p.id, p)).collect();
    let project = |id: ProjectId| projects.get(&id).map(ProjectPhase::of);
    let parts = participations
        .iter()
        .filter(|p| p.status != ParticipationStatus::Withdrawn)
        .map(|p| Involvement {
            id: p.id.get(),
            version: p.version,
            project: project(p.project_id),
            role: p.role.label(),
            status: p.status.label(),
            since: date_label(p.since),
        })
        .collect();
    let reuse = reuse
        .iter()
        .filter(|r| r.status != ReuseStatus::Withdrawn)
        .map(|r| ReuseInvolvement {
            id: r.id.get(),
            version: r.version,
            project: project(r.project_id),
            status: r.status.label(),
            planned_live: date_label(r.planned_live),
        })
        .collect();
    Ok((parts, reuse))
}
