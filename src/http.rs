//! The HTTP surface: `POST /graphql` (our own handler, not juniper_actix's), `GET /graphiql`,
//! `GET /healthz` (alive), `GET /readyz` (database reachable). GraphQL runs synchronously on one pooled connection inside `web::block`.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::http::header;
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::RunQueryDsl;
use diesel::connection::{Connection, InstrumentationEvent};
use juniper::http::GraphQLRequest;
use serde_json::{Value, json};

use crate::auth::{AuthError, Authenticator, Credentials};
use crate::error::log_internal;
use crate::graphql::{Ctx, Schema};
use crate::service::Actor;
use crate::store::DbPool;
use crate::store::idempotency as idem;

/// Largest request body accepted on /graphql.
pub const MAX_BODY: usize = 256 * 1024;

#[derive(Clone)]
pub struct AppState {
    pub pool: DbPool,
    pub auth: Arc<Authenticator>,
    pub schema: Arc<Schema>,
    /// Report the number of database queries of each GraphQL request in `x-db-queries`
    /// (for tests and benchmarks that guard against a query per row).
    pub query_count_header: bool,
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql))
            .route(web::get().to(graphql_get))
            .route(web::route().to(method_not_allowed)),
    )
    .route("/graphiql", web::get().to(graphiql))
    .route("/.well-known/jwks.json", web::get().to(jwks))
    .route("/newsletter/confirm", web::get().to(confirm_subscription))
    .route("/newsletter/unsubscribe", web::get().to(unsubscribe))
    .route("/newsletter/{topic}", web::get().to(newsletter_page))
    .route("/feeds/{feed}", web::get().to(atom_feed))
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz));
}

fn error_body(code: &str, message: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code } }] })
}

async fn method_not_allowed() -> HttpResponse {
    HttpResponse::MethodNotAllowed().insert_header((header::ALLOW, "POST")).json(error_body(
        "BAD_REQUEST",
        "use POST with a JSON body {\"query\": …, \"variables\": …}, or GET for queries",
    ))
}

fn bad_request(message: &str) -> HttpResponse {
    HttpResponse::BadRequest().json(error_body("BAD_REQUEST", message))
}

/// The parts of a request the limits look at.
struct RawRequest {
    query: String,
    operation_name: Option<String>,
    variables: serde_json::Map<String, Value>,
}

/// Checks the body is one GraphQL request object and turns it into juniper's request.
fn parse_request(body: &[u8]) -> Result<(GraphQLRequest, RawRequest), Box<HttpResponse>> {
    let bad = |m: &str| Box::new(bad_request(m));
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&format!("the body is not valid JSON: {e}")))?;
    let Value::Object(obj) = &v else {
        return Err(bad(if v.is_array() {
            "batched requests are not supported: send one request object per POST"
        } else {
            "the body must be a JSON object with a \"query\" string"
        }));
    };
    match obj.get("query") {
        Some(Value::String(_)) => {}
        _ => {
            return Err(bad("\"query\" must be a string holding a GraphQL document"));
        }
    }
    if !matches!(obj.get("operationName"), None | Some(Value::Null) | Some(Value::String(_))) {
        return Err(bad("\"operationName\" must be a string or null"));
    }
    if !matches!(obj.get("variables"), None | Some(Value::Null) | Some(Value::Object(_))) {
        return Err(bad("\"variables\" must be a JSON object or null"));
    }
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "query" | "operationName" | "variables" | "extensions"))
    {
        return Err(bad(&format!(
            "unknown request member {k:?}; allowed: query, operationName, variables, extensions"
        )));
    }
    if contains_nul(&v) {
        return Err(bad("text must not contain NUL characters (\\u0000)"));
    }
    let raw = RawRequest {
        query: obj.get("query").and_then(Value::as_str).unwrap_or_default().to_owned(),
        operation_name: obj.get("operationName").and_then(Value::as_str).map(str::to_owned),
        variables: obj.get("variables").and_then(Value::as_object).cloned().unwrap_or_default(),
    };
    let request = serde_json::from_value(v).map_err(|e| bad(&format!("malformed request: {e}")))?;
    Ok((request, raw))
}

/// Whether any string (or key) in the request holds a NUL character, which no database stores.
fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(contains_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

/// Gives every error a stable `extensions.code`: errors before execution (syntax, validation,
/// variable coercion) are the client's (BAD_USER_INPUT).
fn add_codes(resp: &mut Value) {
    let executed = resp.get("data").is_some_and(|d| !d.is_null());
    if let Some(Value::Array(errors)) = resp.get_mut("errors") {
        for e in errors {
            let Value::Object(e) = e else { continue };
            if let Some(Value::String(m)) = e.get_mut("message")
                && let Some(better) = crate::graphql::explain_scalar_error(m)
            {
                *m = better;
            }
            let ext = e.entry("extensions").or_insert_with(|| json!({}));
            if let Value::Object(ext) = ext {
                ext.entry("code").or_insert_with(|| json!(if executed { "INTERNAL" } else { "BAD_USER_INPUT" }));
            }
        }
    }
}

/// Reads the body up to `MAX_BODY`; beyond it answers 413 in the GraphQL error shape.
async fn read_body(mut payload: web::Payload) -> Result<web::BytesMut, HttpResponse> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk.map_err(|_| bad_request("the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(HttpResponse::PayloadTooLarge()
                .json(error_body("BAD_REQUEST", &format!("the request body exceeds {MAX_BODY} bytes"))));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

async fn graphql(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let json_content = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|ct| ct == "application/json" || ct == "application/graphql-response+json");
    if !json_content {
        return HttpResponse::UnsupportedMediaType()
            .json(error_body("BAD_REQUEST", "send the request as Content-Type: application/json"));
    }
    let body = match read_body(payload).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (request, raw) = match parse_request(&body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    execute(&req, state, request, raw).await
}

/// `GET /graphql?query=…&variables=…&operationName=…`: queries only; a mutation is 405.
async fn graphql_get(
    req: HttpRequest,
    params: web::Query<std::collections::HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let params = params.into_inner();
    let Some(query) = params.get("query") else { return bad_request("the query parameter \"query\" is missing") };
    let variables = match params.get("variables").map(|v| serde_json::from_str::<Value>(v)) {
        None => Value::Null,
        Some(Ok(v)) => v,
        Some(Err(_)) => return bad_request("\"variables\" must be a JSON object"),
    };
    let operation = params.get("operationName").cloned();
    if crate::graphql::limits::is_mutation(query, operation.as_deref()) {
        return HttpResponse::MethodNotAllowed()
            .insert_header((header::ALLOW, "POST"))
            .json(error_body("BAD_REQUEST", "mutations are sent with POST"));
    }
    let body = json!({ "query": query, "variables": variables, "operationName": operation }).to_string();
    let (request, raw) = match parse_request(body.as_bytes()) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    execute(&req, state, request, raw).await
}

/// Limits, authentication and execution, shared by POST and GET.
async fn execute(
    req: &HttpRequest,
    state: web::Data<AppState>,
    request: GraphQLRequest,
    raw: RawRequest,
) -> HttpResponse {
    // Depth, aliases and estimated cost, before anything runs.
    let measured =
        crate::graphql::limits::measure(&state.schema, &raw.query, raw.operation_name.as_deref(), &raw.variables);
    let cost = match measured {
        Ok(m) => m.map(|m| m.cost),
        Err(limit) => {
            return HttpResponse::Ok().json(json!({
                "errors": [{ "message": limit, "extensions": { "code": "BAD_USER_INPUT", "limits": {
                    "depth": crate::graphql::limits::MAX_DEPTH,
                    "aliases": crate::graphql::limits::MAX_ALIASES,
                    "cost": crate::graphql::limits::MAX_COST } } }]
            }));
        }
    };
    // An Idempotency-Key makes a mutation safe to retry.
    let idempotency = match idempotency_key(req) {
        Ok(Some(key)) if crate::graphql::limits::is_mutation(&raw.query, raw.operation_name.as_deref()) => {
            Some((key, request_hash(&raw)))
        }
        Ok(_) => None,
        Err(resp) => return *resp,
    };
    let header = req.headers().get(header::AUTHORIZATION).map(|h| h.to_str().unwrap_or("\u{0}"));
    let credentials = match state.auth.authenticate(header).await {
        Ok(c) => c,
        Err(e) => return unauthorized(&e),
    };
    let state = state.into_inner();
    let count_header = state.query_count_header;
    let result = web::block(move || -> Result<Outcome, String> {
        let mut conn = state.pool.get().map_err(|e| format!("connection pool: {e}"))?;
        let actor = match credentials {
            Credentials::Anonymous => Actor::anonymous(),
            Credentials::Token(t) => match t.resolve(&mut conn) {
                Ok(a) => a,
                Err(e) => return Ok(Outcome::Unauthorized(e)),
            },
        };
        if let Some((key, hash)) = &idempotency {
            let now = chrono::Utc::now();
            let ts = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
            let claim = idem::claim(
                &mut conn,
                &actor.subject,
                key,
                hash,
                &ts(now),
                &ts(now - chrono::Duration::hours(24)),
                &ts(now - chrono::Duration::seconds(60)),
            )
            .map_err(|e| format!("idempotency key: {e}"))?;
            match claim {
                idem::Claim::Fresh => {}
                idem::Claim::Replay(r) => return Ok(Outcome::Replay(r)),
                idem::Claim::Mismatch => return Ok(Outcome::KeyMismatch),
                idem::Claim::Running => return Ok(Outcome::KeyRunning),
            }
        }
        let subject = actor.subject.clone();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = queries.clone();
        conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
            if matches!(e, InstrumentationEvent::StartQuery { .. }) {
                counter.fetch_add(1, Ordering::Relaxed);
            }
        });
        let ctx = Ctx::new(conn, actor);
        let response = request.execute_sync(&state.schema, &ctx);
        let n = queries.load(Ordering::Relaxed);
        log::debug!("GraphQL request ran {n} database queries");
        let mut v = serde_json::to_value(&response).map_err(|e| format!("serialising the response: {e}"))?;
        add_codes(&mut v);
        if let (Some(c), Value::Object(o)) = (cost, &mut v) {
            o.insert("extensions".into(), json!({ "cost": c }));
        }
        if let Some((key, _)) = &idempotency {
            ctx.with_conn(|c| idem::finish(c, &subject, key, &v.to_string()))
                .map_err(|e| format!("idempotency key: {e}"))?;
        }
        Ok(Outcome::Done(v, n))
    })
    .await;
    match result {
        Ok(Ok(Outcome::Unauthorized(e))) => unauthorized(&e),
        Ok(Ok(Outcome::Done(v, n))) => {
            let mut resp = HttpResponse::Ok();
            if count_header {
                resp.insert_header(("x-db-queries", n.to_string()));
            }
            resp.json(v)
        }
        Ok(Ok(Outcome::Replay(body))) => HttpResponse::Ok()
            .content_type("application/json")
            .insert_header(("idempotent-replayed", "true"))
            .body(body),
        Ok(Ok(Outcome::KeyMismatch)) => HttpResponse::UnprocessableEntity().json(error_body(
            "BAD_REQUEST",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        )),
        Ok(Ok(Outcome::KeyRunning)) => HttpResponse::Conflict().insert_header((header::RETRY_AFTER, "1")).json(
            error_body("CONFLICT", "the first request with this Idempotency-Key is still running; retry shortly"),
        ),
        Ok(Err(detail)) => unavailable(&detail),
        Err(e) => {
            let incident = log_internal(&format!("GraphQL execution panicked: {e}"));
            HttpResponse::InternalServerError()
                .json(error_body("INTERNAL", &format!("internal error; the incident is logged as {incident}")))
        }
    }
}

/// What running a request came to.
enum Outcome {
    Unauthorized(AuthError),
    Done(Value, usize),
    Replay(String),
    KeyMismatch,
    KeyRunning,
}

/// The `Idempotency-Key` header: 1 to 200 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, Box<HttpResponse>> {
    let Some(v) = req.headers().get("idempotency-key") else { return Ok(None) };
    match v.to_str() {
        Ok(k) if (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_owned())),
        _ => Err(Box::new(bad_request("Idempotency-Key: 1 to 200 visible ASCII characters"))),
    }
}

/// Identifies a request for its key: the query, the operation and the variables.
fn request_hash(raw: &RawRequest) -> String {
    use sha2::{Digest, Sha256};
    let canonical = json!([raw.query, raw.operation_name, raw.variables]).to_string();
    Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// 401 for a token that is present but not acceptable (RFC 6750): never a silent anonymous request.
fn unauthorized(e: &AuthError) -> HttpResponse {
    let description: String = e.0.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
    HttpResponse::Unauthorized()
        .insert_header((
            header::WWW_AUTHENTICATE,
            format!("Bearer error=\"invalid_token\", error_description=\"{description}\""),
        ))
        .json(error_body("UNAUTHENTICATED", &e.0))
}

#[derive(serde::Deserialize)]
struct NewsletterQuery {
    since: Option<String>,
}

fn plain_error(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(message.to_owned())
}

/// `GET /newsletter/<topic-field>` (HTML) and `/newsletter/<topic-field>.md` (Markdown);
/// `?since=<RFC 3339>` adds "what changed since".
async fn newsletter_page(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<NewsletterQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    use crate::newsletter::{self, Format, RenderContext};
    let topic = path.into_inner();
    let (topic, format) = match topic.strip_suffix(".md") {
        Some(t) => (t.to_owned(), Format::Markdown),
        None => match topic.strip_suffix(".txt") {
            Some(t) => (t.to_owned(), Format::Text),
            None => (topic, Format::Html),
        },
    };
    let since = match query.since.as_deref().map(crate::domain::Timestamp::parse).transpose() {
        Ok(s) => s,
        Err(e) => return plain_error(actix_web::http::StatusCode::BAD_REQUEST, &format!("since: {e}")),
    };
    let base_url = base_url(&req);
    let pool = state.pool.clone();
    let result = web::block(move || {
        let mut conn = pool.get().map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
        let issue = newsletter::build(&mut conn, &topic, since.as_ref())?;
        newsletter::render(&issue, format, &RenderContext { base_url, unsubscribe_url: None })
    })
    .await;
    let content_type = match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Text => "text/plain; charset=utf-8",
    };
    match result {
        Ok(Ok(body)) => HttpResponse::Ok().content_type(content_type).body(body),
        Ok(Err(crate::error::AppError::User { message, .. })) => {
            plain_error(actix_web::http::StatusCode::NOT_FOUND, &message)
        }
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(e) => unavailable(&e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// A small German page answering a subscriber's click.
fn subscriber_page(status: actix_web::http::StatusCode, message: &str) -> HttpResponse {
    let escaped: String = message
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Newsletter</title></head><body><p>{escaped}</p></body></html>"
    ))
}

async fn subscription_link(
    state: web::Data<AppState>,
    token: Option<String>,
    act: fn(&mut crate::store::Db, &Actor, &str) -> crate::error::AppResult<crate::store::rows::SubscriberRow>,
    done: &'static str,
) -> HttpResponse {
    use actix_web::http::StatusCode;
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 100) else {
        return subscriber_page(StatusCode::BAD_REQUEST, "Der Link ist unvollständig.");
    };
    let pool = state.pool.clone();
    let result = web::block(move || {
        let mut conn = pool.get().map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
        act(&mut conn, &Actor::anonymous(), &token)
    })
    .await;
    match result {
        Ok(Ok(_)) => subscriber_page(StatusCode::OK, done),
        Ok(Err(crate::error::AppError::User { .. })) => {
            subscriber_page(StatusCode::NOT_FOUND, "Dieser Link ist nicht (mehr) gültig.")
        }
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(e) => unavailable(&e.to_string()),
    }
}

/// `GET /newsletter/confirm?token=…`: the double opt-in link.
async fn confirm_subscription(state: web::Data<AppState>, q: web::Query<TokenQuery>) -> HttpResponse {
    subscription_link(
        state,
        q.into_inner().token,
        crate::service::newsletter::confirm,
        "Ihre Anmeldung zum Newsletter ist bestätigt.",
    )
    .await
}

/// `GET /newsletter/unsubscribe?token=…`: the link in every edition.
async fn unsubscribe(state: web::Data<AppState>, q: web::Query<TokenQuery>) -> HttpResponse {
    subscription_link(
        state,
        q.into_inner().token,
        crate::service::newsletter::unsubscribe,
        "Sie erhalten diesen Newsletter nicht mehr.",
    )
    .await
}

/// `GET /feeds/<topic-field>.atom`: the public changes to the topic field's projects.
async fn atom_feed(req: HttpRequest, path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let Some(topic) = path.into_inner().strip_suffix(".atom").map(str::to_owned) else {
        return plain_error(actix_web::http::StatusCode::NOT_FOUND, "feeds end in .atom");
    };
    let base_url = base_url(&req);
    let pool = state.pool.clone();
    let result = web::block(move || {
        let mut conn = pool.get().map_err(|e| crate::error::AppError::Internal(e.to_string()))?;
        crate::newsletter::feed(&mut conn, &topic, &base_url)
    })
    .await;
    match result {
        Ok(Ok(body)) => HttpResponse::Ok().content_type("application/atom+xml; charset=utf-8").body(body),
        Ok(Err(crate::error::AppError::User { message, .. })) => {
            plain_error(actix_web::http::StatusCode::NOT_FOUND, &message)
        }
        Ok(Err(e)) => unavailable(&e.to_string()),
        Err(e) => unavailable(&e.to_string()),
    }
}

/// The base URL links are built from: the request's own scheme and host.
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The public keys of this instance's token issuer.
async fn jwks(state: web::Data<AppState>) -> HttpResponse {
    let auth = state.auth.clone();
    match web::block(move || auth.jwks()).await {
        Ok(Ok(v)) => HttpResponse::Ok().json(v),
        Ok(Err(e)) => unavailable(&e),
        Err(e) => unavailable(&e.to_string()),
    }
}

fn unavailable(detail: &str) -> HttpResponse {
    let incident = log_internal(&detail);
    HttpResponse::ServiceUnavailable()
        .insert_header((header::RETRY_AFTER, "1"))
        .json(error_body("UNAVAILABLE", &format!("the database is not available; retry later (incident {incident})")))
}

async fn graphiql() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(juniper::http::graphiql::graphiql_source("/graphql", None))
}

/// Alive: the process answers (for restarts by a supervisor).
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready: the database answers (for load balancers).
async fn readyz(state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || -> Result<(), String> {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).map(drop).map_err(|e| e.to_string())
    })
    .await;
    match ok {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ok" })),
        Ok(Err(detail)) => unavailable(&detail),
        Err(e) => unavailable(&e.to_string()),
    }
}
