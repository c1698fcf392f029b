//! Importing a peer's feed page. First every entry's signature, issuer, order and the page's
//! cursor are checked (`verify_page`), then every entry is admitted or refused by the rules of
//! federation (`admit`, the one place they live) before anything is written: one bad entry rejects
//! the whole page, which is recorded (a DENIED change-log entry and the peer's last error). Then
//! the whole page is applied in one transaction together with the peer's new cursor, so nothing is
//! ever half-imported. Import is idempotent: an entry whose version is not newer than the one held
//! (or than the version its home deleted it at) changes nothing.

use std::collections::{HashMap, HashSet};

use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};

mod admit;
mod records;

pub use admit::admit;
use records::*;

use super::feed::{CallRecord, Entry, MAX_LIMIT, OrgRef, Page, ParticipationRecord, ProjectRecord, ReuseRecord};
use super::origin_of;
use crate::auth::{Role, policy};
use crate::domain::{
    CallStatus, ChangeAction, DeliveryModel, OrganisationKind, ParticipationRole, ParticipationStatus, PeerErrorCode,
    Phase, ReuseStatus, StepStatus, Timestamp, Vocabulary,
};
use crate::error::{AppError, AppResult};
use crate::service::participation as rules;
use crate::service::{self, Actor, Change, Diff};
use crate::store::federation::{self as store, FEDERATION_ACTOR, FederatedRow, PeerRow, TombstoneRow};
use crate::store::rows::OrganisationRow;
use crate::store::{Db, read, write};

/// What one page did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub applied: u64,
    pub unchanged: u64,
    pub deleted: u64,
    /// Entries about a project this registry does not hold (yet); a later reconcile takes them.
    pub deferred: u64,
    /// Entries that would duplicate a record homed here (same project, organisation and role).
    pub conflicts: u64,
}

impl Report {
    pub fn add(&mut self, o: &Report) {
        self.applied += o.applied;
        self.unchanged += o.unchanged;
        self.deleted += o.deleted;
        self.deferred += o.deferred;
        self.conflicts += o.conflicts;
    }
}

/// Why a page is not imported.
#[derive(Debug)]
pub enum Refusal {
    /// The page or one of its entries is refused: a stable code and the detail (for admins).
    Entry { code: PeerErrorCode, detail: String },
    /// Checking or storing failed here (the database); logged with an incident number.
    Store(AppError),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Store(e)
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Refusal::Store(e.into())
    }
}

fn malformed(detail: impl Into<String>) -> Refusal {
    Refusal::Entry { code: PeerErrorCode::MalformedPage, detail: detail.into() }
}

fn refuse(e: &Entry, why: impl std::fmt::Display) -> Refusal {
    Refusal::Entry {
        code: PeerErrorCode::RefusedEntry,
        detail: format!("entry {} ({} {}) refused: {why}", e.cursor, e.kind, e.id),
    }
}

/// A verified page: its entries, the cursor to continue after, and whether more follow.
pub struct VerifiedPage {
    pub entries: Vec<Entry>,
    pub next_cursor: i64,
    pub has_more: bool,
}

/// Parses the page asked for with `after` and checks every entry's signature, issuer and order,
/// and the page's cursor against its entries: `nextCursor` is the last entry's cursor, or on an
/// empty (and last) page the `after` asked with, so a page cannot move the cursor past what it
/// holds. `Err` names the first problem and rejects the page.
pub fn verify_page(body: &[u8], peer: &PeerRow, after: i64) -> Result<VerifiedPage, Refusal> {
    let page: Page = serde_json::from_slice(body).map_err(|e| malformed(format!("malformed feed page: {e}")))?;
    if page.instance != peer.instance_id {
        return Err(malformed(format!("the feed belongs to {:?}, not to {:?}", page.instance, peer.instance_id)));
    }
    if page.entries.len() as i64 > MAX_LIMIT {
        return Err(malformed(format!(
            "the page holds {} entries; at most {MAX_LIMIT} are accepted",
            page.entries.len()
        )));
    }
    let next: i64 = page.next_cursor.parse().map_err(|_| malformed("malformed nextCursor"))?;
    let x =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &peer.public_key).map_err(|_| {
            Refusal::Entry {
                code: PeerErrorCode::BadSignature,
                detail: "the pinned key of this peer is not base64url".into(),
            }
        })?;
    let key = DecodingKey::from_ed_der(&x);
    let mut entries = Vec::with_capacity(page.entries.len());
    let mut previous = after;
    for signed in &page.entries {
        let e = super::feed::verify(&signed.jws, &peer.instance_id, &key)
            .map_err(|detail| Refusal::Entry { code: PeerErrorCode::BadSignature, detail })?;
        if e.cursor.to_string() != signed.cursor || e.cursor <= previous {
            return Err(malformed(format!("entry {} is out of order (the page follows {after})", signed.cursor)));
        }
        previous = e.cursor;
        entries.push(e);
    }
    match entries.last() {
        Some(last) if next != last.cursor => {
            return Err(malformed(format!(
                "nextCursor {next} is not the cursor of the page's last entry ({})",
                last.cursor
            )));
        }
        None if next != after || page.has_more => {
            return Err(malformed(format!(
                "an empty page after {after} must end the feed there, but says nextCursor {next}{}",
                if page.has_more { " and hasMore" } else { "" }
            )));
        }
        _ => {}
    }
    Ok(VerifiedPage { entries, next_cursor: next, has_more: page.has_more })
}

fn bad(e: impl std::fmt::Display) -> AppError {
    AppError::bad_input("feed", format!("malformed entry: {e}"))
}

fn parse<T: serde::de::DeserializeOwned>(e: &Entry) -> AppResult<T> {
    serde_json::from_value(e.record.clone().unwrap_or_default()).map_err(|x| bad(format!("{} {}: {x}", e.kind, e.id)))
}

fn vocab<V: Vocabulary>(s: &str) -> AppResult<V> {
    V::parse(s).map_err(bad)
}

fn opt(v: &Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    service::opt_text(v.as_deref(), field, max).map_err(bad)
}

/// The type segment of a global id for each entity type (`nrw.kdn/project/einbuergerung`).
fn id_segment(kind: &str) -> Option<&'static str> {
    match kind {
        "Project" => Some("project"),
        "Participation" => Some("participation"),
        "Call" => Some("call"),
        "ReuseDeclaration" => Some("reuse"),
        _ => None,
    }
}

/// Applies verified entries and moves the peer's cursor, in one transaction, after admitting every
/// entry (nothing is written when one is refused; the refusal is recorded as a DENIED change-log
/// entry). `seen` collects the global ids the peer still publishes (for the reconcile).
pub fn apply(
    conn: &mut Db,
    peer: &PeerRow,
    me: &str,
    entries: &[Entry],
    next_cursor: i64,
    mut seen: Option<&mut HashSet<String>>,
) -> Result<Report, Refusal> {
    let actor = Actor { issuer: Some(peer.instance_id.clone()), ..Actor::system(FEDERATION_ACTOR) };
    let outcome = crate::store::write_tx(conn, |conn| {
        let mut earlier: HashMap<String, String> = HashMap::new();
        for e in entries {
            match admit(conn, peer, me, e, &earlier) {
                Ok(()) => {}
                Err(Refusal::Store(x)) => return Err(x),
                Err(refusal) => return Ok(Err(refusal)),
            }
            earlier.insert(e.id.clone(), e.kind.clone());
        }
        let at = Timestamp::now();
        let mut report = Report::default();
        for e in entries {
            if let Some(seen) = seen.as_deref_mut() {
                if e.op == "delete" {
                    seen.remove(&e.id);
                } else {
                    seen.insert(e.id.clone());
                }
            }
            // A record deleted at its home comes back only with a newer version.
            if let Some(t) = store::tombstone(conn, &e.id)? {
                if t.version >= e.version {
                    if let Some(seen) = seen.as_deref_mut() {
                        // Not published any more, whatever a stale copy of the feed says.
                        seen.remove(&e.id);
                    }
                    report.unchanged += 1;
                    continue;
                }
                if e.op == "upsert" {
                    store::delete_tombstone(conn, &e.id)?;
                }
            }
            let existing = store::federated(conn, &e.id)?.filter(|x| x.entity_type == e.kind);
            if existing.as_ref().is_some_and(|x| x.version >= e.version) {
                report.unchanged += 1;
                continue;
            }
            if e.op == "delete" {
                let t = TombstoneRow {
                    global_id: e.id.clone(),
                    origin: peer.instance_id.clone(),
                    entity_type: e.kind.clone(),
                    version: e.version,
                };
                store::save_tombstone(conn, &t, &at.to_db())?;
                if let Some(x) = existing {
                    delete(conn, &actor, &at, &x)?;
                    report.deleted += 1;
                } else {
                    report.unchanged += 1;
                }
                continue;
            }
            let hash = e.record.as_ref().map(|r| {
                Sha256::digest(r.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
            });
            if let (Some(x), Some(h)) = (&existing, &hash)
                && &x.content_hash == h
            {
                store::save_federated(conn, &FederatedRow { version: e.version, ..x.clone() }, &at.to_db())?;
                report.unchanged += 1;
                continue;
            }
            let local = match e.kind.as_str() {
                "Project" => put_project(conn, &actor, &at, peer, e, existing.as_ref())?,
                "Participation" => put_participation(conn, &actor, &at, peer, me, e, existing.as_ref())?,
                "ReuseDeclaration" => put_reuse(conn, &actor, &at, peer, me, e, existing.as_ref())?,
                _ => put_call(conn, &actor, &at, peer, me, e, existing.as_ref())?,
            };
            match local {
                Outcome::Done(local_id) => {
                    let row = FederatedRow {
                        global_id: e.id.clone(),
                        origin: peer.instance_id.clone(),
                        entity_type: e.kind.clone(),
                        local_id,
                        version: e.version,
                        content_hash: hash.unwrap_or_default(),
                        orphaned_at: None,
                    };
                    store::save_federated(conn, &row, &at.to_db())?;
                    report.applied += 1;
                }
                Outcome::Deferred => report.deferred += 1,
                Outcome::Conflict => report.conflicts += 1,
            }
        }
        let cursor = next_cursor.max(peer.feed_cursor);
        store::peer_success(conn, peer.id, cursor, report.applied as i64, &at.to_db())?;
        Ok(Ok(report))
    });
    match outcome {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(refusal)) => {
            if let Refusal::Entry { code: PeerErrorCode::RefusedEntry, detail } = &refusal {
                let operation = format!("import from {}", peer.instance_id);
                service::record_denied(conn, &actor, &operation, detail)?;
            }
            Err(refusal)
        }
        Err(AppError::User { message, .. }) => Err(malformed(message)),
        Err(other) => Err(Refusal::Store(other)),
    }
}
