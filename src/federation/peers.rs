//! Registering peers: an allow-list of instance id, URL and pinned public key.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::check_instance_id;
use super::client::{Fetched, PeerClient};
use crate::domain::Timestamp;
use crate::store::{Db, federation as store};

/// What a peer says about itself at `/.well-known/ozg-registry`.
#[derive(Debug, Clone, serde::Deserialize)]
pub struct InstanceInfo {
    pub id: String,
    #[serde(rename = "publicKey")]
    pub public_key: serde_json::Value,
}

/// A peer's base URL: http or https, a host, no user or password, no query and no fragment (the
/// feed's own query is appended to it). Returned without a trailing slash.
pub fn check_base_url(url: &str) -> Result<String, String> {
    let example = "the peer's http(s) base URL without query or fragment, e.g. https://ozg.example.de";
    let trimmed = url.trim();
    let parsed = reqwest::Url::parse(trimmed).map_err(|e| format!("--url {trimmed:?}: {e}; give {example}"))?;
    let problem = if !matches!(parsed.scheme(), "http" | "https") {
        Some(format!("the scheme {:?} is not http or https", parsed.scheme()))
    } else if parsed.host_str().is_none_or(str::is_empty) {
        Some("it names no host".to_owned())
    } else if !parsed.username().is_empty() || parsed.password().is_some() {
        Some("it holds a user name or password".to_owned())
    } else if parsed.query().is_some() || trimmed.contains('?') {
        Some("it has a query string (?…)".to_owned())
    } else if parsed.fragment().is_some() || trimmed.contains('#') {
        Some("it has a fragment (#…)".to_owned())
    } else {
        None
    };
    match problem {
        Some(p) => Err(format!("--url {trimmed:?}: {p}; give {example}")),
        None => Ok(trimmed.trim_end_matches('/').to_owned()),
    }
}

/// Reads a peer's self-description.
pub async fn fetch_info(client: &PeerClient, base_url: &str) -> Result<InstanceInfo, String> {
    let url = format!("{}/.well-known/ozg-registry", base_url.trim_end_matches('/'));
    match client.get(&url, None).await {
        Ok(Fetched::Body(b)) => {
            serde_json::from_slice(&b).map_err(|e| format!("{url}: not an ozg-registry description: {e}"))
        }
        Ok(Fetched::NotModified) => Err(format!("{url}: unexpected 304")),
        Err(e) => Err(format!("{url}: {}", e.message)),
    }
}

/// The raw Ed25519 key of a JWK (`kty` OKP, `crv` Ed25519), as base64url.
pub fn ed25519_x(jwk: &serde_json::Value) -> Result<String, String> {
    if jwk["kty"] != "OKP" || jwk["crv"] != "Ed25519" {
        return Err("the public key is not an Ed25519 JWK".into());
    }
    let x = jwk["x"].as_str().ok_or("the JWK has no x")?;
    check_key(x)?;
    Ok(x.to_owned())
}

/// A public key given as base64url of the 32 raw bytes.
pub fn check_key(x: &str) -> Result<(), String> {
    match URL_SAFE_NO_PAD.decode(x) {
        Ok(b) if b.len() == 32 => Ok(()),
        _ => Err(format!("public key {x:?}: 32 bytes in base64url without padding (the JWK's x)")),
    }
}

/// Registers a peer. The instance id must be the one the peer reports; the key is the one given,
/// or, with `trust_fetched`, the one the peer serves now (pinned from then on).
pub async fn register(
    conn: &mut Db,
    client: &PeerClient,
    base_url: &str,
    instance_id: &str,
    public_key: Option<&str>,
    trust_fetched: bool,
) -> Result<String, String> {
    check_instance_id(instance_id)?;
    let base = check_base_url(base_url)?;
    let base = base.as_str();
    // `federationStatus.peers` is priced at this many (see graphql::limits).
    let max = crate::graphql::limits::MAX_PEERS as usize;
    if store::peers(conn).map_err(|e| e.to_string())?.len() >= max {
        return Err(format!("{max} peers are registered; a registry replicates from at most {max}"));
    }
    let info = fetch_info(client, base).await?;
    if info.id != instance_id {
        return Err(format!("{base} is instance {:?}, not {instance_id:?}", info.id));
    }
    let served = ed25519_x(&info.public_key)?;
    let key = match public_key {
        Some(k) => {
            check_key(k)?;
            if k != served {
                return Err(format!("{base} serves a different key than the one given ({served})"));
            }
            k.to_owned()
        }
        None if trust_fetched => served,
        None => {
            return Err(format!(
                "give the peer's key with --public-key (its operator can read it at {base}/.well-known/ozg-registry), \
                 or pin the key it serves now with --trust-fetched-key: {served}"
            ));
        }
    };
    if store::peer(conn, instance_id).map_err(|e| e.to_string())?.is_some() {
        return Err(format!("{instance_id} is registered already; remove it first to change it"));
    }
    store::insert_peer(conn, instance_id, base, &key, &Timestamp::now().to_db()).map_err(|e| e.to_string())?;
    Ok(format!("peer {instance_id} at {base} registered with key {key}"))
}
