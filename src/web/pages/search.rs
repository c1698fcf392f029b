//! `/suche`: by name, OZG-ID, LeiKa key, AGS or ARS.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::super::{page, run};
use crate::error::AppError;
use crate::http::AppState;
use crate::store::read;

use super::*;

/// What `/suche` shows: what was searched for, taken as which kind of key, and what was found.
#[derive(Serialize)]
struct SearchPage {
    title: String,
    nav: &'static str,
    q: String,
    kind: &'static str,
    found: bool,
    projects: Vec<ProjectPhase>,
    services: Vec<ServiceHit>,
    leika: Vec<LeikaHit>,
    organisations: Vec<OrganisationHit>,
}

/// An OZG-Leistung found, with its Themenfeld.
#[derive(Serialize)]
struct ServiceHit {
    ozg_id: String,
    name: String,
    topic: TopicRef,
}

/// A LeiKa-Leistung found by its key.
#[derive(Serialize)]
struct LeikaHit {
    key: Option<String>,
    name: String,
}

/// An organisation found.
#[derive(Serialize)]
struct OrganisationHit {
    slug: String,
    name: String,
    kind: &'static str,
    ags: Option<String>,
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
        let services = services
            .into_iter()
            .map(|s| ServiceHit {
                topic: TopicRef { name: topics.get(&s.topic_field_slug).cloned(), slug: s.topic_field_slug },
                ozg_id: s.ozg_id,
                name: s.name,
            })
            .collect();
        Ok(page(
            "search.html",
            SearchPage {
                title: if text.is_empty() { "Suche".to_owned() } else { format!("Suche: {text}") },
                nav: "search",
                kind,
                found,
                projects: projects.iter().map(ProjectPhase::of).collect(),
                services,
                leika: leika.into_iter().map(|l| LeikaHit { key: l.leika_key, name: l.name }).collect(),
                organisations: orgs
                    .into_iter()
                    .map(|o| OrganisationHit { kind: o.kind.label(), slug: o.slug, name: o.name, ags: o.ags })
                    .collect(),
                q: text,
            },
        ))
    })
    .await
}
