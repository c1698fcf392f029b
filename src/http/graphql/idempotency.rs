//! The `Idempotency-Key` of a mutation: its claim, the mutation and its stored answer commit in
//! one write transaction (see [`idem`]), or not at all.

use actix_web::HttpRequest;
use actix_web::http::StatusCode;
use serde_json::json;

use super::Refused;
use super::envelope::RawRequest;
use crate::error::log_internal;
use crate::http::fail;
use crate::store::idempotency as idem;
use crate::store::{Db, WriteTx};

/// The `Idempotency-Key` header: 1 to 200 visible ASCII characters.
pub(super) fn key(req: &HttpRequest) -> Result<Option<String>, Refused> {
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
pub(super) fn request_hash(raw: &RawRequest) -> String {
    use sha2::{Digest, Sha256};
    let canonical = json!([raw.query, raw.operation_name, raw.variables]).to_string();
    Sha256::digest(canonical.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// What claiming a key came to when it is not fresh.
pub(super) enum Taken {
    /// The same request finished before: its answer.
    Replay(String),
    /// The key was used for a different request.
    Mismatch,
    /// The first request with the key is still running.
    Running,
}

/// Opens the write transaction and claims the key in it: `Ok(tx)` for a fresh key (the mutation
/// runs inside `tx`, its service's write transactions become savepoints of it), else what the key
/// was taken by, with nothing of this request kept (the expired keys go at the next claim).
pub(super) fn claim(conn: &mut Db, subject: &str, key: &str, hash: &str) -> Result<Result<WriteTx, Taken>, String> {
    let tx = crate::store::begin_write(conn).map_err(|e| format!("idempotency key: {e}"))?;
    let now = chrono::Utc::now();
    let ts = |d: chrono::DateTime<chrono::Utc>| d.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let claim = idem::claim(
        conn,
        subject,
        key,
        hash,
        &ts(now),
        &ts(now - chrono::Duration::hours(24)),
        &ts(now - chrono::Duration::seconds(60)),
    );
    if let Ok(idem::Claim::Fresh) = claim {
        return Ok(Ok(tx));
    }
    abandon(Some(tx), conn);
    match claim.map_err(|e| format!("idempotency key: {e}"))? {
        idem::Claim::Fresh => unreachable!("handled above"),
        idem::Claim::Replay(r) => Ok(Err(Taken::Replay(r))),
        idem::Claim::Mismatch => Ok(Err(Taken::Mismatch)),
        idem::Claim::Running => Ok(Err(Taken::Running)),
    }
}

/// Stores the answer and commits everything; if that fails, nothing of the request is kept and
/// the client is told to retry (503).
/// `pause` is the test hook [`crate::settings::TestHooks::pause_after_mutation`]: the answer is
/// stored and the transaction committed only after it, so that a test can kill the server then.
pub(super) fn finish(
    conn: &mut Db,
    tx: WriteTx,
    subject: &str,
    key: &str,
    body: &str,
    pause: Option<std::time::Duration>,
) -> Result<(), String> {
    if let Some(pause) = pause {
        std::thread::sleep(pause);
    }
    match idem::finish(conn, subject, key, body) {
        Ok(()) => tx.commit(conn),
        Err(e) => {
            abandon(Some(tx), conn);
            Err(e.into())
        }
    }
    .map_err(|e| format!("idempotency key: {e}"))
}

/// Rolls back an idempotent request's transaction; without one, does nothing.
pub(super) fn abandon(write: Option<WriteTx>, conn: &mut Db) {
    if let Some(tx) = write
        && let Err(e) = tx.rollback(conn)
    {
        // The connection is left inside its transaction: the pool closes it, which rolls it back.
        log_internal(&format!("rolling back an idempotent request: {e}"));
    }
}
