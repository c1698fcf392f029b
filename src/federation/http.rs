//! The federation over HTTP: `/.well-known/ozg-registry` (who this instance is) and the signed
//! change feed `/federation/feed`.

use actix_web::http::StatusCode;
use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use serde_json::json;

use crate::http::{AppState, blocking, fail, json_error, public_url};

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/.well-known/ozg-registry", web::get().to(instance))
        .route("/federation/feed", web::get().to(federation_feed));
}

/// `GET /.well-known/ozg-registry`: who this instance is, its feed and its public key.
async fn instance(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let cfg = state.federation.clone();
    let result = blocking(&state, move |conn| crate::federation::identity(conn, &cfg)).await;
    match result {
        Ok(me) => {
            let url = public_url(&req, &state);
            HttpResponse::Ok().json(json!({
                "id": me.instance_id,
                "name": state.federation.instance_name.clone().unwrap_or_else(|| me.instance_id.clone()),
                "publicKey": me.key.jwk(),
                "feed": format!("{url}/federation/feed"),
                "software": "ozg-registry",
                "version": env!("CARGO_PKG_VERSION"),
            }))
        }
        Err(e) => json_error(&req, e),
    }
}

#[derive(serde::Deserialize)]
struct FeedQuery {
    after: Option<String>,
    limit: Option<String>,
}

/// `GET /federation/feed?after=<cursor>&limit=<n>`: this instance's own public records in change
/// order, each entry signed; `ETag`/`If-None-Match` answer 304 when nothing changed.
async fn federation_feed(req: HttpRequest, q: web::Query<FeedQuery>, state: web::Data<AppState>) -> HttpResponse {
    use crate::federation::feed;
    let bad = |m: &str| fail(&req, StatusCode::BAD_REQUEST, "BAD_USER_INPUT", m);
    let after = match q.after.as_deref().map(str::parse::<i64>) {
        None => 0,
        Some(Ok(n)) if n >= 0 => n,
        _ => return bad("after: a cursor from a previous page (a whole number from 0)"),
    };
    let limit = match q.limit.as_deref().map(str::parse::<i64>) {
        None => feed::DEFAULT_LIMIT,
        Some(Ok(n)) if (1..=feed::MAX_LIMIT).contains(&n) => n,
        _ => return bad(&format!("limit: a whole number from 1 to {}", feed::MAX_LIMIT)),
    };
    let if_none_match = req.headers().get(header::IF_NONE_MATCH).and_then(|v| v.to_str().ok()).map(str::to_owned);
    let cfg = state.federation.clone();
    let result = blocking(&state, move |conn| -> crate::error::AppResult<Result<(String, feed::Page), String>> {
        let tag = feed::etag(conn, after, limit)?;
        if if_none_match.as_deref() == Some(tag.as_str()) {
            return Ok(Err(tag));
        }
        let me = crate::federation::identity(conn, &cfg)?;
        Ok(Ok((tag, feed::page(conn, &me, after, limit)?)))
    })
    .await;
    match result {
        Ok(Ok((tag, page))) => HttpResponse::Ok().insert_header((header::ETAG, tag)).json(page),
        Ok(Err(tag)) => HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish(),
        Err(e) => json_error(&req, e),
    }
}
