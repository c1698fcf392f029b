//! Pulling peers' feeds: `ozg-registry federation sync` runs one round; `serve` runs rounds in the
//! background. Peers are synced concurrently, at most `MAX_CONCURRENT_PEERS` at once, so one that
//! stalls does not hold up the others. Per peer: a circuit breaker (after 3 failed rounds the peer rests, doubling up to
//! 10 minutes), every page verified and imported whole, cursor and status kept in the database,
//! and from time to time a full reconcile that marks records the home no longer publishes as
//! orphaned.

use std::collections::HashSet;
use std::sync::Arc;

use super::client::{FetchError, Fetched, PeerClient};
use super::import::{self, Refusal, Report};
use super::{FederationConfig, identity};
use crate::domain::{PeerErrorCode, Timestamp, Vocabulary};
use crate::error::{AppError, AppResult};
use crate::metrics::Metrics;
use crate::store::federation::{self as store, PeerRow};
use crate::store::{Db, DbPool};

const FAILURES_TO_OPEN: i32 = 3;
const MAX_PAGES_PER_ROUND: u32 = 50;
const PAGE_SIZE: i64 = 200;
/// How many peers are synced at the same time.
pub const MAX_CONCURRENT_PEERS: usize = 4;

/// What one round did with one peer.
#[derive(Debug, Clone, Default)]
pub struct PeerOutcome {
    pub peer: String,
    pub pages: u32,
    pub report: Report,
    pub orphaned: usize,
    /// The failure's detail (for operators and admins) and its stable code.
    pub error: Option<String>,
    pub error_code: Option<PeerErrorCode>,
    /// Why the peer was not asked (its circuit is open).
    pub skipped: Option<String>,
}

impl std::fmt::Display for PeerOutcome {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let r = &self.report;
        if let Some(s) = &self.skipped {
            return write!(f, "{}: skipped ({s})", self.peer);
        }
        write!(
            f,
            "{}: {} page(s), {} applied, {} unchanged, {} deleted, {} deferred, {} conflicts, {} orphaned",
            self.peer, self.pages, r.applied, r.unchanged, r.deleted, r.deferred, r.conflicts, self.orphaned
        )?;
        if let Some(e) = &self.error {
            let code = self.error_code.map_or("", |c| c.code());
            write!(f, "; error {code}: {e}")?;
        }
        Ok(())
    }
}

async fn db<T: Send + 'static>(
    pool: &DbPool,
    f: impl FnOnce(&mut Db) -> AppResult<T> + Send + 'static,
) -> AppResult<T> {
    let pool = pool.clone();
    tokio::task::spawn_blocking(crate::telemetry::carry_span(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    }))
    .await
    .map_err(|e| AppError::Internal(format!("sync task: {e}")))?
}

/// One round over all peers (or the one named), at most `MAX_CONCURRENT_PEERS` at a time; the
/// outcomes in the order of the peers' instance ids. `force` ignores open circuits.
pub async fn round(
    pool: &DbPool,
    client: &PeerClient,
    cfg: &FederationConfig,
    only: Option<&str>,
    force: bool,
    metrics: Option<&Metrics>,
) -> AppResult<Vec<PeerOutcome>> {
    let cfg2 = cfg.clone();
    let (me, peers) = db(pool, move |c| Ok((identity(c, &cfg2)?.instance_id, store::peers(c)?))).await?;
    let permits = Arc::new(tokio::sync::Semaphore::new(MAX_CONCURRENT_PEERS));
    let mut tasks = tokio::task::JoinSet::new();
    for peer in peers.into_iter().filter(|p| only.is_none_or(|o| o == p.instance_id)) {
        let (pool, client, cfg, me, permits) = (pool.clone(), client.clone(), cfg.clone(), me.clone(), permits.clone());
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await;
            sync_peer(&pool, &client, &cfg, &me, peer, force).await
        });
    }
    let mut out = Vec::new();
    while let Some(done) = tasks.join_next().await {
        let outcome = match done {
            Ok(o) => o,
            Err(e) => {
                crate::error::log_internal(&format!("federation sync task: {e}"));
                continue;
            }
        };
        if let Some(m) = metrics
            && outcome.skipped.is_none()
        {
            m.peer_sync(&outcome.peer, outcome.error.is_none(), outcome.report.applied, chrono::Utc::now().timestamp());
        }
        out.push(outcome);
    }
    out.sort_by(|a, b| a.peer.cmp(&b.peer));
    Ok(out)
}

impl PeerOutcome {
    fn fail(&mut self, code: PeerErrorCode, detail: String) {
        self.error_code = Some(code);
        self.error = Some(detail);
    }
}

async fn sync_peer(
    pool: &DbPool,
    client: &PeerClient,
    cfg: &FederationConfig,
    me: &str,
    peer: PeerRow,
    force: bool,
) -> PeerOutcome {
    let mut out = PeerOutcome { peer: peer.instance_id.clone(), ..Default::default() };
    let now = Timestamp::now();
    if !force
        && let Some(until) = &peer.open_until
        && until.as_str() > now.to_db().as_str()
    {
        out.skipped = Some(format!("circuit open until {until} after {} failed rounds", peer.consecutive_failures));
        return out;
    }
    let due = peer.last_reconcile_at.as_deref().is_none_or(|last| {
        Timestamp::parse(last).map_or(true, |t| now.seconds_since(&t) >= cfg.reconcile_interval.as_secs() as i64)
    });
    let mut seen = due.then(HashSet::new);
    let mut cursor = if due { 0 } else { peer.feed_cursor };
    let base = peer.base_url.trim_end_matches('/').to_owned();
    let mut finished = false;
    while out.pages < MAX_PAGES_PER_ROUND {
        let url = format!("{base}/federation/feed?after={cursor}&limit={PAGE_SIZE}");
        let body = match client.get(&url, None).await {
            Ok(Fetched::Body(b)) => b,
            Ok(Fetched::NotModified) => {
                finished = true;
                break;
            }
            Err(FetchError { code, message, .. }) => {
                out.fail(code, message);
                break;
            }
        };
        let (p, me2) = (peer.clone(), me.to_owned());
        let taken = seen.take();
        let after = cursor;
        let result = db(pool, move |c| {
            let mut seen = taken;
            let page = match import::verify_page(&body, &p, after) {
                Ok(page) => page,
                Err(refusal) => return Ok(Err(refusal)),
            };
            let (next, more) = (page.next_cursor, page.has_more);
            Ok(import::apply(c, &p, &me2, &page.entries, next, seen.as_mut()).map(|r| (r, seen, next, more)))
        })
        .await;
        let refusal = match result {
            Ok(Ok((r, s, next, more))) => {
                seen = s;
                out.report.add(&r);
                out.pages += 1;
                if next <= cursor && more {
                    out.fail(PeerErrorCode::MalformedPage, format!("the feed does not advance after {cursor}"));
                    break;
                }
                cursor = next;
                if !more {
                    finished = true;
                    break;
                }
                continue;
            }
            Ok(Err(refusal)) => refusal,
            Err(e) => Refusal::Store(e),
        };
        let (code, message) = match refusal {
            Refusal::Entry { code, detail } => (code, format!("page after {cursor} rejected: {detail}")),
            Refusal::Store(e) => {
                let incident = crate::error::log_internal(&e.to_string());
                (PeerErrorCode::StoreFailed, format!("page after {cursor} could not be stored (incident {incident})"))
            }
        };
        out.fail(code, message.clone());
        record_failure(pool, &peer, code, message, true).await;
        return out;
    }
    if let Some(e) = out.error.clone() {
        let code = out.error_code.unwrap_or(PeerErrorCode::Unreachable);
        record_failure(pool, &peer, code, e, false).await;
        return out;
    }
    if finished && let Some(seen) = seen {
        let (id, origin) = (peer.id, peer.instance_id.clone());
        match db(pool, move |c| reconcile(c, id, &origin, &seen)).await {
            Ok(n) => out.orphaned = n,
            Err(e) => {
                let incident = crate::error::log_internal(&format!("reconcile: {e}"));
                out.fail(PeerErrorCode::StoreFailed, format!("reconcile failed (incident {incident})"));
            }
        }
    }
    out
}

/// Marks the peer's records it no longer publishes as orphaned (and clears the mark of those it
/// publishes again); returns how many are orphaned now.
fn reconcile(conn: &mut Db, peer_id: i32, origin: &str, seen: &HashSet<String>) -> AppResult<usize> {
    let at = Timestamp::now().to_db();
    crate::store::write_tx(conn, |c| {
        let held = store::federated_by_origin(c, origin)?;
        let gone: Vec<String> = held
            .iter()
            .filter(|r| !seen.contains(&r.global_id) && r.orphaned_at.is_none())
            .map(|r| r.global_id.clone())
            .collect();
        let back: Vec<String> = held
            .iter()
            .filter(|r| seen.contains(&r.global_id) && r.orphaned_at.is_some())
            .map(|r| r.global_id.clone())
            .collect();
        store::set_orphaned(c, &gone, Some(&at))?;
        store::set_orphaned(c, &back, None)?;
        store::peer_reconciled(c, peer_id, &at)?;
        Ok(held.iter().filter(|r| !seen.contains(&r.global_id)).count())
    })
}

async fn record_failure(pool: &DbPool, peer: &PeerRow, code: PeerErrorCode, error: String, rejected: bool) {
    let failures = peer.consecutive_failures + 1;
    let open_until = (failures >= FAILURES_TO_OPEN).then(|| {
        let secs = (30u64 << (failures - FAILURES_TO_OPEN).min(5)).min(600);
        (chrono::Utc::now() + chrono::Duration::seconds(secs as i64))
            .to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
    });
    let id = peer.id;
    let logged = error.clone();
    let r = db(pool, move |c| {
        store::peer_failure(c, id, code.code(), &error, &Timestamp::now().to_db(), open_until.as_deref(), rejected)
            .map_err(Into::into)
    })
    .await;
    tracing::warn!(peer = peer.instance_id.as_str(), code = code.code(), "federation sync failed: {logged}");
    if let Err(e) = r {
        crate::error::log_internal(&format!("recording a sync failure: {e}"));
    }
}

/// Runs a round every `cfg.sync_interval` until the process stops.
pub fn spawn(pool: DbPool, cfg: FederationConfig, metrics: Arc<Metrics>) -> Option<tokio::task::JoinHandle<()>> {
    if cfg.sync_interval.is_zero() {
        return None;
    }
    let client = match PeerClient::new(cfg.peer_timeout) {
        Ok(c) => c,
        Err(e) => {
            tracing::error!("federation sync is off: {e}");
            return None;
        }
    };
    // One process at a time runs the rounds, whichever holds the lease (see `crate::jobs`).
    let interval = cfg.sync_interval;
    let ttl = cfg.lease_ttl;
    Some(crate::jobs::spawn_leased(pool.clone(), crate::jobs::FEDERATION, interval, ttl, move || {
        let (pool, client, cfg, metrics) = (pool.clone(), client.clone(), cfg.clone(), metrics.clone());
        async move {
            match round(&pool, &client, &cfg, None, false, Some(&metrics)).await {
                Ok(outcomes) => {
                    for o in outcomes.iter().filter(|o| o.report.applied > 0 || o.error.is_some()) {
                        tracing::info!("federation: {o}");
                    }
                }
                Err(e) => {
                    crate::error::log_internal(&format!("federation round: {e}"));
                }
            }
        }
    }))
}
