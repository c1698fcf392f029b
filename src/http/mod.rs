//! The HTTP infrastructure: settings, shared state, the route table, request ids, rate limits,
//! access logs and metrics, and the error answers every handler uses; `/graphql` (our own handler,
//! see `graphql.rs`), `/graphiql`, `/healthz` (alive), `/readyz` (database reachable), `/metrics`
//! (Prometheus) and the JWKS. The newsletter's pages and feeds live in `newsletter::http`, the
//! federation's routes in `federation::http`. Every response carries an `x-request-id`; every request is rate-limited per client
//! address and per bearer token, logged once with its request id, and counted in the metrics.

mod graphiql;
mod graphql;
pub mod rate;

use std::sync::Arc;
use std::time::{Duration, Instant};

use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderName, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, HttpRequest, HttpResponse, web};
use diesel::RunQueryDsl;
use serde_json::{Value, json};

use crate::auth::{AuthError, Authenticator};
use crate::error::log_internal;
use crate::graphql::Schema;
use crate::graphql::limits::Limits;
use crate::metrics::{Metrics, PoolGauge};
use crate::store::DbPool;
use rate::{Limiter, Rate};

/// Largest request body accepted on /graphql.
pub const MAX_BODY: usize = 256 * 1024;

/// What an operator can switch and tune; read at start with the other settings (`crate::settings`).
#[derive(Debug, Clone)]
pub struct HttpConfig {
    /// The cost limit and whether introspection is answered.
    pub limits: Limits,
    /// Whether `/graphiql` is served.
    pub graphiql: bool,
    /// Whether `/metrics` is served.
    pub metrics: bool,
    /// A GraphQL request that takes longer is answered 503 (TIMEOUT); on PostgreSQL also the
    /// statement timeout.
    pub request_timeout: Duration,
    /// Requests per client address (`None`: no limit).
    pub rate_per_address: Option<Rate>,
    /// Requests per bearer token (`None`: no limit).
    pub rate_per_token: Option<Rate>,
    /// How long a stopping server lets in-flight requests finish.
    pub shutdown_timeout: Duration,
    /// Report the number of database queries of each GraphQL request in `x-db-queries`
    /// (for tests and benchmarks that guard against a query per row).
    pub query_count_header: bool,
}

impl Default for HttpConfig {
    fn default() -> Self {
        HttpConfig {
            limits: Limits::default(),
            graphiql: true,
            metrics: true,
            request_timeout: Duration::from_secs(10),
            rate_per_address: Some(Rate { requests: 1200, per: Duration::from_secs(60) }),
            rate_per_token: Some(Rate { requests: 600, per: Duration::from_secs(60) }),
            shutdown_timeout: Duration::from_secs(30),
            query_count_header: false,
        }
    }
}

pub struct AppState {
    pub pool: DbPool,
    pub federation: crate::federation::FederationConfig,
    pub auth: Arc<Authenticator>,
    pub schema: Arc<Schema>,
    pub config: HttpConfig,
    pub metrics: Arc<Metrics>,
    /// Reference data and the instance id, shared by all requests.
    pub shared: Arc<crate::graphql::Shared>,
    /// Hooks for the tests that run the binary (off unless set).
    pub hooks: crate::settings::TestHooks,
    address_limiter: Option<Limiter>,
    token_limiter: Option<Limiter>,
}

impl AppState {
    pub fn new(
        pool: DbPool,
        auth: Arc<Authenticator>,
        schema: Arc<Schema>,
        config: HttpConfig,
        federation: crate::federation::FederationConfig,
        hooks: crate::settings::TestHooks,
    ) -> Self {
        AppState {
            pool,
            shared: Arc::new(crate::graphql::Shared::new(federation.clone())),
            federation,
            hooks,
            auth,
            schema,
            address_limiter: config.rate_per_address.map(Limiter::new),
            token_limiter: config.rate_per_token.map(Limiter::new),
            config,
            metrics: Arc::new(Metrics::default()),
        }
    }
}

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.service(
        web::resource("/graphql")
            .route(web::post().to(graphql::post))
            .route(web::get().to(graphql::get))
            .route(web::route().to(method_not_allowed)),
    )
    .route("/graphiql", web::get().to(graphiql::page))
    .route("/graphiql/{file}", web::get().to(graphiql::asset))
    .route("/.well-known/jwks.json", web::get().to(jwks))
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz))
    .route("/metrics", web::get().to(metrics))
    .configure(crate::newsletter::http::routes)
    .configure(crate::federation::http::routes);
}

/// The request's id: the client's `x-request-id` when it is a plain token of up to 64 characters,
/// else a fresh random one.
#[derive(Clone)]
struct RequestId(String);

pub fn request_id(req: &HttpRequest) -> String {
    req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default()
}

fn new_request_id(req: &ServiceRequest) -> String {
    if let Some(v) = req.headers().get("x-request-id").and_then(|v| v.to_str().ok())
        && (1..=64).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
    {
        return v.to_owned();
    }
    let mut bytes = [0u8; 12];
    if getrandom::fill(&mut bytes).is_err() {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos();
        bytes.copy_from_slice(&nanos.to_le_bytes()[..12]);
    }
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Around every request: the request id, the `request` span every log line of the request is
/// written in (at level ERROR, so that it is on whenever anything is logged), the rate limits, the
/// access log line and the metrics.
pub async fn observe(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    use tracing::Instrument;
    let id = new_request_id(&req);
    let span = tracing::error_span!(
        target: crate::telemetry::REQUEST_TARGET,
        "request",
        request_id = id.as_str(),
        method = req.method().as_str(),
        path = req.path()
    );
    observe_in_span(req, next, id).instrument(span).await
}

async fn observe_in_span(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
    id: String,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    req.extensions_mut().insert(RequestId(id.clone()));
    let state = req.app_data::<web::Data<AppState>>().cloned();
    let method = req.method().to_string();
    // HEAD is answered for every GET route: the request goes to the GET handler, and the HTTP
    // codec, which saw the HEAD, sends the headers (with the GET's length) without the body.
    if req.method() == Method::HEAD {
        req.head_mut().method = Method::GET;
    }
    let path = req.path().to_owned();
    let route = req.match_pattern().unwrap_or_else(|| "unmatched".to_owned());
    let limited = match &state {
        Some(s) if !matches!(path.as_str(), "/healthz" | "/readyz" | "/metrics") => rate_limit(s, &req),
        _ => None,
    };
    let mut res = match limited {
        Some(resp) => req.into_response(resp).map_into_right_body(),
        None => next.call(req).await?.map_into_left_body(),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(HeaderName::from_static("x-request-id"), v);
    }
    let status = res.status().as_u16();
    let elapsed = started.elapsed();
    if let Some(s) = &state {
        s.metrics.request(&method, &route, status, elapsed.as_secs_f64());
    }
    // The request id, method and path are the span's fields.
    tracing::info!(
        target: "ozg_registry::access",
        status = status,
        duration_ms = (elapsed.as_secs_f64() * 100_000.0).round() / 100.0,
        "{method} {path} {status}"
    );
    Ok(res)
}

/// 429 when the client's address or token has no requests left.
fn rate_limit(state: &AppState, req: &ServiceRequest) -> Option<HttpResponse> {
    let now = Instant::now();
    let mut wait = None;
    if let (Some(l), Some(addr)) = (&state.address_limiter, req.peer_addr())
        && let Err(w) = l.take(rate::Key::Address(addr.ip()), now)
    {
        wait = Some(("address", w));
    }
    if wait.is_none()
        && let Some(l) = &state.token_limiter
        && let Some(token) = req
            .headers()
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        && let Err(w) = l.take(rate::token_key(token.trim()), now)
    {
        wait = Some(("token", w));
    }
    let (by, wait) = wait?;
    state.metrics.rate_limited(by);
    state.metrics.error("RATE_LIMITED");
    let secs = wait.as_secs_f64().ceil().max(1.0) as u64;
    let id = req.extensions().get::<RequestId>().map(|r| r.0.clone()).unwrap_or_default();
    Some(HttpResponse::TooManyRequests().insert_header((header::RETRY_AFTER, secs.to_string())).json(error_json(
        "RATE_LIMITED",
        &format!("too many requests from this {by}; retry after {secs} s"),
        &id,
    )))
}

fn error_json(code: &str, message: &str, request_id: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": { "code": code, "requestId": request_id } }] })
}

/// An error answer in the GraphQL error shape, with the request id, counted by code.
pub fn fail(req: &HttpRequest, status: StatusCode, code: &str, message: &str) -> HttpResponse {
    if let Some(s) = req.app_data::<web::Data<AppState>>() {
        s.metrics.error(code);
    }
    HttpResponse::build(status).json(error_json(code, message, &request_id(req)))
}

pub fn with_header(mut resp: HttpResponse, name: HeaderName, value: &'static str) -> HttpResponse {
    resp.headers_mut().insert(name, HeaderValue::from_static(value));
    resp
}

async fn method_not_allowed(req: HttpRequest) -> HttpResponse {
    with_header(
        fail(
            &req,
            StatusCode::METHOD_NOT_ALLOWED,
            "BAD_REQUEST",
            "use POST with a JSON body {\"query\": …, \"variables\": …}, or GET for queries",
        ),
        header::ALLOW,
        "GET, POST",
    )
}

/// 401 for a token that is present but not acceptable (RFC 6750): never a silent anonymous request.
fn unauthorized(req: &HttpRequest, e: &AuthError) -> HttpResponse {
    let description: String = e.0.chars().filter(|c| *c != '"' && *c != '\\' && !c.is_control()).collect();
    let mut resp = fail(req, StatusCode::UNAUTHORIZED, "UNAUTHENTICATED", &e.0);
    if let Ok(v) =
        HeaderValue::from_str(&format!("Bearer error=\"invalid_token\", error_description=\"{description}\""))
    {
        resp.headers_mut().insert(header::WWW_AUTHENTICATE, v);
    }
    resp
}

/// The one mapping of an error's code to an HTTP status, for every handler that answers with a
/// page or a document (GraphQL answers carry the code in the body instead).
pub fn status_of(code: crate::error::ErrorCode) -> StatusCode {
    use crate::error::ErrorCode::*;
    match code {
        BadUserInput | BadRequest => StatusCode::BAD_REQUEST,
        NotFound => StatusCode::NOT_FOUND,
        Conflict | IllegalTransition | AlreadyExists => StatusCode::CONFLICT,
        Forbidden => StatusCode::FORBIDDEN,
        Unauthenticated => StatusCode::UNAUTHORIZED,
        RateLimited => StatusCode::TOO_MANY_REQUESTS,
        LimitExceeded => StatusCode::BAD_REQUEST,
        Timeout | Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        Internal => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The JSON error answer of a document endpoint (JWKS, the federation's documents) for an error:
/// its status from [`status_of`], 503 with `Retry-After` while the database is away or slow, and
/// an incident id instead of an internal cause.
pub(crate) fn json_error(req: &HttpRequest, e: crate::error::AppError) -> HttpResponse {
    use crate::error::{AppError, ErrorCode};
    match e {
        AppError::User { code: ErrorCode::Unavailable | ErrorCode::Timeout, message, .. } => unavailable(req, &message),
        AppError::User { code, message, .. } => fail(req, status_of(code), code.as_str(), &message),
        AppError::Internal(detail) => {
            let incident = log_internal(&detail);
            fail(
                req,
                StatusCode::INTERNAL_SERVER_ERROR,
                "INTERNAL",
                &format!("internal error; the incident is logged as {incident}"),
            )
        }
    }
}

/// Runs database work on the blocking pool under the request timeout, the one way every handler
/// outside `/graphql` reaches the database (the pages, the newsletter and its feeds). A pool that
/// hands out no connection is `UNAVAILABLE`, a deadline passed `TIMEOUT`; internal causes stay
/// internal (logged by whoever shows the error).
pub async fn blocking<T: Send + 'static>(
    state: &AppState,
    f: impl FnOnce(&mut crate::store::PooledDb) -> crate::error::AppResult<T> + Send + 'static,
) -> crate::error::AppResult<T> {
    use crate::error::{AppError, ErrorCode};
    let pool = state.pool.clone();
    let work = web::block(crate::telemetry::carry_span(move || {
        let mut conn = pool.get().map_err(|e| {
            crate::store::suspect_connections();
            tracing::warn!("no database connection: {e}");
            AppError::user(ErrorCode::Unavailable, None, "the database is not available; retry later")
        })?;
        f(&mut conn)
    }));
    match tokio::time::timeout(state.config.request_timeout, work).await {
        Ok(Ok(r)) => r,
        Ok(Err(e)) => Err(AppError::Internal(format!("blocking task: {e}"))),
        Err(_) => Err(AppError::user(ErrorCode::Timeout, None, "the request did not finish in time; retry later")),
    }
}

/// 503 with `Retry-After` while the database is away; the cause is logged, not shown. The API's
/// answer (JSON with the code); pages and the newsletter's documents answer in German instead
/// (`web::error_page`, [`unavailable_text`]).
pub(crate) fn unavailable(req: &HttpRequest, detail: &str) -> HttpResponse {
    let incident = log_internal(&detail);
    retry_later(fail(
        req,
        StatusCode::SERVICE_UNAVAILABLE,
        "UNAVAILABLE",
        &format!("the database is not available; retry later (incident {incident})"),
    ))
}

/// What a person reads while the database is away or slow (pages and documents).
pub(crate) const UNAVAILABLE_DE: &str =
    "Der Dienst ist gerade nicht erreichbar. Bitte versuchen Sie es in Kürze erneut.";

/// Adds `Retry-After` to a 503 answer: every 503 of the service asks to retry after a second.
pub(crate) fn retry_later(resp: HttpResponse) -> HttpResponse {
    with_header(resp, header::RETRY_AFTER, "1")
}

/// The 503 of a text document (Markdown, plain text, a feed) while the database is away or slow:
/// plain German text with the incident the cause is logged under, and `Retry-After`.
pub(crate) fn unavailable_text(e: &crate::error::AppError) -> HttpResponse {
    let incident = log_internal(e);
    retry_later(
        HttpResponse::ServiceUnavailable()
            .content_type("text/plain; charset=utf-8")
            .body(format!("{UNAVAILABLE_DE} Die Störung ist unter Vorgang {incident} protokolliert.\n")),
    )
}

/// The base URL links are built from: the request's own scheme and host.
pub(crate) fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The public keys of this instance's token issuer.
async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let auth = state.auth.clone();
    match blocking(&state, move |_| auth.jwks().map_err(crate::error::AppError::Internal)).await {
        Ok(v) => HttpResponse::Ok().json(v),
        Err(e) => json_error(&req, e),
    }
}

/// Alive: the process answers (for restarts by a supervisor).
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready: the database answers (for load balancers); else 503 with `Retry-After`, also when the
/// check fails or takes longer than the request timeout.
async fn readyz(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let ready = blocking(&state, |conn| {
        diesel::sql_query("SELECT 1")
            .execute(&mut **conn)
            .map(drop)
            .map_err(|e| crate::error::AppError::Internal(format!("readiness check: {e}")))
    })
    .await;
    match ready {
        Ok(()) => HttpResponse::Ok().json(json!({ "status": "ok" })),
        // A database that answers with an error is not ready either: 503, the cause logged.
        Err(crate::error::AppError::Internal(detail)) => unavailable(&req, &detail),
        Err(e) => json_error(&req, e),
    }
}

/// Prometheus metrics in the text exposition format.
async fn metrics(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.config.metrics {
        return fail(&req, StatusCode::NOT_FOUND, "NOT_FOUND", "metrics are switched off on this server");
    }
    let s = state.pool.state();
    let gauge = PoolGauge { size: state.pool.max_size(), connections: s.connections, idle: s.idle_connections };
    HttpResponse::Ok().content_type("text/plain; version=0.0.4; charset=utf-8").body(state.metrics.render(&gauge))
}

/// The base URL peers reach this instance at: configured, else the request's own.
pub(crate) fn public_url(req: &HttpRequest, state: &AppState) -> String {
    state.federation.public_url.clone().unwrap_or_else(|| base_url(req))
}
