//! The instance's own signing keys (Ed25519, EdDSA) and the tokens it issues.

use std::path::PathBuf;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use ed25519_dalek::SigningKey;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Role, Scope};
use crate::domain::Timestamp;
use crate::error::{AppError, AppResult};
use crate::store::{Db, auth as store};

/// The PKCS#8 v1 prefix of an Ed25519 private key (RFC 8410); the 32-byte seed follows.
const PKCS8_ED25519_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

/// The `typ` header of access tokens (RFC 9068); local tokens must carry it.
pub const ACCESS_TOKEN_TYP: &str = "at+jwt";

/// How tokens are issued and checked on this instance (read at start, see `crate::settings`).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// `iss` of the tokens this instance issues.
    pub issuer: String,
    /// `aud` every accepted token must name.
    pub audience: String,
    /// An Ed25519 private key (PKCS#8 PEM) to sign with instead of the generated one.
    pub signing_key_file: Option<PathBuf>,
    /// How soon an unknown `kid` may trigger another JWKS download from the same issuer.
    pub jwks_refresh_interval: Duration,
    /// Clock leeway for `exp` and `nbf`, in seconds (at most 30).
    pub leeway: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: "ozg-registry".into(),
            audience: "ozg-registry".into(),
            signing_key_file: None,
            jwks_refresh_interval: Duration::from_secs(10),
            leeway: 30,
        }
    }
}

/// A key pair of this instance.
pub struct LocalKey {
    pub kid: String,
    pub encoding: EncodingKey,
    /// The raw 32-byte public key.
    pub public: Vec<u8>,
}

impl LocalKey {
    fn from_seed(seed: &[u8; 32]) -> Self {
        let public = SigningKey::from_bytes(seed).verifying_key().to_bytes().to_vec();
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(seed);
        let kid = Sha256::digest(&public).iter().take(8).map(|b| format!("{b:02x}")).collect();
        LocalKey { kid, encoding: EncodingKey::from_ed_der(&der), public }
    }

    /// A new random key, with its PKCS#8 DER in base64 for storing.
    pub fn generate() -> AppResult<(LocalKey, String)> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(key_error)?;
        let mut der = PKCS8_ED25519_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        Ok((LocalKey::from_seed(&seed), STANDARD.encode(&der)))
    }

    /// A key stored as PKCS#8 DER in base64.
    pub fn from_stored(pkcs8: &str) -> AppResult<LocalKey> {
        let der = STANDARD.decode(pkcs8).map_err(key_error)?;
        let seed = seed_from_pkcs8(&der).ok_or_else(|| key_error("stored key is not Ed25519 PKCS#8"))?;
        Ok(LocalKey::from_seed(&seed))
    }

    /// A key from a PKCS#8 PEM file.
    pub fn from_pem_file(path: &std::path::Path) -> AppResult<LocalKey> {
        let pem = std::fs::read_to_string(path).map_err(|e| key_error(format!("{}: {e}", path.display())))?;
        let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(body.trim()).map_err(key_error)?;
        let seed = seed_from_pkcs8(&der).ok_or_else(|| key_error("expected an Ed25519 PKCS#8 private key"))?;
        Ok(LocalKey::from_seed(&seed))
    }

    /// The raw public key, base64url without padding (the JWK's `x`).
    pub fn public_x(&self) -> String {
        URL_SAFE_NO_PAD.encode(&self.public)
    }

    pub fn decoding(&self) -> DecodingKey {
        DecodingKey::from_ed_der(&self.public)
    }

    /// The public key as a JWK, for `/.well-known/jwks.json`.
    pub fn jwk(&self) -> serde_json::Value {
        serde_json::json!({
            "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig",
            "kid": self.kid, "x": URL_SAFE_NO_PAD.encode(&self.public)
        })
    }
}

fn seed_from_pkcs8(der: &[u8]) -> Option<[u8; 32]> {
    (der.len() == 48 && der[..16] == PKCS8_ED25519_PREFIX).then(|| der[16..].try_into().ok()).flatten()
}

fn key_error(e: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("signing key: {e}"))
}

/// The key to sign with: the configured file, else the newest key stored in the database (one is
/// generated and stored on first use). Private keys never leave the database or the file.
pub fn signing_key(conn: &mut Db, cfg: &AuthConfig) -> AppResult<LocalKey> {
    if let Some(path) = &cfg.signing_key_file {
        return LocalKey::from_pem_file(path);
    }
    if let Some(row) = store::signing_keys(conn)?.into_iter().next() {
        return LocalKey::from_stored(&row.private_key);
    }
    let (key, pkcs8) = LocalKey::generate()?;
    store::insert_signing_key(conn, &key.kid, &pkcs8, &STANDARD.encode(&key.public), &Timestamp::now().to_db())?;
    Ok(key)
}

/// The public keys that verify local tokens: the configured key, and every stored one (so tokens
/// signed before a key change stay valid until they expire).
pub fn verification_keys(conn: &mut Db, cfg: &AuthConfig) -> AppResult<Vec<LocalKey>> {
    let mut keys = Vec::new();
    if cfg.signing_key_file.is_some() {
        keys.push(signing_key(conn, cfg)?);
    }
    for row in store::signing_keys(conn)? {
        let der = STANDARD.decode(&row.private_key).map_err(key_error)?;
        if let Some(seed) = seed_from_pkcs8(&der) {
            keys.push(LocalKey::from_seed(&seed));
        }
    }
    Ok(keys)
}

/// Claims of the tokens this instance issues.
#[derive(Debug, Serialize, Deserialize)]
pub struct LocalClaims {
    pub iss: String,
    pub aud: String,
    pub sub: String,
    pub iat: i64,
    pub nbf: i64,
    pub exp: i64,
    pub jti: String,
    pub role: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub org: Option<i32>,
    #[serde(default)]
    pub scope: Vec<String>,
}

/// What to put in a new token.
pub struct TokenRequest {
    pub subject: String,
    pub role: Role,
    pub organisation_id: Option<crate::domain::OrganisationId>,
    pub scope: Scope,
    pub ttl: Duration,
}

/// What a token or sign-in link may grant: a municipality is bound to one organisation, a coordinator
/// to an organisation and a scope; anonymous and system are never granted.
pub fn check_grant(role: Role, organisation_id: Option<crate::domain::OrganisationId>, scope: &Scope) -> AppResult<()> {
    if matches!(role, Role::Municipality) && organisation_id.is_none() {
        return Err(AppError::bad_input("org", "org: a municipality token is bound to one organisation"));
    }
    if matches!(role, Role::Coordinator) && (organisation_id.is_none() || scope.is_empty()) {
        return Err(AppError::bad_input("scope", "scope: a coordinator token needs an organisation and a scope"));
    }
    if matches!(role, Role::Anonymous | Role::System) {
        return Err(AppError::bad_input("role", "role: allowed are municipality, coordinator, admin"));
    }
    Ok(())
}

/// Issues a signed token and records it (without the token itself) for audit and revocation.
pub fn issue(conn: &mut Db, cfg: &AuthConfig, req: &TokenRequest) -> AppResult<(String, LocalClaims)> {
    check_grant(req.role, req.organisation_id, &req.scope)?;
    let key = signing_key(conn, cfg)?;
    let now = jsonwebtoken::get_current_timestamp() as i64;
    let mut jti_bytes = [0u8; 16];
    getrandom::fill(&mut jti_bytes).map_err(key_error)?;
    let claims = LocalClaims {
        iss: cfg.issuer.clone(),
        aud: cfg.audience.clone(),
        sub: req.subject.clone(),
        iat: now,
        nbf: now,
        exp: now + req.ttl.as_secs() as i64,
        jti: jti_bytes.iter().map(|b| format!("{b:02x}")).collect(),
        role: req.role.code().to_owned(),
        org: req.organisation_id.map(crate::domain::RecordId::get),
        scope: req.scope.items(),
    };
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(key.kid.clone());
    header.typ = Some(ACCESS_TOKEN_TYP.to_owned());
    let token = jsonwebtoken::encode(&header, &claims, &key.encoding).map_err(key_error)?;
    let ts = |secs: i64| chrono::DateTime::from_timestamp(secs, 0).map(|t| t.to_rfc3339()).unwrap_or_default();
    store::insert_issued_token(
        conn,
        &store::NewIssuedToken {
            jti: &claims.jti,
            subject: &claims.sub,
            role: &claims.role,
            organisation_id: claims.org.map(crate::domain::OrganisationId::from),
            scope: &claims.scope.join(" "),
            issued_at: &ts(claims.iat),
            expires_at: &ts(claims.exp),
        },
    )?;
    Ok((token, claims))
}
