//! `/`: the Themenfelder and the open calls for participation.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Serialize;

use super::super::{notice, page, run};
use crate::http::AppState;
use crate::store::read;

use super::*;

/// What the start page shows.
#[derive(Serialize)]
struct StartPage {
    title: &'static str,
    nav: &'static str,
    topics: Vec<TopicLink>,
    calls: Vec<OpenCall>,
    /// Open calls beyond the ones shown.
    more_calls: usize,
    notice: Option<&'static str>,
}

/// A link to a Themenfeld's page.
#[derive(Serialize)]
struct TopicLink {
    slug: String,
    name: String,
}

/// `GET /`: the Themenfelder and the open calls for participation.
pub async fn start(req: HttpRequest, state: web::Data<AppState>, q: web::Query<Notice>) -> HttpResponse {
    let hint = notice(q.hinweis.as_deref());
    run(&req, &state, move |conn, _| {
        let topics = read::topic_fields(conn)?.into_iter().map(|t| TopicLink { slug: t.slug, name: t.name }).collect();
        // The most recently opened calls; the Themenfeld pages filter for the rest.
        let mut open = read::calls_filtered(conn, Some(CallStatus::Open), None)?;
        let total = open.len();
        open.sort_by(|a, b| b.opened_on.start().cmp(&a.opened_on.start()).then(b.id.cmp(&a.id)));
        open.truncate(START_CALLS);
        let calls = open_calls(conn, open)?;
        Ok(page(
            "start.html",
            StartPage {
                title: "Start",
                nav: "start",
                topics,
                calls,
                more_calls: total.saturating_sub(START_CALLS),
                notice: hint,
            },
        ))
    })
    .await
}
