//! The HTTP surface: `/graphql` (our own handler, see `graphql.rs`), `/graphiql`, `/healthz`
//! (alive), `/readyz` (database reachable), `/metrics` (Prometheus), the JWKS, the newsletter pages
//! and feeds. Every response carries an `x-request-id`; every request is rate-limited per client
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
use crate::service::Actor;
use crate::store::DbPool;
use rate::{Limiter, Rate};

/// Largest request body accepted on /graphql.
pub const MAX_BODY: usize = 256 * 1024;

/// What an operator can switch and tune; read from the environment by [`HttpConfig::from_env`].
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

impl HttpConfig {
    /// The defaults, changed by `OZG_REGISTRY_*` variables (see the README's production section).
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let mut c = HttpConfig::default();
        let switch = |name: &str, default: bool| -> Result<bool, String> {
            match get(name).as_deref().map(str::trim) {
                None => Ok(default),
                Some("on" | "true" | "1") => Ok(true),
                Some("off" | "false" | "0") => Ok(false),
                Some(v) => Err(format!("{name}: {v:?} is not on or off")),
            }
        };
        let number = |name: &str, min: u64, max: u64| -> Result<Option<u64>, String> {
            get(name)
                .map(|v| match v.trim().parse::<u64>() {
                    Ok(n) if (min..=max).contains(&n) => Ok(n),
                    _ => Err(format!("{name}: {v:?} is not a number from {min} to {max}")),
                })
                .transpose()
        };
        c.limits.introspection = switch("OZG_REGISTRY_INTROSPECTION", true)?;
        c.graphiql = switch("OZG_REGISTRY_GRAPHIQL", true)?;
        c.metrics = switch("OZG_REGISTRY_METRICS", true)?;
        c.query_count_header = switch("OZG_REGISTRY_QUERY_COUNT_HEADER", false)?;
        if let Some(n) = number("OZG_REGISTRY_MAX_COST", 100, 1_000_000_000)? {
            c.limits.max_cost = n;
        }
        if let Some(n) = number("OZG_REGISTRY_MAX_OBJECTS", 1_000, 100_000_000)? {
            c.limits.max_objects = n;
        }
        if let Some(n) = number("OZG_REGISTRY_MAX_RESPONSE_BYTES", 65_536, 1 << 32)? {
            c.limits.max_response_bytes = n;
        }
        if let Some(ms) = number("OZG_REGISTRY_REQUEST_TIMEOUT_MS", 1, 600_000)? {
            c.request_timeout = Duration::from_millis(ms);
        }
        if let Some(s) = number("OZG_REGISTRY_SHUTDOWN_TIMEOUT_SECS", 0, 3600)? {
            c.shutdown_timeout = Duration::from_secs(s);
        }
        if let Some(v) = get("OZG_REGISTRY_RATE_LIMIT_ADDRESS") {
            c.rate_per_address = Rate::parse("OZG_REGISTRY_RATE_LIMIT_ADDRESS", &v)?;
        }
        if let Some(v) = get("OZG_REGISTRY_RATE_LIMIT_TOKEN") {
            c.rate_per_token = Rate::parse("OZG_REGISTRY_RATE_LIMIT_TOKEN", &v)?;
        }
        Ok(c)
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
    ) -> Self {
        AppState {
            pool,
            federation,
            auth,
            schema,
            address_limiter: config.rate_per_address.map(Limiter::new),
            token_limiter: config.rate_per_token.map(Limiter::new),
            config,
            metrics: Arc::new(Metrics::default()),
            shared: Arc::default(),
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
    .route("/newsletter/confirm", web::get().to(confirm_subscription))
    .route("/newsletter/unsubscribe", web::get().to(unsubscribe))
    .route("/newsletter/{topic}", web::get().to(newsletter_page))
    .route("/feeds/{feed}", web::get().to(atom_feed))
    .route("/healthz", web::get().to(healthz))
    .route("/readyz", web::get().to(readyz))
    .route("/metrics", web::get().to(metrics))
    .route("/.well-known/ozg-registry", web::get().to(instance))
    .route("/federation/feed", web::get().to(federation_feed));
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

/// Around every request: the request id, the rate limits, the access log line and the metrics.
pub async fn observe(
    mut req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let started = Instant::now();
    let id = new_request_id(&req);
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
    log::info!(
        target: "ozg_registry::access",
        request_id = id.as_str(), method = method.as_str(), path = path.as_str(), status = status,
        duration_ms = (elapsed.as_secs_f64() * 100_000.0).round() / 100.0;
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

/// 503 with `Retry-After` while the database is away; the cause is logged, not shown.
fn unavailable(req: &HttpRequest, detail: &str) -> HttpResponse {
    let incident = log_internal(&detail);
    with_header(
        fail(
            req,
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            &format!("the database is not available; retry later (incident {incident})"),
        ),
        header::RETRY_AFTER,
        "1",
    )
}

#[derive(serde::Deserialize)]
struct NewsletterQuery {
    since: Option<String>,
}

fn plain_error(status: StatusCode, message: &str) -> HttpResponse {
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
        Err(e) => return plain_error(StatusCode::BAD_REQUEST, &format!("since: {e}")),
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
        Ok(Err(crate::error::AppError::User { message, .. })) => plain_error(StatusCode::NOT_FOUND, &message),
        Ok(Err(e)) => unavailable(&req, &e.to_string()),
        Err(e) => unavailable(&req, &e.to_string()),
    }
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// A small German page answering a subscriber's click.
fn subscriber_page(status: StatusCode, message: &str) -> HttpResponse {
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
    req: HttpRequest,
    state: web::Data<AppState>,
    token: Option<String>,
    act: fn(&mut crate::store::Db, &Actor, &str) -> crate::error::AppResult<crate::store::rows::SubscriberRow>,
    done: &'static str,
) -> HttpResponse {
    use StatusCode;
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
        Ok(Err(e)) => unavailable(&req, &e.to_string()),
        Err(e) => unavailable(&req, &e.to_string()),
    }
}

/// `GET /newsletter/confirm?token=…`: the double opt-in link.
async fn confirm_subscription(req: HttpRequest, state: web::Data<AppState>, q: web::Query<TokenQuery>) -> HttpResponse {
    subscription_link(
        req,
        state,
        q.into_inner().token,
        crate::service::newsletter::confirm,
        "Ihre Anmeldung zum Newsletter ist bestätigt.",
    )
    .await
}

/// `GET /newsletter/unsubscribe?token=…`: the link in every edition.
async fn unsubscribe(req: HttpRequest, state: web::Data<AppState>, q: web::Query<TokenQuery>) -> HttpResponse {
    subscription_link(
        req,
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
        return plain_error(StatusCode::NOT_FOUND, "feeds end in .atom");
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
        Ok(Err(crate::error::AppError::User { message, .. })) => plain_error(StatusCode::NOT_FOUND, &message),
        Ok(Err(e)) => unavailable(&req, &e.to_string()),
        Err(e) => unavailable(&req, &e.to_string()),
    }
}

/// The base URL links are built from: the request's own scheme and host.
fn base_url(req: &HttpRequest) -> String {
    let info = req.connection_info();
    format!("{}://{}", info.scheme(), info.host())
}

/// The public keys of this instance's token issuer.
async fn jwks(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let auth = state.auth.clone();
    match web::block(move || auth.jwks()).await {
        Ok(Ok(v)) => HttpResponse::Ok().json(v),
        Ok(Err(e)) => unavailable(&req, &e),
        Err(e) => unavailable(&req, &e.to_string()),
    }
}

/// Alive: the process answers (for restarts by a supervisor).
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(json!({ "status": "ok" }))
}

/// Ready: the database answers (for load balancers).
async fn readyz(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let pool = state.pool.clone();
    let ok = web::block(move || -> Result<(), String> {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        diesel::sql_query("SELECT 1").execute(&mut *conn).map(drop).map_err(|e| e.to_string())
    })
    .await;
    match ok {
        Ok(Ok(())) => HttpResponse::Ok().json(json!({ "status": "ok" })),
        Ok(Err(detail)) => unavailable(&req, &detail),
        Err(e) => unavailable(&req, &e.to_string()),
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

/// `GET /.well-known/ozg-registry`: who this instance is, its feed and its public key.
async fn instance(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    let (pool, cfg) = (state.pool.clone(), state.federation.clone());
    let result = web::block(move || {
        let mut conn = pool.get()?;
        crate::federation::identity(&mut conn, &cfg)
    })
    .await;
    match result {
        Ok(Ok(me)) => {
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
        Ok(Err(e)) => unavailable(&req, &e.to_string()),
        Err(e) => unavailable(&req, &e.to_string()),
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
    let (pool, cfg) = (state.pool.clone(), state.federation.clone());
    let result = web::block(move || -> crate::error::AppResult<Result<(String, feed::Page), String>> {
        let mut conn = pool.get()?;
        let tag = feed::etag(&mut conn, after, limit)?;
        if if_none_match.as_deref() == Some(tag.as_str()) {
            return Ok(Err(tag));
        }
        let me = crate::federation::identity(&mut conn, &cfg)?;
        Ok(Ok((tag, feed::page(&mut conn, &me, after, limit)?)))
    })
    .await;
    match result {
        Ok(Ok(Ok((tag, page)))) => HttpResponse::Ok().insert_header((header::ETAG, tag)).json(page),
        Ok(Ok(Err(tag))) => HttpResponse::NotModified().insert_header((header::ETAG, tag)).finish(),
        Ok(Err(e)) => unavailable(&req, &e.to_string()),
        Err(e) => unavailable(&req, &e.to_string()),
    }
}
