//! Leases on background jobs: which process runs a job while several share one database. A lease
//! is a row per job with its holder and when it runs out; the holder renews it while it works, and
//! anyone may take it once it has run out (its holder died or stalled).

use diesel::prelude::*;
use diesel::result::{DatabaseErrorKind, Error};

use super::Db;
use super::schema::job_leases;

/// Takes the lease of `job` for `holder` until `expires_at`, or renews it if `holder` has it.
/// `false` when another holder's lease has not run out at `now`. Timestamps are `Timestamp::to_db`
/// text, which orders as time does.
pub fn try_acquire(conn: &mut Db, job: &str, holder: &str, now: &str, expires_at: &str) -> QueryResult<bool> {
    let renewed =
        diesel::update(job_leases::table.filter(job_leases::job.eq(job)).filter(job_leases::holder.eq(holder)))
            .set(job_leases::expires_at.eq(expires_at))
            .execute(conn)?;
    if renewed == 1 {
        return Ok(true);
    }
    let taken_over =
        diesel::update(job_leases::table.filter(job_leases::job.eq(job)).filter(job_leases::expires_at.le(now)))
            .set((
                job_leases::holder.eq(holder),
                job_leases::acquired_at.eq(now),
                job_leases::expires_at.eq(expires_at),
            ))
            .execute(conn)?;
    if taken_over == 1 {
        return Ok(true);
    }
    let inserted = diesel::insert_into(job_leases::table)
        .values((
            job_leases::job.eq(job),
            job_leases::holder.eq(holder),
            job_leases::acquired_at.eq(now),
            job_leases::expires_at.eq(expires_at),
        ))
        .execute(conn);
    match inserted {
        Ok(_) => Ok(true),
        // The row exists and is another's (or another process inserted it first).
        Err(Error::DatabaseError(DatabaseErrorKind::UniqueViolation, _)) => Ok(false),
        Err(e) => Err(e),
    }
}

/// Gives the lease up (on a graceful stop), so another process takes over at once.
pub fn release(conn: &mut Db, job: &str, holder: &str) -> QueryResult<()> {
    diesel::delete(job_leases::table.filter(job_leases::job.eq(job)).filter(job_leases::holder.eq(holder)))
        .execute(conn)
        .map(drop)
}

/// Who holds the lease of `job` and until when.
pub fn holder(conn: &mut Db, job: &str) -> QueryResult<Option<(String, String)>> {
    job_leases::table.find(job).select((job_leases::holder, job_leases::expires_at)).first(conn).optional()
}
