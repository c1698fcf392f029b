//! This registry's place in the federation and its peers' sync status.

use juniper::graphql_object;

use super::super::context::Ctx;
use super::*;

/// This registry in the federation: its instance id and the peers it replicates from.
pub struct FederationStatus {
    pub instance_id: String,
    pub peers: Vec<Peer>,
}

#[graphql_object(context = Ctx)]
impl FederationStatus {
    /// The id records homed here carry as their `origin`.
    fn instance_id(&self) -> &str {
        &self.instance_id
    }
    fn peers(&self) -> &[Peer] {
        &self.peers
    }
}

/// A registry this one replicates from, with the state of its sync.
pub struct Peer {
    pub row: crate::store::federation::PeerRow,
    pub records: i64,
    pub orphaned: i64,
}

fn clamp(n: i64) -> i32 {
    n.clamp(0, i64::from(i32::MAX)) as i32
}

#[graphql_object(context = Ctx)]
impl Peer {
    fn instance_id(&self) -> &str {
        &self.row.instance_id
    }
    fn url(&self) -> &str {
        &self.row.base_url
    }
    /// The pinned Ed25519 public key (base64url) its feed entries must be signed with.
    fn public_key(&self) -> &str {
        &self.row.public_key
    }
    /// Where the next sync continues in the peer's feed.
    fn cursor(&self) -> String {
        self.row.feed_cursor.to_string()
    }
    fn last_attempt_at(&self) -> Option<&str> {
        self.row.last_attempt_at.as_deref()
    }
    fn last_success_at(&self) -> Option<&str> {
        self.row.last_success_at.as_deref()
    }
    /// The last error (kept after a later success, with its time): a fixed message per
    /// `lastErrorCode`; admins see the detail instead.
    fn last_error(&self, context: &Ctx) -> Option<String> {
        if context.actor.role == crate::auth::Role::Admin {
            return self.row.last_error.clone();
        }
        match (self.last_error_code(), &self.row.last_error) {
            (Some(c), _) => Some(c.label().to_owned()),
            (None, Some(_)) => Some("The last sync with this peer failed.".to_owned()),
            (None, None) => None,
        }
    }
    /// Why the last sync failed, as a stable code (kept with `lastError`).
    fn last_error_code(&self) -> Option<PeerErrorCode> {
        self.row.last_error_code.as_deref().and_then(|c| PeerErrorCode::parse(c).ok())
    }
    fn last_error_at(&self) -> Option<&str> {
        self.row.last_error_at.as_deref()
    }
    /// Failed rounds in a row; from 3 on, the peer rests until `circuitOpenUntil`.
    fn consecutive_failures(&self) -> i32 {
        self.row.consecutive_failures
    }
    fn circuit_open_until(&self) -> Option<&str> {
        self.row.open_until.as_deref()
    }
    /// Records taken over from this peer, all time.
    fn imported(&self) -> i32 {
        clamp(self.row.imported)
    }
    /// Pages refused (bad signature, wrong origin, malformed).
    fn rejected_pages(&self) -> i32 {
        clamp(self.row.rejected_pages)
    }
    /// Replicated records held from this peer now.
    fn records(&self) -> i32 {
        clamp(self.records)
    }
    /// Of those, the ones the peer no longer publishes (found by the last full reconcile).
    fn orphaned(&self) -> i32 {
        clamp(self.orphaned)
    }
    fn last_reconcile_at(&self) -> Option<&str> {
        self.row.last_reconcile_at.as_deref()
    }
}
