//! `POST /graphql` and `GET /graphql`: our own handler (not juniper_actix's). It checks the
//! envelope, negotiates the media type (GraphQL over HTTP), applies the query limits, takes the
//! Idempotency-Key, authenticates, and runs the operation synchronously on one pooled connection
//! inside `web::block`, bounded by the request timeout.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::connection::{Connection, InstrumentationEvent};
use juniper::http::GraphQLRequest;
use serde_json::{Value, json};

use super::{AppState, MAX_BODY, fail, request_id, unauthorized, unavailable, with_header};
use crate::auth::{AuthError, Credentials};
use crate::error::log_internal;
use crate::graphql::context::{Abort, abort_of};
use crate::graphql::limits;
use crate::graphql::{Ctx, limits::Limits};
use crate::service::Actor;
use crate::store::PooledDb;
use crate::store::idempotency as idem;

/// The media type of a GraphQL response, from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Media {
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphqlResponse,
    /// `application/json`: every GraphQL result is 200 (the legacy behaviour clients expect).
    Json,
}

impl Media {
    fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json",
        }
    }
}

/// Picks the response type: `application/graphql-response+json` when the client accepts it,
/// else `application/json` (also for `*/*`, `application/*` and no `Accept` at all); `None` when the
/// client accepts neither.
fn negotiate(req: &HttpRequest) -> Option<Media> {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    let mut json = false;
    for part in accept.split(',') {
        let mut params = part.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = params.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            "application/graphql-response+json" => return Some(Media::GraphqlResponse),
            "application/json" | "*/*" | "application/*" => json = true,
            _ => {}
        }
    }
    json.then_some(Media::Json)
}

fn not_acceptable(req: &HttpRequest) -> HttpResponse {
    fail(req, StatusCode::NOT_ACCEPTABLE, "BAD_REQUEST", "accept application/graphql-response+json or application/json")
}

/// The parts of a request the limits look at.
struct RawRequest {
    query: String,
    operation_name: Option<String>,
    variables: serde_json::Map<String, Value>,
}

/// Checks the body is one GraphQL request object and turns it into juniper's request.
fn parse_request(req: &HttpRequest, body: &[u8]) -> Result<(GraphQLRequest, RawRequest), Box<HttpResponse>> {
    let bad = |m: &str| Box::new(fail(req, StatusCode::BAD_REQUEST, "BAD_REQUEST", m));
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
        _ => return Err(bad("\"query\" must be a string holding a GraphQL document")),
    }
    if !matches!(obj.get("operationName"), None | Some(Value::Null) | Some(Value::String(_))) {
        return Err(bad("\"operationName\" must be a string or null"));
    }
    if !matches!(obj.get("variables"), None | Some(Value::Null) | Some(Value::Object(_))) {
        return Err(bad("\"variables\" must be a JSON object or null"));
    }
    if !matches!(obj.get("extensions"), None | Some(Value::Null) | Some(Value::Object(_))) {
        return Err(bad("\"extensions\" must be a JSON object or null"));
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
    let mut v = v;
    if let Value::Object(o) = &mut v {
        // juniper does not read extensions; they are accepted and ignored.
        o.remove("extensions");
    }
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

/// Gives every error a stable `extensions.code` and the request id: errors before execution
/// (syntax, validation, variable coercion) are the client's (BAD_USER_INPUT).
fn add_codes(resp: &mut Value, request_id: &str) -> Vec<String> {
    let executed = resp.get("data").is_some();
    let mut codes = Vec::new();
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
                let code =
                    ext.entry("code").or_insert_with(|| json!(if executed { "INTERNAL" } else { "BAD_USER_INPUT" }));
                codes.push(code.as_str().unwrap_or("INTERNAL").to_owned());
                ext.insert("requestId".into(), json!(request_id));
            }
        }
    }
    codes
}

/// Reads the body up to `MAX_BODY`; beyond it answers 413 in the GraphQL error shape.
async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<web::BytesMut, HttpResponse> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| fail(req, StatusCode::BAD_REQUEST, "BAD_REQUEST", "the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(fail(
                req,
                StatusCode::PAYLOAD_TOO_LARGE,
                "BAD_REQUEST",
                &format!("the request body exceeds {MAX_BODY} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

pub(super) async fn post(req: HttpRequest, payload: web::Payload, state: web::Data<AppState>) -> HttpResponse {
    let json_content = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|ct| ct == "application/json");
    if !json_content {
        return fail(
            &req,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send the request as Content-Type: application/json",
        );
    }
    let Some(media) = negotiate(&req) else { return not_acceptable(&req) };
    let body = match read_body(&req, payload).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    let (request, raw) = match parse_request(&req, &body) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    execute(&req, state, media, request, raw).await
}

/// `GET /graphql?query=…&variables=…&operationName=…`: queries only; a mutation is 405.
pub(super) async fn get(
    req: HttpRequest,
    params: web::Query<std::collections::HashMap<String, String>>,
    state: web::Data<AppState>,
) -> HttpResponse {
    let Some(media) = negotiate(&req) else { return not_acceptable(&req) };
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
    if limits::is_mutation(query, operation.as_deref()) {
        return with_header(
            fail(&req, StatusCode::METHOD_NOT_ALLOWED, "BAD_REQUEST", "mutations are sent with POST"),
            header::ALLOW,
            "POST",
        );
    }
    let body = json!({ "query": query, "variables": variables, "operationName": operation, "extensions": extensions })
        .to_string();
    let (request, raw) = match parse_request(&req, body.as_bytes()) {
        Ok(r) => r,
        Err(resp) => return *resp,
    };
    execute(&req, state, media, request, raw).await
}

/// Queries up to this cost run on the worker thread when a connection is idle: a point lookup
/// costs under 10 and a page of a few items; a page of 20 projects with three fields costs 121 and
/// runs on the blocking pool. See [`graphql`].
const INLINE_MAX_COST: u64 = 100;

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// What running a request came to.
enum Outcome {
    Unauthorized(AuthError),
    /// The response body, whether the operation ran (else it is a request error), the SQL
    /// statements it took, and the codes of its errors.
    Done {
        body: String,
        executed: bool,
        queries: usize,
        codes: Vec<String>,
    },
    Replay(String),
    KeyMismatch,
    KeyRunning,
    /// The query was stopped while it ran (see `graphql::context::Budget`).
    Aborted(Abort),
    /// The answer was larger than `max_response_bytes`.
    TooLarge(u64),
}

/// The PostgreSQL backend running a query's statements while it executes (`None` before and after).
type Running = Arc<std::sync::Mutex<Option<i32>>>;

/// Sets the request's cancellation flag when the request is done with, however it ends: answered,
/// timed out, or dropped because the client went away. A query still running on the blocking pool
/// then stops at its next list or record, and on PostgreSQL the statement it is running is
/// cancelled. The cancel is sent while holding `running`, which the worker clears before it gives
/// its connection back, so it never reaches a connection another request has taken since.
struct CancelOnDrop {
    cancel: Arc<AtomicBool>,
    running: Running,
    pool: crate::store::DbPool,
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        self.cancel.store(true, Ordering::Relaxed);
        let still_running = self.running.lock().is_ok_and(|r| r.is_some());
        if still_running {
            let (running, pool) = (self.running.clone(), self.pool.clone());
            std::thread::spawn(move || {
                let held = running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(pid) = *held {
                    crate::store::cancel_backend(&pool, pid);
                }
            });
        }
    }
}

/// Marks the worker's connection as running a query until dropped (before the connection is).
struct RunningGuard(Running);

impl RunningGuard {
    fn set(running: &Running, pid: Option<i32>) -> Self {
        *running.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = pid;
        RunningGuard(running.clone())
    }
}

impl Drop for RunningGuard {
    fn drop(&mut self) {
        *self.0.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = None;
    }
}

/// A buffer that refuses to grow past `max` bytes, so an answer is never serialised whole when it
/// is too large to send.
struct Capped {
    buf: Vec<u8>,
    max: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > self.max {
            return Err(std::io::Error::other("response too large"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Objects above which a finished query hands its freed memory back to the system.
const TRIM_OBJECTS: u64 = 10_000;

/// Returns freed heap memory to the system (glibc keeps it in its arenas otherwise, so one large
/// answer would keep the process's resident memory high for good).
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
}

/// The answer to a query stopped by a limit while it ran.
fn limit_body(limit: &str, max: u64, message: &str, request_id: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": {
        "code": "LIMIT_EXCEEDED", "limit": limit, "max": max, "requestId": request_id } }] })
}

/// Limits, authentication and execution, shared by POST and GET.
async fn execute(
    req: &HttpRequest,
    state: web::Data<AppState>,
    media: Media,
    request: GraphQLRequest,
    raw: RawRequest,
) -> HttpResponse {
    let rid = request_id(req);
    let respond = |status: StatusCode, body: Value| {
        HttpResponse::build(status).content_type(media.content_type()).body(body.to_string())
    };
    // Tokens, fields, depth, aliases, lists, pages, introspection and estimated cost, before anything runs.
    let measured =
        limits::measure(&state.schema, &state.config.limits, &raw.query, raw.operation_name.as_deref(), &raw.variables);
    // The document is parsed once here; a document that does not parse is no mutation (juniper
    // reports its syntax error).
    let (cost, is_mutation, root_fields) = match measured {
        Ok(m) => (
            m.as_ref().map(|m| m.cost),
            m.as_ref().is_some_and(|m| m.mutation),
            m.map(|m| m.root_fields).unwrap_or_default(),
        ),
        Err(limit) => {
            state.metrics.error(limit.code);
            let status = if media == Media::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            return respond(
                status,
                json!({ "errors": [{ "message": limit.message, "extensions": {
                    "code": limit.code, "limit": limit.limit, "max": limit.max, "requestId": rid } }] }),
            );
        }
    };
    // An Idempotency-Key makes a mutation safe to retry.
    let idempotency = match idempotency_key(req) {
        Ok(Some(key)) if is_mutation => Some((key, request_hash(&raw))),
        Ok(_) => None,
        Err(resp) => return *resp,
    };
    let header = req.headers().get(header::AUTHORIZATION).map(|h| h.to_str().unwrap_or("\u{0}"));
    let credentials = match state.auth.authenticate(header).await {
        Ok(c) => c,
        Err(e) => return unauthorized(req, &e),
    };
    let state = state.into_inner();
    let count_header = state.config.query_count_header;
    let timeout = state.config.request_timeout;
    let worker_state = state.clone();
    let worker_rid = rid.clone();
    let cancel = Arc::new(AtomicBool::new(false));
    let running: Running = Arc::default();
    let _cancel_on_drop = CancelOnDrop { cancel: cancel.clone(), running: running.clone(), pool: state.pool.clone() };
    let worker_cancel = cancel.clone();
    let worker_running = running.clone();
    let run = move |conn: Option<PooledDb>| -> Result<Outcome, String> {
        let state = worker_state;
        let (mut conn, inline) = match conn {
            Some(c) => (c, true),
            None => (state.pool.get().map_err(|e| format!("connection pool: {e}"))?, false),
        };
        // A query on the blocking pool may be given up while it runs: know its backend to cancel
        // (asked once per connection). A cheap inline one finishes before anyone gives up.
        let pid = if is_mutation || inline { None } else { crate::store::backend_pid(&mut conn) };
        let actor = match credentials {
            Credentials::Anonymous => Actor::anonymous(),
            Credentials::Token(t) => match t.resolve(&mut conn) {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => return Ok(Outcome::Unauthorized(e)),
                Err(detail) => {
                    crate::store::discard(&mut conn);
                    return Err(detail);
                }
            },
        };
        // Authentication comes first: an anonymous write is refused before its input is coerced
        // or checked (which would tell the caller what it needs), and the attempt is recorded.
        if is_mutation {
            let refused: Vec<&String> = root_fields
                .iter()
                .filter(|f| f.as_str() != "__typename")
                .filter(|f| crate::auth::policy::require_authenticated(&actor, f).is_err())
                .collect();
            if let Some(first) = refused.first() {
                let e = crate::auth::policy::require_authenticated(&actor, first).unwrap_err();
                for op in &refused {
                    if let Err(err) = crate::service::record_denied(&mut conn, &actor, op, &e.to_string()) {
                        log_internal(&format!("recording a denied attempt: {err}"));
                    }
                }
                let body = json!({ "errors": [{ "message": e.to_string(), "path": [first],
                    "extensions": { "code": "UNAUTHENTICATED", "requestId": worker_rid } }], "data": null });
                return Ok(Outcome::Done {
                    body: body.to_string(),
                    executed: true,
                    queries: 0,
                    codes: vec!["UNAUTHENTICATED".into()],
                });
            }
        }
        // With a key, the claim, the mutation (its service's write transactions become savepoints
        // of this one) and the stored answer commit together, or not at all.
        let mut write: Option<crate::store::WriteTx> = None;
        if let Some((key, hash)) = &idempotency {
            let tx = crate::store::begin_write(&mut conn).map_err(|e| format!("idempotency key: {e}"))?;
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
            );
            if let Ok(idem::Claim::Fresh) = claim {
                write = Some(tx);
            } else {
                // Nothing of this request is kept (the expired keys go at the next claim).
                abandon(Some(tx), &mut conn);
                match claim.map_err(|e| format!("idempotency key: {e}"))? {
                    idem::Claim::Fresh => unreachable!("handled above"),
                    idem::Claim::Replay(r) => return Ok(Outcome::Replay(r)),
                    idem::Claim::Mismatch => return Ok(Outcome::KeyMismatch),
                    idem::Claim::Running => return Ok(Outcome::KeyRunning),
                }
            }
        }
        let subject = actor.subject.clone();
        let queries = Arc::new(AtomicUsize::new(0));
        let counter = queries.clone();
        conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = e {
                counter.fetch_add(1, Ordering::Relaxed);
                log::trace!(target: "ozg_registry::sql", "{query}");
            }
        });
        let limits: &Limits = &state.config.limits;
        let mut ctx = Ctx::new(conn, actor, state.shared.clone());
        if !is_mutation {
            ctx = ctx.with_budget(limits.max_objects, worker_cancel);
        }
        let running_guard = RunningGuard::set(&worker_running, pid);
        // A query stopped by its budget or its cancellation unwinds out of juniper with an
        // `Abort`; its partial answer is dropped right here, with the memory it took.
        let response = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            request.execute_sync(&state.schema, &ctx)
        })) {
            Ok(r) => r,
            Err(p) => match abort_of(p.as_ref()) {
                Some(a) => {
                    drop(running_guard);
                    ctx.with_conn(|c| abandon(write.take(), c));
                    drop(ctx);
                    release_memory();
                    return Ok(Outcome::Aborted(a));
                }
                None => std::panic::resume_unwind(p),
            },
        };
        let n = queries.load(Ordering::Relaxed);
        let max_bytes = usize::try_from(limits.max_response_bytes).unwrap_or(usize::MAX);
        let mut out = Capped { buf: Vec::new(), max: max_bytes };
        drop(running_guard);
        if serde_json::to_writer(&mut out, &response).is_err() {
            // With a key, the mutation is undone: the client learns nothing of its outcome.
            ctx.with_conn(|c| abandon(write.take(), c));
            drop((response, out, ctx));
            release_memory();
            return Ok(Outcome::TooLarge(limits.max_response_bytes));
        }
        let large = ctx.objects() > TRIM_OBJECTS;
        drop(response);
        let mut body = String::from_utf8(out.buf).map_err(|e| {
            ctx.with_conn(|c| abandon(write.take(), c));
            format!("serialising the response: {e}")
        })?;
        let extensions = json!({ "cost": cost, "requestId": worker_rid });
        // Answers with errors get their codes through a JSON tree; the others (most of them) are
        // written once, with the extensions appended to the top-level object. No field of the
        // schema is called `errors`, and text inside the data is escaped, so the key cannot occur
        // elsewhere unescaped.
        let (codes, executed) = if body.contains("\"errors\":") {
            let mut v: Value = serde_json::from_str(&body).map_err(|e| {
                ctx.with_conn(|c| abandon(write.take(), c));
                format!("re-reading the response: {e}")
            })?;
            let codes = add_codes(&mut v, &worker_rid);
            let executed = v.get("data").is_some();
            if let (Some(_), Value::Object(o)) = (cost, &mut v) {
                o.insert("extensions".into(), extensions);
            }
            body = v.to_string();
            (codes, executed)
        } else {
            if cost.is_some() && body.ends_with('}') {
                body.pop();
                body.push_str(",\"extensions\":");
                body.push_str(&extensions.to_string());
                body.push('}');
            }
            (Vec::new(), true)
        };
        // An internal error may be a lost connection: then the whole request is 503 (retry
        // later) and the connection is not handed out again.
        if codes.iter().any(|c| c == "INTERNAL") && !ctx.with_conn(crate::store::alive) {
            ctx.with_conn(|c| {
                abandon(write.take(), c);
                crate::store::discard(c);
            });
            return Err("the database connection was lost during the request".into());
        }
        if let (Some((key, _)), Some(tx)) = (&idempotency, write.take()) {
            pause_after_mutation();
            // The answer is stored and everything commits; if that fails, nothing of the request
            // is kept and the client is told to retry (503).
            ctx.with_conn(|c| match idem::finish(c, &subject, key, &body) {
                Ok(()) => tx.commit(c),
                Err(e) => {
                    abandon(Some(tx), c);
                    Err(e.into())
                }
            })
            .map_err(|e| format!("idempotency key: {e}"))?;
        }
        if large {
            release_memory();
        }
        Ok(Outcome::Done { body, executed, queries: n, codes })
    };
    // A cheap query with an idle connection at hand runs right here on the worker thread: a
    // point lookup takes a fraction of a millisecond, less than handing it to the blocking pool
    // and back. Everything else runs on the blocking pool under the request timeout.
    let inline = !is_mutation && cost.is_some_and(|c| c <= INLINE_MAX_COST);
    let idle = if inline { state.pool.try_get() } else { None };
    let result = if let Some(conn) = idle {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run(Some(conn)))).map_err(|p| panic_text(p.as_ref()))
    } else {
        let started = std::time::Instant::now();
        match tokio::time::timeout(timeout, web::block(move || run(None))).await {
            // A query that finished only after its time (the timer fires on a millisecond tick, so
            // a short query can beat a very short timeout) is answered like one that did not
            // finish; a mutation's outcome is kept, since it has been written.
            Ok(r) if is_mutation || started.elapsed() < timeout => r.map_err(|e| e.to_string()),
            _ => {
                // Whatever still runs for this request stops at its next list or record.
                cancel.store(true, Ordering::Relaxed);
                state.metrics.error("TIMEOUT");
                log::warn!(request_id = rid.as_str(); "request timed out after {timeout:?}");
                let message = if is_mutation {
                    "the request did not finish in time; it may still complete: retry with the same Idempotency-Key to learn its outcome"
                } else {
                    "the request did not finish in time; ask for less or retry later"
                };
                return with_header(
                    fail(req, StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", message),
                    header::RETRY_AFTER,
                    "1",
                );
            }
        }
    };
    match result {
        Ok(Ok(Outcome::Unauthorized(e))) => unauthorized(req, &e),
        Ok(Ok(Outcome::Done { body, executed, queries: n, codes })) => {
            for code in &codes {
                state.metrics.error(code);
            }
            // A request error (no execution: syntax, validation, coercion) is 400 under
            // graphql-response+json; under application/json every GraphQL result is 200.
            let status =
                if media == Media::GraphqlResponse && !executed { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            let mut resp = HttpResponse::build(status);
            if count_header {
                resp.insert_header(("x-db-queries", n.to_string()));
            }
            resp.content_type(media.content_type()).body(body)
        }
        Ok(Ok(Outcome::Replay(body))) => HttpResponse::Ok()
            .content_type(media.content_type())
            .insert_header(("idempotent-replayed", "true"))
            .body(body),
        Ok(Ok(Outcome::KeyMismatch)) => fail(
            req,
            StatusCode::UNPROCESSABLE_ENTITY,
            "BAD_REQUEST",
            "this Idempotency-Key was used for a different request; use a new key for a new request",
        ),
        Ok(Ok(Outcome::KeyRunning)) => with_header(
            fail(
                req,
                StatusCode::CONFLICT,
                "CONFLICT",
                "the first request with this Idempotency-Key is still running; retry shortly",
            ),
            header::RETRY_AFTER,
            "1",
        ),
        Ok(Ok(Outcome::Aborted(Abort::Objects(max)))) => {
            state.metrics.error("LIMIT_EXCEEDED");
            let status = if media == Media::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            respond(
                status,
                limit_body(
                    "objects",
                    max,
                    &format!(
                        "the query resolved more than {max} objects and was stopped; ask for smaller pages or fewer nested lists"
                    ),
                    &rid,
                ),
            )
        }
        Ok(Ok(Outcome::TooLarge(max))) => {
            state.metrics.error("LIMIT_EXCEEDED");
            let status = if media == Media::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK };
            respond(
                status,
                limit_body(
                    "responseBytes",
                    max,
                    &format!("the answer would exceed {max} bytes; ask for smaller pages or fewer fields"),
                    &rid,
                ),
            )
        }
        // Given up while it ran: only when the client went away or the timeout fired (answered
        // above), so nobody reads this.
        Ok(Ok(Outcome::Aborted(Abort::Cancelled))) => with_header(
            fail(req, StatusCode::SERVICE_UNAVAILABLE, "TIMEOUT", "the request did not finish in time"),
            header::RETRY_AFTER,
            "1",
        ),
        Ok(Err(detail)) => unavailable(req, &detail),
        Err(e) => {
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

/// Rolls back an idempotent request's transaction (see [`idem`]); without one, does nothing.
fn abandon(write: Option<crate::store::WriteTx>, conn: &mut crate::store::Db) {
    if let Some(tx) = write
        && let Err(e) = tx.rollback(conn)
    {
        // The connection is left inside its transaction: the pool closes it, which rolls it back.
        log_internal(&format!("rolling back an idempotent request: {e}"));
    }
}

/// Test hook, off by default: `OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS` makes a mutation sent
/// with an Idempotency-Key sleep that long after it ran and before its answer is stored and its
/// transaction commits, so that a test can kill the server at that moment (tests/api/faults.rs).
/// Unset, empty or not a number, it costs one look at a cached value.
fn pause_after_mutation() {
    static PAUSE: std::sync::OnceLock<Option<std::time::Duration>> = std::sync::OnceLock::new();
    let pause = PAUSE.get_or_init(|| {
        std::env::var("OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS")
            .ok()
            .and_then(|v| v.trim().parse().ok())
            .filter(|ms| *ms > 0)
            .map(std::time::Duration::from_millis)
    });
    if let Some(pause) = pause {
        std::thread::sleep(*pause);
    }
}

/// The `Idempotency-Key` header: 1 to 200 visible ASCII characters.
fn idempotency_key(req: &HttpRequest) -> Result<Option<String>, Box<HttpResponse>> {
    let Some(v) = req.headers().get("idempotency-key") else { return Ok(None) };
    match v.to_str() {
        Ok(k) if (1..=200).contains(&k.len()) && k.bytes().all(|b| b.is_ascii_graphic()) => Ok(Some(k.to_owned())),
        _ => Err(Box::new(fail(
            req,
            StatusCode::BAD_REQUEST,
            "BAD_REQUEST",
            "Idempotency-Key: 1 to 200 visible ASCII characters",
        ))),
    }
}

/// Identifies a request for its key: the query, the operation and the variables.
fn request_hash(raw: &RawRequest) -> String {
    use sha2::{Digest, Sha256};
    let canonical = json!([raw.query, raw.operation_name, raw.variables]).to_string();
    Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}
