//! Stored answers to mutations sent with an `Idempotency-Key`: the same key and request replays the
//! answer; keys live 24 hours.
//!
//! The claim, the mutation and its stored answer commit in one write transaction (see
//! `store::begin_write`): a request that dies before the commit leaves neither its writes nor its
//! key behind, and its retry runs afresh. While that transaction is open, another request with the
//! same key waits for it: on PostgreSQL its INSERT of the key blocks on the unique index until the
//! first commits (then it finds the stored answer) or rolls back (then it runs itself); on SQLite
//! the writer lock orders them the same way.

use diesel::prelude::*;

use super::schema::idempotency_keys as k;
use super::{Db, is_unique_violation};

/// What a key says about a request.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// The key is new: run the request and `finish` it.
    Fresh,
    /// The same request finished before: here is its answer.
    Replay(String),
    /// The same key with a different request.
    Mismatch,
    /// The first request with this key is still running.
    Running,
}

/// Claims `key` for `subject`'s request, inside the write transaction the request runs in; keys
/// older than `expired_before` are forgotten first. A claim stays RUNNING only inside that
/// transaction, so a committed RUNNING row was left by an older version of this server (which
/// committed the claim on its own); one older than `stale_before` (its request died) may be taken
/// over.
pub fn claim(
    conn: &mut Db,
    subject: &str,
    key: &str,
    request_hash: &str,
    now: &str,
    expired_before: &str,
    stale_before: &str,
) -> QueryResult<Claim> {
    diesel::delete(k::table.filter(k::created_at.lt(expired_before))).execute(conn)?;
    // In a savepoint: on PostgreSQL a failed statement would abort the whole transaction.
    let inserted = conn.transaction(|conn| {
        diesel::insert_into(k::table)
            .values((
                k::subject.eq(subject),
                k::key.eq(key),
                k::request_hash.eq(request_hash),
                k::state.eq("RUNNING"),
                k::created_at.eq(now),
            ))
            .execute(conn)
    });
    match inserted {
        Ok(_) => return Ok(Claim::Fresh),
        Err(e) if is_unique_violation(&e) => {}
        Err(e) => return Err(e),
    }
    let (hash, state, response, created): (String, String, Option<String>, String) =
        k::table.find((subject, key)).select((k::request_hash, k::state, k::response, k::created_at)).first(conn)?;
    if hash != request_hash {
        return Ok(Claim::Mismatch);
    }
    match (state.as_str(), response) {
        ("DONE", Some(r)) => Ok(Claim::Replay(r)),
        _ if created.as_str() < stale_before => {
            diesel::update(k::table.find((subject, key))).set(k::created_at.eq(now)).execute(conn)?;
            Ok(Claim::Fresh)
        }
        _ => Ok(Claim::Running),
    }
}

/// Stores the answer of a claimed request, in the transaction of its claim.
pub fn finish(conn: &mut Db, subject: &str, key: &str, response: &str) -> QueryResult<()> {
    diesel::update(k::table.find((subject, key)))
        .set((k::state.eq("DONE"), k::response.eq(response)))
        .execute(conn)
        .map(drop)
}

/// Forgets a claim whose request failed before it could answer, so a retry runs again.
pub fn release(conn: &mut Db, subject: &str, key: &str) -> QueryResult<()> {
    diesel::delete(k::table.find((subject, key))).execute(conn).map(drop)
}
