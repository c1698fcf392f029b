//! Background jobs (federation sync and reconcile today, the mail sender to come) when several
//! `serve` processes share one database: a job runs in the one process holding its lease (a row in
//! `job_leases`). The holder renews the lease while it works; a holder that dies or stalls lets it
//! run out, and the next process to look takes the job over. On a graceful stop the holder gives
//! its leases up, so another process takes over at its next tick.
//!
//! Everything else stays correct with N processes without a lease: every write is a transaction
//! with its own version checks, and the count cache checks the change log's head. Per process are
//! the rate limits' buckets, the metrics, the reference-data cache and the JWKS cache.

use std::future::Future;
use std::sync::OnceLock;
use std::time::Duration;

use crate::domain::Timestamp;
use crate::store::{DbPool, leases};

/// The federation's job: pulling the peers' feeds, and reconciling them from time to time.
pub const FEDERATION: &str = "federation";

/// This process's name as a lease holder: host, process id and a random part (a restarted process
/// with a reused pid is another holder).
pub fn holder() -> &'static str {
    static HOLDER: OnceLock<String> = OnceLock::new();
    HOLDER.get_or_init(|| {
        let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_owned())
            .unwrap_or_else(|_| "host".into());
        let mut r = [0u8; 6];
        getrandom::fill(&mut r).unwrap_or_default();
        let r: String = r.iter().map(|b| format!("{b:02x}")).collect();
        format!("{host}/{}/{r}", std::process::id())
    })
}

async fn acquire(pool: &DbPool, job: &'static str, ttl: Duration) -> bool {
    let pool = pool.clone();
    let attempt = tokio::task::spawn_blocking(move || {
        let mut conn = pool.get().map_err(|e| e.to_string())?;
        let now = Timestamp::now();
        leases::try_acquire(&mut conn, job, holder(), &now.to_db(), &now.after(ttl).to_db()).map_err(|e| e.to_string())
    })
    .await;
    match attempt {
        Ok(Ok(held)) => held,
        Ok(Err(e)) => {
            tracing::warn!(job, "the lease could not be checked: {e}");
            false
        }
        Err(e) => {
            tracing::warn!(job, "the lease check failed: {e}");
            false
        }
    }
}

/// Gives up this process's lease of `job` (on a graceful stop).
pub fn release(pool: &DbPool, job: &str) {
    match pool.get() {
        Ok(mut conn) => {
            if let Err(e) = leases::release(&mut conn, job, holder()) {
                tracing::warn!(job, "the lease could not be given up: {e}");
            }
        }
        Err(e) => tracing::warn!(job, "the lease could not be given up: {e}"),
    }
}

/// Runs `round` every `interval` in whichever process holds the lease of `job`. While a round runs
/// the lease is renewed every third of `ttl`, so a long round keeps it; a process that finds the
/// lease held by another skips the round and looks again at its next tick.
pub fn spawn_leased<F, Fut>(
    pool: DbPool,
    job: &'static str,
    interval: Duration,
    ttl: Duration,
    mut round: F,
) -> tokio::task::JoinHandle<()>
where
    F: FnMut() -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(interval.max(Duration::from_secs(1)));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut held = false;
        loop {
            tick.tick().await;
            let now_held = acquire(&pool, job, ttl).await;
            if now_held != held {
                tracing::info!(
                    job,
                    holder = holder(),
                    "lease {}",
                    if now_held { "taken" } else { "held elsewhere, not run" }
                );
                held = now_held;
            }
            if !held {
                continue;
            }
            let renewing = {
                let pool = pool.clone();
                tokio::spawn(async move {
                    let every = (ttl / 3).max(Duration::from_millis(500));
                    loop {
                        tokio::time::sleep(every).await;
                        if !acquire(&pool, job, ttl).await {
                            tracing::warn!(job, "the lease was lost during a round");
                        }
                    }
                })
            };
            round().await;
            renewing.abort();
        }
    })
}

/// Runs `work` once under the lease of `job` (the command-line `federation sync`), waiting up to
/// `wait` for it; refuses, naming the holder, when another process keeps it (a running `serve`
/// that syncs in the background). The lease is given up afterwards.
pub async fn run_once<T, Fut>(
    pool: &DbPool,
    job: &'static str,
    ttl: Duration,
    wait: Duration,
    work: Fut,
) -> Result<T, String>
where
    Fut: Future<Output = T>,
{
    let started = std::time::Instant::now();
    while !acquire(pool, job, ttl).await {
        if started.elapsed() >= wait {
            let p = pool.clone();
            let held = tokio::task::spawn_blocking(move || {
                p.get().ok().and_then(|mut c| leases::holder(&mut c, job).ok().flatten())
            })
            .await
            .ok()
            .flatten();
            let (who, until) = held.unwrap_or_default();
            return Err(format!(
                "the {job} job is held by {who} until {until} (a running `serve` syncs in the background); try again later"
            ));
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let renewing = {
        let pool = pool.clone();
        tokio::spawn(async move {
            loop {
                tokio::time::sleep((ttl / 3).max(Duration::from_millis(500))).await;
                acquire(&pool, job, ttl).await;
            }
        })
    };
    let out = work.await;
    renewing.abort();
    let p = pool.clone();
    let _ = tokio::task::spawn_blocking(move || release(&p, job)).await;
    Ok(out)
}
