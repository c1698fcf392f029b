//! `/organisationen/{slug}`: what an organisation takes part in and reuses.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::{page, run};
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::newsletter::date_label;
use crate::store::{Db, read};

use super::*;

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
                    "name": o.name, "short_name": o.short_name, "kind": o.kind.label().to_owned(),
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
pub(super) fn involvement(conn: &mut Db, org: i32) -> AppResult<(Vec<Value>, Vec<Value>)> {
    let participations = read::participations_by_organisations(conn, &[org])?;
    let reuse = read::reuse_by_organisations(conn, &[org])?;
    let mut ids: Vec<ProjectId> = participations.iter().map(|p| p.project_id).collect();
    ids.extend(reuse.iter().map(|r| r.project_id));
    let projects: HashMap<ProjectId, ProjectRow> =
        read::projects_by_ids(conn, &ids)?.into_iter().map(|p| (p.id, p)).collect();
    let project = |id: ProjectId| {
        projects.get(&id).map(|p| json!({ "slug": p.slug, "title": p.title, "phase": p.phase.label().to_owned() }))
    };
    let parts = participations
        .iter()
        .filter(|p| p.status != ParticipationStatus::Withdrawn)
        .map(|p| {
            json!({
                "id": p.id, "version": p.version, "project": project(p.project_id),
                "role": p.role.label().to_owned(),
                "status": p.status.label().to_owned(),
                "since": date_label(p.since),
            })
        })
        .collect();
    let reuse = reuse
        .iter()
        .filter(|r| r.status != ReuseStatus::Withdrawn)
        .map(|r| {
            json!({
                "id": r.id, "version": r.version, "project": project(r.project_id),
                "status": r.status.label().to_owned(),
                "planned_live": date_label(r.planned_live),
            })
        })
        .collect();
    Ok((parts, reuse))
}
