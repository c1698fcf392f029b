//! `/`: the Themenfelder and the open calls for participation.

use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::{Value, json};

use super::super::{notice, page, run};
use crate::http::AppState;
use crate::store::read;

use super::*;

/// `GET /`: the Themenfelder and the open calls for participation.
pub async fn start(req: HttpRequest, state: web::Data<AppState>, q: web::Query<Notice>) -> HttpResponse {
    let hint = notice(q.hinweis.as_deref());
    run(&req, &state, move |conn, _| {
        let topics: Vec<Value> =
            read::topic_fields(conn)?.into_iter().map(|t| json!({ "slug": t.slug, "name": t.name })).collect();
        // The most recently opened calls; the Themenfeld pages filter for the rest.
        let mut open = read::calls_filtered(conn, Some(CallStatus::Open), None)?;
        let total = open.len();
        open.sort_by(|a, b| b.opened_on.start().cmp(&a.opened_on.start()).then(b.id.cmp(&a.id)));
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
