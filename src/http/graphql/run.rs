//! Running an operation: on one pooled connection, inline for a cheap query with an idle
//! connection at hand, else on the blocking pool under the request timeout. A query has an
//! objects budget and a cancellation flag; on PostgreSQL the statement it runs is cancelled when
//! the request is given up.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

use diesel::connection::{Connection, InstrumentationEvent};
use juniper::http::GraphQLRequest;

use super::answer::Answer;
use super::idempotency::{self, Taken};
use crate::auth::{AuthError, Credentials};
use crate::error::log_internal;
use crate::graphql::Ctx;
use crate::graphql::context::{Abort, abort_of};
use crate::http::AppState;
use crate::service::Actor;
use crate::store::{PooledDb, WriteTx};

/// Queries up to this cost run on the worker thread when a connection is idle: a point lookup
/// costs under 10 and a page of a few items; a page of 20 projects with three fields costs 121 and
/// runs on the blocking pool.
const INLINE_MAX_COST: u64 = 100;

/// Objects above which a finished query hands its freed memory back to the system.
const TRIM_OBJECTS: u64 = 10_000;

/// An operation that passed the limits and whose caller is authenticated, ready to run.
pub(super) struct Job {
    pub(super) request: GraphQLRequest,
    pub(super) credentials: Credentials,
    /// The estimated cost (`None` when the document does not parse: juniper reports that).
    pub(super) cost: Option<u64>,
    pub(super) is_mutation: bool,
    /// The fields the operation selects at its root.
    pub(super) root_fields: Vec<String>,
    /// A mutation's Idempotency-Key and the hash of its request.
    pub(super) idempotency: Option<(String, String)>,
    pub(super) request_id: String,
}

/// What running a request came to.
pub(super) enum Outcome {
    /// The token was not accepted.
    Unauthorized(AuthError),
    /// The answer, whether the operation ran (else it is a request error), the SQL statements it
    /// took, and the codes of its errors.
    Done {
        body: String,
        executed: bool,
        queries: usize,
        codes: Vec<String>,
    },
    /// The answer stored for this Idempotency-Key.
    Replay(String),
    KeyMismatch,
    KeyRunning,
    /// The query was stopped while it ran (see `graphql::context::Budget`).
    Aborted(Abort),
    /// The answer was larger than `max_response_bytes`.
    TooLarge(u64),
    /// It did not finish within the request timeout.
    TimedOut {
        mutation: bool,
    },
    /// The database failed (the detail is logged, not shown).
    Unavailable(String),
    /// It panicked.
    Panicked(String),
}

/// Runs the job: inline when it is a cheap query and a connection is idle (a point lookup takes a
/// fraction of a millisecond, less than handing it to the blocking pool and back), else on the
/// blocking pool under the request timeout. However the request ends, what still runs for it
/// stops at its next list or record.
pub(super) async fn dispatch(state: Arc<AppState>, job: Job) -> Outcome {
    let cancel = Arc::new(AtomicBool::new(false));
    let running: Running = Arc::default();
    let _cancel_on_drop = CancelOnDrop { cancel: cancel.clone(), running: running.clone(), pool: state.pool.clone() };
    let (is_mutation, timeout) = (job.is_mutation, state.config.request_timeout);
    let inline = !is_mutation && job.cost.is_some_and(|c| c <= INLINE_MAX_COST);
    if let Some(conn) = if inline { state.pool.try_get() } else { None } {
        let inline_run = std::panic::AssertUnwindSafe(|| run(&state, job, conn, true, cancel, running));
        return std::panic::catch_unwind(inline_run).unwrap_or_else(|p| Outcome::Panicked(panic_text(p.as_ref())));
    }
    let started = std::time::Instant::now();
    let worker = state.clone();
    let (worker_cancel, worker_running) = (cancel.clone(), running);
    let blocking = web_block(move || {
        let conn = worker.pool.get().map_err(|e| format!("connection pool: {e}"));
        match conn {
            Ok(conn) => run(&worker, job, conn, false, worker_cancel, worker_running),
            Err(detail) => Outcome::Unavailable(detail),
        }
    });
    match tokio::time::timeout(timeout, blocking).await {
        // A query that finished only after its time (the timer fires on a millisecond tick, so a
        // short query can beat a very short timeout) is answered like one that did not finish; a
        // mutation's outcome is kept, since it has been written.
        Ok(outcome) if is_mutation || started.elapsed() < timeout => outcome.unwrap_or_else(Outcome::Panicked),
        _ => {
            cancel.store(true, Ordering::Relaxed);
            state.metrics.error("TIMEOUT");
            tracing::warn!(timeout_ms = timeout.as_millis() as u64, "request timed out");
            Outcome::TimedOut { mutation: is_mutation }
        }
    }
}

/// `web::block` (the closure is handed to the blocking pool at once) in the request's span, with
/// a panic of the closure as its text.
fn web_block(f: impl FnOnce() -> Outcome + Send + 'static) -> impl Future<Output = Result<Outcome, String>> {
    let blocking = actix_web::web::block(crate::telemetry::carry_span(f));
    async move { blocking.await.map_err(|e| e.to_string()) }
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_default()
}

/// Runs the job on `conn`: resolves the caller, refuses anonymous writes, claims the
/// Idempotency-Key, executes, serialises the answer once and commits.
fn run(
    state: &AppState,
    job: Job,
    mut conn: PooledDb,
    inline: bool,
    cancel: Arc<AtomicBool>,
    running: Running,
) -> Outcome {
    // A query on the blocking pool may be given up while it runs: know its backend to cancel
    // (asked once per connection). A cheap inline one finishes before anyone gives up.
    let pid = if job.is_mutation || inline { None } else { crate::store::backend_pid(&mut conn) };
    let actor = match resolve_actor(&mut conn, job.credentials) {
        Ok(a) => a,
        Err(refused) => return refused,
    };
    // Authentication comes first: an anonymous write is refused before its input is coerced or
    // checked (which would tell the caller what it needs), and the attempt is recorded.
    if job.is_mutation
        && let Some(refused) = refuse_anonymous_writes(&mut conn, &actor, &job.root_fields, &job.request_id)
    {
        return refused;
    }
    let mut write: Option<WriteTx> = None;
    if let Some((key, hash)) = &job.idempotency {
        match idempotency::claim(&mut conn, &actor.subject, key, hash) {
            Ok(Ok(tx)) => write = Some(tx),
            Ok(Err(Taken::Replay(r))) => return Outcome::Replay(r),
            Ok(Err(Taken::Mismatch)) => return Outcome::KeyMismatch,
            Ok(Err(Taken::Running)) => return Outcome::KeyRunning,
            Err(detail) => return Outcome::Unavailable(detail),
        }
    }
    let subject = actor.subject.clone();
    let queries = Arc::new(AtomicUsize::new(0));
    let counter = queries.clone();
    conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
        if let InstrumentationEvent::StartQuery { query, .. } = e {
            counter.fetch_add(1, Ordering::Relaxed);
            tracing::trace!(target: "ozg_registry::sql", "{query}");
        }
    });
    let limits = &state.config.limits;
    let mut ctx = Ctx::new(conn, actor, state.shared.clone());
    if !job.is_mutation {
        ctx = ctx.with_budget(limits.max_objects, cancel);
    }
    let running_guard = RunningGuard::set(&running, pid);
    // A query stopped by its budget or its cancellation unwinds out of juniper with an `Abort`;
    // its partial answer is dropped right here, with the memory it took.
    let executed = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        job.request.execute_sync(&state.schema, &ctx).into_result()
    })) {
        Ok(r) => r,
        Err(p) => match abort_of(p.as_ref()) {
            Some(a) => {
                drop(running_guard);
                ctx.with_conn(|c| idempotency::abandon(write.take(), c));
                drop(ctx);
                release_memory();
                return Outcome::Aborted(a);
            }
            None => std::panic::resume_unwind(p),
        },
    };
    let queries = queries.load(Ordering::Relaxed);
    drop(running_guard);
    // The answer is serialised once, into a buffer that stops at the size limit.
    let answer = Answer::of(&executed, job.cost, &job.request_id);
    let (executed_op, codes) = (answer.executed(), answer.codes());
    let max_bytes = usize::try_from(limits.max_response_bytes).unwrap_or(usize::MAX);
    let Some(json) = answer.to_json(max_bytes) else {
        // With a key, the mutation is undone: the client learns nothing of its outcome.
        ctx.with_conn(|c| idempotency::abandon(write.take(), c));
        drop(answer);
        drop(executed);
        drop(ctx);
        release_memory();
        return Outcome::TooLarge(limits.max_response_bytes);
    };
    drop(answer);
    drop(executed);
    let large = ctx.objects() > TRIM_OBJECTS;
    let body = match String::from_utf8(json) {
        Ok(b) => b,
        Err(e) => {
            ctx.with_conn(|c| idempotency::abandon(write.take(), c));
            return Outcome::Unavailable(format!("serialising the response: {e}"));
        }
    };
    // An internal error may be a lost connection: then the whole request is 503 (retry later) and
    // the connection is not handed out again.
    if codes.iter().any(|c| c == "INTERNAL") && !ctx.with_conn(crate::store::alive) {
        ctx.with_conn(|c| {
            idempotency::abandon(write.take(), c);
            crate::store::discard(c);
        });
        return Outcome::Unavailable("the database connection was lost during the request".into());
    }
    if let (Some((key, _)), Some(tx)) = (&job.idempotency, write.take())
        && let Err(detail) =
            ctx.with_conn(|c| idempotency::finish(c, tx, &subject, key, &body, state.hooks.pause_after_mutation))
    {
        return Outcome::Unavailable(detail);
    }
    if large {
        release_memory();
    }
    Outcome::Done { body, executed: executed_op, queries, codes }
}

/// The caller: anonymous, or the token's subject (resolved on the connection the operation runs
/// on). A connection that failed while resolving is not handed out again.
fn resolve_actor(conn: &mut PooledDb, credentials: Credentials) -> Result<Actor, Outcome> {
    match credentials {
        Credentials::Anonymous => Ok(Actor::anonymous()),
        Credentials::Token(t) => match t.resolve(conn) {
            Ok(Ok(a)) => Ok(a),
            Ok(Err(e)) => Err(Outcome::Unauthorized(e)),
            Err(detail) => {
                crate::store::discard(conn);
                Err(Outcome::Unavailable(detail))
            }
        },
    }
}

/// Refuses a write whose root fields need a signed-in caller, recording each attempt; `None` when
/// the caller may make them all.
fn refuse_anonymous_writes(
    conn: &mut crate::store::Db,
    actor: &Actor,
    root_fields: &[String],
    request_id: &str,
) -> Option<Outcome> {
    let refused: Vec<&String> = root_fields
        .iter()
        .filter(|f| f.as_str() != "__typename")
        .filter(|f| crate::auth::policy::require_authenticated(actor, f).is_err())
        .collect();
    let first = refused.first()?;
    let e = crate::auth::policy::require_authenticated(actor, first).unwrap_err();
    for op in &refused {
        if let Err(err) = crate::service::record_denied(conn, actor, op, &e.to_string()) {
            log_internal(&format!("recording a denied attempt: {err}"));
        }
    }
    let answer = Answer::refused(first, "UNAUTHENTICATED", e.to_string(), request_id);
    let body = answer.to_json(usize::MAX).map(String::from_utf8);
    match body {
        Some(Ok(body)) => Some(Outcome::Done { body, executed: true, queries: 0, codes: answer.codes() }),
        _ => Some(Outcome::Unavailable("serialising a refusal".into())),
    }
}

/// Returns freed heap memory to the system (glibc keeps it in its arenas otherwise, so one large
/// answer would keep the process's resident memory high for good).
fn release_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only walks the allocator's own free lists; it takes no pointers.
    unsafe {
        libc::malloc_trim(0);
    }
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
            std::thread::spawn(crate::telemetry::carry_span(move || {
                let held = running.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                if let Some(pid) = *held {
                    crate::store::cancel_backend(&pool, pid);
                }
            }));
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
