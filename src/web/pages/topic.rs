//! `/themenfelder/{slug}`: a Themenfeld's projects (filtered, paged) and its OZG-Leistungen.

use std::collections::{HashMap, HashSet};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::super::{page, run};
use crate::domain::*;
use crate::error::AppError;
use crate::http::AppState;
use crate::store::read;

use super::*;

/// What a Themenfeld's page shows.
#[derive(Serialize)]
struct TopicPage {
    title: String,
    topic: TopicLink,
    projects: Vec<TopicProject>,
    services: Vec<TopicService>,
    filter: TopicFilter,
    total: i64,
    page: i64,
    pages: i64,
    /// The filter as a query string, for the paging links.
    query: String,
    filtered: bool,
    phases: Vec<CodeLabel>,
    lands: Vec<LandOption>,
}

#[derive(Serialize)]
struct TopicLink {
    slug: String,
    name: String,
}

/// A project of the Themenfeld, with whether it has open calls and seeks pilots.
#[derive(Serialize)]
struct TopicProject {
    slug: String,
    title: String,
    phase: &'static str,
    lead_land: Option<String>,
    open_call: bool,
    seeks_pilots: bool,
}

/// An OZG-Leistung of the Themenfeld with the projects implementing it.
#[derive(Serialize)]
struct TopicService {
    ozg_id: String,
    name: String,
    projects: Vec<ProjectLink>,
}

/// The filter as chosen (empty: not filtered by it).
#[derive(Serialize)]
struct TopicFilter {
    phase: Option<&'static str>,
    land: Option<String>,
    pilot: bool,
}

#[derive(Serialize)]
struct LandOption {
    code: String,
    name: String,
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
            phases: phase.map(|p| vec![p]),
            lead_land: land.clone(),
            open_call_seeking: seeks_pilots.then_some(ParticipationRole::Pilot),
            ..Default::default()
        };
        let total = read::projects_count(conn, &filter)?;
        let pages = ((total + TOPIC_PAGE - 1) / TOPIC_PAGE).max(1);
        let projects = read::projects_rows(conn, &filter, (page_no - 1) * TOPIC_PAGE, TOPIC_PAGE)?;
        let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
        let calls: Vec<CallRow> =
            read::calls_by_projects(conn, &ids)?.into_iter().filter(|c| c.status == CallStatus::Open).collect();
        let roles = read::call_roles_by_calls(conn, &calls.iter().map(|c| c.id).collect::<Vec<_>>())?;
        let pilot_calls: HashSet<CallId> =
            roles.iter().filter(|r| r.role == ParticipationRole::Pilot).map(|r| r.call_id).collect();
        let wanting: HashSet<ProjectId> =
            calls.iter().filter(|c| pilot_calls.contains(&c.id)).map(|c| c.project_id).collect();
        let with_calls: HashSet<ProjectId> = calls.iter().map(|c| c.project_id).collect();
        let project_rows: Vec<TopicProject> = projects
            .iter()
            .map(|p| TopicProject {
                slug: p.slug.clone(),
                title: p.title.clone(),
                phase: p.phase.label(),
                lead_land: p.lead_land_code.as_ref().and_then(|c| lands.get(c)).cloned(),
                open_call: with_calls.contains(&p.id),
                seeks_pilots: wanting.contains(&p.id),
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
        let all_projects: HashMap<ProjectId, ProjectRow> =
            read::projects_by_ids(conn, &links.iter().map(|l| l.project_id).collect::<Vec<_>>())?
                .into_iter()
                .map(|p| (p.id, p))
                .collect();
        let service_rows: Vec<TopicService> = services
            .into_iter()
            .map(|s| {
                let projects = links
                    .iter()
                    .filter(|l| l.ozg_id == s.ozg_id)
                    .filter_map(|l| all_projects.get(&l.project_id))
                    .map(ProjectLink::of)
                    .collect();
                TopicService { ozg_id: s.ozg_id, name: s.name, projects }
            })
            .collect();
        let mut land_options: Vec<(&String, &String)> = lands.iter().collect();
        land_options.sort_by(|a, b| a.1.cmp(b.1));
        let query = serde_urlencoded::to_string([
            ("phase", phase.map(|p| p.code()).unwrap_or_default()),
            ("land", land.as_deref().unwrap_or_default()),
            ("pilot", if seeks_pilots { "1" } else { "" }),
        ])
        .unwrap_or_default();
        Ok(page(
            "topic.html",
            TopicPage {
                title: topic.name.clone(),
                topic: TopicLink { slug: topic.slug.clone(), name: topic.name.clone() },
                projects: project_rows,
                services: service_rows,
                filtered: phase.is_some() || land.is_some() || seeks_pilots,
                filter: TopicFilter { phase: phase.map(|p| p.code()), land, pilot: seeks_pilots },
                total,
                page: page_no,
                pages,
                query,
                phases: Phase::ALL.iter().map(|p| code_label(*p)).collect(),
                lands: land_options
                    .iter()
                    .map(|(c, n)| LandOption { code: (*c).clone(), name: (*n).clone() })
                    .collect(),
            },
        ))
    })
    .await
}
