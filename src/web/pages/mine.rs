//! `/meine-beteiligungen`: the signed-in organisation's participations and reuse, and a coordinator's open decisions.

use std::collections::HashMap;

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::super::{Viewer, notice, page, run};
use crate::auth::Role;
use crate::error::{AppError, AppResult};
use crate::http::AppState;
use crate::newsletter::day_label;
use crate::store::{Db, read};

use super::*;

/// What "Meine Beteiligungen" shows.
#[derive(Serialize)]
struct MinePage {
    title: &'static str,
    nav: &'static str,
    participations: Vec<Involvement>,
    reuse: Vec<ReuseInvolvement>,
    coordinator: bool,
    pending: Vec<PendingProject>,
    newsletters: Vec<NewsletterView>,
    notice: Option<&'static str>,
}

/// A newsletter a coordinator may publish an edition of.
#[derive(Serialize)]
struct NewsletterView {
    slug: String,
    title: String,
    topic: TopicRef,
    last: Option<EditionView>,
    /// A fresh idempotency key for the publish form.
    key: String,
}

#[derive(Serialize)]
struct EditionView {
    number: i32,
    published: String,
}

/// A project with sign-ups or reuse declarations waiting for a coordinator's decision.
#[derive(Serialize)]
struct PendingProject {
    slug: String,
    title: String,
    signups: Vec<PendingSignUp>,
    reuse: Vec<PendingReuse>,
}

#[derive(Serialize)]
struct PendingSignUp {
    id: i32,
    version: i32,
    organisation: OrgLink,
    role: &'static str,
    note: Option<String>,
}

#[derive(Serialize)]
struct PendingReuse {
    organisation: OrgLink,
    note: Option<String>,
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
            MinePage {
                title: "Meine Beteiligungen",
                nav: "mine",
                participations,
                reuse,
                coordinator,
                pending,
                newsletters,
                notice: hint,
            },
        ))
    })
    .await
}

/// The newsletters of the Themenfelder in a coordinator's scope, with their last edition and a
/// fresh key for the publish form (a form sent twice publishes once).
fn newsletters(conn: &mut Db, viewer: &Viewer) -> AppResult<Vec<NewsletterView>> {
    let actor = viewer.actor();
    let topics: HashMap<String, String> = read::topic_fields(conn)?.into_iter().map(|t| (t.slug, t.name)).collect();
    let mut out = Vec::new();
    for d in crate::store::newsletter::definitions(conn)? {
        if !actor.scope.topic_fields.contains(&d.topic_field_slug) {
            continue;
        }
        let last = crate::store::newsletter::last_edition(conn, d.id)?;
        out.push(NewsletterView {
            topic: TopicRef { name: topics.get(&d.topic_field_slug).cloned(), slug: d.topic_field_slug },
            slug: d.slug,
            title: d.title,
            last: last.map(|e| EditionView { number: e.number, published: day_label(&e.published_at) }),
            key: crate::auth::session::form_key()?,
        });
    }
    Ok(out)
}

/// Projects in a coordinator's scope with sign-ups or reuse declarations waiting for a decision.
fn pending(conn: &mut Db, viewer: &Viewer) -> AppResult<Vec<PendingProject>> {
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
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();
    let requested: Vec<ParticipationRow> = read::participations_by_projects(conn, &ids)?
        .into_iter()
        .filter(|p| p.status == ParticipationStatus::Requested)
        .collect();
    let interest: Vec<ReuseRow> =
        read::reuse_by_projects(conn, &ids)?.into_iter().filter(|r| r.status == ReuseStatus::Interest).collect();
    let mut org_ids: Vec<OrganisationId> = requested.iter().map(|p| p.organisation_id).collect();
    org_ids.extend(interest.iter().map(|r| r.organisation_id));
    let orgs = organisations(conn, org_ids)?;
    Ok(projects
        .iter()
        .filter_map(|p| {
            let signups: Vec<PendingSignUp> = requested
                .iter()
                .filter(|r| r.project_id == p.id)
                .map(|r| PendingSignUp {
                    id: r.id.get(),
                    version: r.version,
                    organisation: org_link(&orgs, r.organisation_id),
                    role: r.role.label(),
                    note: r.note.clone(),
                })
                .collect();
            let reuse: Vec<PendingReuse> = interest
                .iter()
                .filter(|r| r.project_id == p.id)
                .map(|r| PendingReuse { organisation: org_link(&orgs, r.organisation_id), note: r.note.clone() })
                .collect();
            (!signups.is_empty() || !reuse.is_empty()).then(|| PendingProject {
                slug: p.slug.clone(),
                title: p.title.clone(),
                signups,
                reuse,
            })
        })
        .collect())
}
