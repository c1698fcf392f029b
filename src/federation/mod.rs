//! Federation: registries replicate each other's public records. Each record has one home (its
//! origin instance); replicated records are read-only here. A registry publishes its own records
//! in a signed change feed (`feed`), pulls its peers' feeds (`client`, `sync`) and imports them
//! whole page by page (`import`).

pub mod client;
pub mod feed;
pub mod http;
pub mod import;
pub mod peers;
pub mod sync;

use std::path::PathBuf;
use std::time::Duration;

use crate::auth::keys::LocalKey;
use crate::domain::Timestamp;
use crate::error::{AppError, AppResult};
use crate::store::{Db, federation as store};

/// What an operator configures (environment variables read at start by `crate::settings`, see the README).
#[derive(Debug, Clone)]
pub struct FederationConfig {
    /// `OZG_REGISTRY_INSTANCE_ID`: fixed at the first start; a different value later is refused.
    pub instance_id: Option<String>,
    /// `OZG_REGISTRY_INSTANCE_NAME`: shown to peers.
    pub instance_name: Option<String>,
    /// `OZG_REGISTRY_PUBLIC_URL`: the base URL peers reach this instance at (else the request's).
    pub public_url: Option<String>,
    /// `OZG_REGISTRY_FEDERATION_KEY_FILE`: an Ed25519 PKCS#8 PEM key to sign the feed with.
    pub key_file: Option<PathBuf>,
    /// `OZG_REGISTRY_SYNC_INTERVAL_SECS` (0: no background sync).
    pub sync_interval: Duration,
    /// `OZG_REGISTRY_RECONCILE_INTERVAL_SECS`: how often a peer's whole feed is read again.
    pub reconcile_interval: Duration,
    /// `OZG_REGISTRY_PEER_TIMEOUT_SECS`: the longest silence from a peer while reading its answer.
    pub peer_timeout: Duration,
    /// `OZG_REGISTRY_JOB_LEASE_SECS`: how long a process's hold on the background sync lasts
    /// unless renewed; after a holder dies another process takes over within this time.
    pub lease_ttl: Duration,
}

impl Default for FederationConfig {
    fn default() -> Self {
        FederationConfig {
            instance_id: None,
            instance_name: None,
            public_url: None,
            key_file: None,
            sync_interval: Duration::from_secs(30),
            reconcile_interval: Duration::from_secs(3600),
            peer_timeout: Duration::from_secs(10),
            lease_ttl: Duration::from_secs(30),
        }
    }
}

/// Instance ids are short lowercase names like `nrw.kdn`: letters, digits, `.` and `-`.
pub fn check_instance_id(id: &str) -> Result<(), String> {
    let ok = (2..=63).contains(&id.len())
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && id.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(format!(
            "instance id {id:?}: 2 to 63 characters of a-z, 0-9, '.' and '-', starting with a letter or digit (e.g. nrw.kdn)"
        ))
    }
}

/// This instance: its id and feed signing key.
pub struct Identity {
    pub instance_id: String,
    pub key: LocalKey,
}

/// The stored identity, created on first use: the configured id (or a generated one) and a new
/// key (or the configured key file). A configured id that differs from the stored one is an error:
/// the records homed here are known to peers under the stored id.
pub fn identity(conn: &mut Db, cfg: &FederationConfig) -> AppResult<Identity> {
    let row = match store::identity(conn)? {
        Some(row) => row,
        None => {
            let id = match &cfg.instance_id {
                Some(id) => id.clone(),
                None => {
                    let mut b = [0u8; 4];
                    getrandom::fill(&mut b).map_err(|e| AppError::Internal(e.to_string()))?;
                    format!("registry-{}", b.iter().map(|x| format!("{x:02x}")).collect::<String>())
                }
            };
            let (key, pkcs8) = LocalKey::generate()?;
            crate::store::write_tx(conn, |c| {
                Ok(store::insert_identity(c, &id, &pkcs8, &key.public_x(), &Timestamp::now().to_db())?)
            })?;
            store::identity(conn)?.ok_or_else(|| AppError::Internal("identity not stored".into()))?
        }
    };
    if let Some(configured) = &cfg.instance_id
        && configured != &row.instance_id
    {
        return Err(AppError::Internal(format!(
            "OZG_REGISTRY_INSTANCE_ID is {configured:?} but this database belongs to instance {:?}; \
             change it with `ozg-registry federation identity --instance-id … --force`",
            row.instance_id
        )));
    }
    let key = match &cfg.key_file {
        Some(path) => LocalKey::from_pem_file(path)?,
        None => LocalKey::from_stored(&row.private_key)?,
    };
    Ok(Identity { instance_id: row.instance_id, key })
}

/// The global id of a record: `<origin>/<type>/<key at home>`, e.g. `nrw.kdn/project/einbuergerung`.
pub fn global_id(origin: &str, kind: &str, key: &str) -> String {
    format!("{origin}/{kind}/{key}")
}

/// The origin part of a global id.
pub fn origin_of(global_id: &str) -> Option<&str> {
    global_id.split('/').next().filter(|o| !o.is_empty())
}
