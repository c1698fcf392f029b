//! `POST /graphql` and `GET /graphql`: our own handler (not juniper_actix's). A request goes
//! through [`envelope`] (content type, media type, body, request object), then the pipeline of
//! [`execute`]: [`limits`] → [`authenticate`] → [`run::dispatch`] → [`respond`].
//!
//! - [`answer`]: the answer built from juniper's typed result and serialised once;
//! - [`idempotency`]: the Idempotency-Key, claimed and finished in the mutation's transaction;
//! - [`run`]: execution on one pooled connection, inline or on the blocking pool under the
//!   request timeout, with the objects budget and cancellation.

mod answer;
mod envelope;
mod idempotency;
mod run;

use std::collections::HashMap;

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use juniper::http::GraphQLRequest;
use serde_json::{Value, json};

use self::envelope::{Media, RawRequest};
use self::run::{Job, Outcome};
use super::{AppState, fail, request_id, unauthorized, unavailable, with_header};
use crate::auth::Credentials;
use crate::error::log_internal;
use crate::graphql::context::Abort;
use crate::graphql::limits as graphql_limits;

/// An answer given instead of going on (boxed: an `HttpResponse` is large).
type Refused = Box<HttpResponse>;

pub(super) async fn post(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    if let Some(resp) = envelope::unsupported_content(&req) {
        return resp;
    }
    let Some(media) = envelope::negotiate(&req) else { return envelope::not_acceptable(&req) };
    let body = match envelope::read_body(&req, payload).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    match envelope::parse_request(&req, &body) {
        Ok((request, raw)) => execute(&req, state, media, request, raw).await,
        Err(resp) => *resp,
    }
}

/// `GET /graphql?query=…&variables=…&operationName=…`: queries only; a mutation is 405.
pub(super) async fn get(
    req: HttpRequest,
    params: web::Query<HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(media) = envelope::negotiate(&req) else { return envelope::not_acceptable(&req) };
    let params = params.into_inner();
    let bad = |m: &str| fail(&req, StatusCode::BAD_REQUEST, "BAD_REQUEST", m);
    let Some(query) = params.get("query") else { return bad("the query parameter \"query\" is missing") };
    let json_param = |name: &str| match params.get(name).map(|v| serde_json::from_str::<Value>(v)) {
        None => Ok(Value::Null),
        Some(Ok(v @ (Value::Object(_) | Value::Null))) => Ok(v),
        Some(_) => Err(Box::new(bad(&format!("\"{name}\" must be a JSON object")))),
    };
    let variables = match json_param("variables") {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let extensions = match json_param("extensions") {
        Ok(v) => v,
        Err(resp) => return *resp,
    };
    let operation = params.get("operationName").cloned();
    if graphql_limits::is_mutation(query, operation.as_deref()) {
        return with_header(
            fail(&req, StatusCode::METHOD_NOT_ALLOWED, "BAD_REQUEST", "mutations are sent with POST"),
            header::ALLOW,
            "POST",
        );
    }
    let body = json!({ "query": query, "variables": variables, "operationName": operation, "extensions": extensions })
        .to_string();
    match envelope::parse_request(&req, body.as_bytes()) {
        Ok((request, raw)) => execute(&req, state, media, request, raw).await,
        Err(resp) => *resp,
    }
}

/// The pipeline shared by POST and GET: limits, authentication, execution, the HTTP answer.
async fn execute(
    req: &HttpRequest,
    state: web::Data<AppState>,
    media: Media,
    request: GraphQLRequest,
    raw: RawRequest,
) -> HttpResponse {
    let request_id = request_id(req);
    let measured = match limits(req, &state, media, &raw, &request_id) {
        Ok(m) => m,
        Err(resp) => return *resp,
    };
    let credentials = match authenticate(req, &state).await {
        Ok(c) => c,
        Err(resp) => return resp,
    };
    let state = state.into_inner();
    let job = Job {
        request,
        credentials,
        cost: measured.cost,
        is_mutation: measured.is_mutation,
        root_fields: measured.root_fields,
        idempotency: measured.idempotency,
        request_id,
    };
    let outcome = run::dispatch(state.clone(), job).await;
    respond(req, &state, media, outcome)
}

/// What the limits found out about the operation before anything runs.
struct Measured {
    /// The estimated cost; `None` when the document does not parse (juniper reports its syntax
    /// error) or names no operation it has.
    cost: Option<u64>,
    is_mutation: bool,
    root_fields: Vec<String>,
    /// A mutation's Idempotency-Key and the hash of its request.
    idempotency: Option<(String, String)>,
}

/// Tokens, fields, depth, aliases, lists, pages, introspection and estimated cost, before anything
/// runs (the document is parsed once here); then the Idempotency-Key, which only a mutation uses.
fn limits(
    req: &HttpRequest,
    state: &AppState,
    media: Media,
    raw: &RawRequest,
    request_id: &str,
) -> Result<Measured, Refused> {
    let measured = graphql_limits::measure(
        &state.schema,
        &state.config.limits,
        &raw.query,
        raw.operation_name.as_deref(),
        &raw.variables,
    )
    .map_err(|limit| {
        state.metrics.error(limit.code);
        let body = answer::limit_body(limit.code, limit.limit, limit.max, &limit.message, request_id);
        Box::new(graphql_answer(media, media.request_error_status(), body.to_string()))
    })?;
    let (cost, is_mutation, root_fields) = match measured {
        Some(m) => (Some(m.cost), m.mutation, m.root_fields),
        None => (None, false, Vec::new()),
    };
    let idempotency = match idempotency::key(req)? {
        Some(key) if is_mutation => Some((key, idempotency::request_hash(raw))),
        _ => None,
    };
    Ok(Measured { cost, is_mutation, root_fields, idempotency })
}

/// The caller's credentials from `Authorization` (a token is resolved on the connection the
/// operation runs on); 401 for one that is not acceptable.
async fn authenticate(req: &HttpRequest, state: &AppState) -> Result<Credentials, HttpResponse> {
    let header = req.headers().get(header::AUTHORIZATION).map(|h| h.to_str().unwrap_or("\u{0}"));
    state.auth.authenticate(header).await.map_err(|e| unauthorized(req, &e))
}

/// A GraphQL answer in the negotiated media type.
fn graphql_answer(media: Media, status: StatusCode, body: String) -> HttpResponse {
    HttpResponse::build(status).content_type(media.content_type()).body(body)
}

/// The HTTP answer to what running the request came to.
fn respond(req: &HttpRequest, state: &AppState, media: Media, outcome: Outcome) -> HttpResponse {
    let rid = || request_id(req);
    let retry_later =
        |status, code, message: &str| with_header(fail(req, status, code, message), header::RETRY_AFTER, "1");
    match outcome {
        Outcome::Unauthorized(e) => unauthorized(req, &e),
        Outcome::Done { body, executed, queries, codes } => {
            for code in &codes {
                state.metrics.error(code);
            }
            // A request error (no execution: syntax, validation, coercion) is 400 under
            // graphql-response+json; under application/json every GraphQL result is 200.
            let status = if executed { StatusCode::OK } else { media.request_error_status() };
            let mut resp = HttpResponse::build(status);
            if state.config.query_count_header {
                resp.insert_header(("x-db-queries", queries.to_string()));
            }
            resp.content_type(media.content_type()).body(body)
        }
        Outcome::Replay(body) => HttpResponse::Ok()
            .content_type(media.content_type())
            .insert_header(("idempotent-replayed", "true"))
            .body(body),
        Outcome::KeyMismatch => fail(
            req,
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_REQUEST",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        ),
        Outcome::KeyRunning => retry_later(
            StatusCode::CONFLICT,
            "CONFLICT",
            "the first request with this Idempotency-Key is still running; retry shortly",
        ),
        Outcome::Aborted(Abort::Objects(max)) => {
            state.metrics.error("LIMIT_EXCEEDED");
            let message = format!(
                "the query resolved more than {max} objects and was stopped; ask for smaller pages or fewer nested lists"
            );
            let body = answer::limit_body("LIMIT_EXCEEDED", "objects", max, &message, &rid());
            graphql_answer(media, media.request_error_status(), body.to_string())
        }
        Outcome::TooLarge(max) => {
            state.metrics.error("LIMIT_EXCEEDED");
            let message = format!("the answer would exceed {max} bytes; ask for smaller pages or fewer fields");
            let body = answer::limit_body("LIMIT_EXCEEDED", "responseBytes", max, &message, &rid());
            graphql_answer(media, media.request_error_status(), body.to_string())
        }
        Outcome::TimedOut { mutation } => retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            "TIMEOUT",
            if mutation {
                "the request did not finish in time; it may still complete: retry with the same Idempotency-Key to learn its outcome"
            } else {
                "the request did not finish in time; ask for less or retry later"
            },
        ),
        // Given up while it ran: only when the client went away or the timeout fired (answered
        // above), so nobody reads this.
        Outcome::Aborted(Abort::Cancelled) => {
            retry_later(StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", "the request did not finish in time")
        }
        Outcome::Unavailable(detail) => unavailable(req, &detail),
        Outcome::Panicked(e) => {
            let incident = log_internal(&format!("GraphQL execution panicked: {e}"));
            fail(
                req,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                &format!("internal error; the incident is logged as {incident}"),
            )
        }
    }
}
