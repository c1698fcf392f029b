//! Checking bearer tokens (RFC 8725): the algorithm is pinned per key and never taken from the
//! header; `exp`, `nbf`, `iss`, `aud` and `sub` are required and checked with at most 30 s leeway;
//! `typ` is checked; keys of external issuers come from their JWKS, cached and refreshed when an
//! unknown `kid` appears. A header that is present but not valid is refused, never read as anonymous.

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use super::keys::{ACCESS_TOKEN_TYP, AuthConfig, LocalClaims, verification_keys};
use super::{Actor, Role, Scope};
use crate::store::rows::IssuerRow;
use crate::store::{Db, DbPool, auth as store, read};

/// Why a token was refused; said to the client in `WWW-Authenticate` and the response body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuthError(pub String);

fn refuse<T>(reason: impl Into<String>) -> Result<T, AuthError> {
    Err(AuthError(reason.into()))
}

/// Largest token accepted.
const MAX_TOKEN: usize = 8 * 1024;
/// Largest JWKS document read from an issuer.
const MAX_JWKS: usize = 256 * 1024;

/// How the organisation of an external token is named.
#[derive(Debug, Clone)]
enum OrgClaim {
    None,
    Id(i32),
    Ags(String),
    Slug(String),
}

/// A token whose signature and claims are valid; what remains needs the database (revocation, the
/// organisation it names).
#[derive(Debug, Clone)]
pub struct Verified {
    subject: String,
    role: Role,
    org: OrgClaim,
    scope: Scope,
    issuer: String,
    jti: Option<String>,
}

impl Verified {
    /// Finishes the check on a connection: a revoked token or an unknown organisation is refused
    /// (the inner error, 401); the outer error is a database failure (503: the token may be fine).
    pub fn resolve(self, conn: &mut Db) -> Result<Result<Actor, AuthError>, String> {
        let db = |e: diesel::result::Error| format!("checking a token: {e}");
        if let Some(jti) = &self.jti
            && store::is_revoked(conn, jti).map_err(db)?
        {
            return Ok(refuse("the token has been revoked"));
        }
        let org = match &self.org {
            OrgClaim::None => None,
            OrgClaim::Id(id) => read::organisation_by_id(conn, (*id).into()).map_err(db)?,
            OrgClaim::Ags(a) => read::organisation_by_ags(conn, a).map_err(db)?,
            OrgClaim::Slug(s) => read::organisation_by_slug(conn, s).map_err(db)?,
        };
        let organisation_id = match (&self.org, org) {
            (OrgClaim::None, _) => None,
            (_, Some(o)) => Some(o.id),
            (_, None) => return Ok(refuse("the token names an organisation this registry does not know")),
        };
        match self.role {
            Role::Municipality if organisation_id.is_none() => {
                return Ok(refuse("a municipality token must name its organisation"));
            }
            Role::Coordinator if self.scope.is_empty() => return Ok(refuse("a coordinator token must carry a scope")),
            _ => {}
        }
        Ok(Ok(Actor {
            subject: self.subject,
            role: self.role,
            organisation_id,
            scope: self.scope,
            issuer: Some(self.issuer),
        }))
    }
}

/// What the header said.
pub enum Credentials {
    Anonymous,
    Token(Verified),
}

struct IssuerKeys {
    keys: HashMap<String, (DecodingKey, Algorithm)>,
    fetched: Option<Instant>,
}

pub struct Authenticator {
    cfg: AuthConfig,
    pool: DbPool,
    http: reqwest::Client,
    local: RwLock<HashMap<String, DecodingKey>>,
    issuers: RwLock<(Option<Instant>, Vec<IssuerRow>)>,
    /// The external issuers' keys; never locked across a download.
    jwks: Mutex<HashMap<String, IssuerKeys>>,
    /// One download at a time per issuer: requests needing the same issuer's new keys wait for
    /// it, and no other request waits on a slow identity provider.
    fetching: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    refresh_gate: Mutex<HashMap<String, Instant>>,
}

fn leeway_validation(alg: Algorithm, cfg_leeway: u64, iss: &str, aud: &str) -> Validation {
    let mut v = Validation::new(alg);
    v.leeway = cfg_leeway.min(30);
    v.validate_exp = true;
    v.validate_nbf = true;
    v.validate_aud = true;
    v.set_audience(&[aud]);
    v.set_issuer(&[iss]);
    v.set_required_spec_claims(&["exp", "nbf", "iss", "aud", "sub"]);
    v
}

fn describe(e: jsonwebtoken::errors::Error) -> String {
    use jsonwebtoken::errors::ErrorKind::*;
    match e.kind() {
        ExpiredSignature => "the token has expired".into(),
        ImmatureSignature => "the token is not valid yet (nbf)".into(),
        InvalidAudience => "the token is not meant for this registry (aud)".into(),
        InvalidIssuer => "the token's issuer is not accepted (iss)".into(),
        InvalidSignature => "the token's signature is not valid".into(),
        InvalidAlgorithm => "the token's algorithm is not the one pinned for its key".into(),
        MissingRequiredClaim(c) => format!("the token lacks the required claim {c:?}"),
        _ => "the token is malformed or its signature is not valid".into(),
    }
}

fn algorithm_of(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    if let Some(a) = jwk.common.key_algorithm {
        return Algorithm::from_str(&a.to_string()).ok();
    }
    match &jwk.algorithm {
        AlgorithmParameters::OctetKeyPair(_) => Some(Algorithm::EdDSA),
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => Some(Algorithm::ES256),
            EllipticCurve::P384 => Some(Algorithm::ES384),
            _ => None,
        },
        AlgorithmParameters::RSA(_) => Some(Algorithm::RS256),
        _ => None,
    }
}

fn claim_string(claims: &Value, name: &str) -> Option<String> {
    match claims.get(name)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Authenticator {
    pub fn new(cfg: AuthConfig, pool: DbPool) -> Result<Self, String> {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(5))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        let a = Authenticator {
            cfg,
            pool,
            http,
            local: RwLock::new(HashMap::new()),
            issuers: RwLock::new((None, Vec::new())),
            jwks: Mutex::new(HashMap::new()),
            fetching: Mutex::new(HashMap::new()),
            refresh_gate: Mutex::new(HashMap::new()),
        };
        a.reload_local_keys()?;
        Ok(a)
    }

    pub fn config(&self) -> &AuthConfig {
        &self.cfg
    }

    fn reload_local_keys(&self) -> Result<(), String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let keys = verification_keys(&mut conn, &self.cfg).map_err(|e| e.to_string())?;
        let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
        local.clear();
        for k in keys {
            local.insert(k.kid.clone(), k.decoding());
        }
        Ok(())
    }

    /// Runs a database step off the async executor.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Db) -> Result<T, String> + Send + 'static,
    ) -> Result<T, AuthError> {
        let pool = self.pool.clone();
        actix_web::web::block(crate::telemetry::carry_span(move || {
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            f(&mut conn)
        }))
        .await
        .map_err(|e| e.to_string())
        .and_then(|r| r)
        .map_err(|e| {
            crate::error::log_internal(&e);
            AuthError("the token could not be checked; try again".into())
        })
    }

    /// Checks the `Authorization` header: none means anonymous; anything else must be a valid token.
    pub async fn authenticate(&self, header: Option<&str>) -> Result<Credentials, AuthError> {
        let Some(h) = header else { return Ok(Credentials::Anonymous) };
        let token = match h.split_once(' ') {
            Some((scheme, t)) if scheme.eq_ignore_ascii_case("bearer") && !t.trim().is_empty() => t.trim(),
            _ => return refuse("the Authorization header must be \"Bearer <token>\""),
        };
        if token.len() > MAX_TOKEN {
            return refuse("the token is too long");
        }
        let header =
            jsonwebtoken::decode_header(token).map_err(|_| AuthError("the token is not a well-formed JWT".into()))?;
        // Only to choose the issuer; nothing of it is trusted before the signature is checked.
        let unverified: Value = jsonwebtoken::dangerous::insecure_decode_claims(token)
            .map_err(|_| AuthError("the token is not a well-formed JWT".into()))?;
        let Some(iss) = unverified.get("iss").and_then(Value::as_str).map(str::to_owned) else {
            return refuse("the token lacks the required claim \"iss\"");
        };
        let Some(kid) = header.kid.clone() else { return refuse("the token lacks a key id (kid)") };
        let typ = header.typ.clone().unwrap_or_default();
        if iss == self.cfg.issuer {
            if !typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP) {
                return refuse(format!("the token's typ must be {ACCESS_TOKEN_TYP:?}"));
            }
            self.verify_local(token, &kid).await
        } else {
            if !(typ.eq_ignore_ascii_case("JWT") || typ.eq_ignore_ascii_case(ACCESS_TOKEN_TYP)) {
                return refuse("the token's typ must be \"JWT\" or \"at+jwt\"");
            }
            self.verify_external(token, &iss, &kid).await
        }
    }

    async fn verify_local(&self, token: &str, kid: &str) -> Result<Credentials, AuthError> {
        let known = self.local.read().unwrap_or_else(PoisonError::into_inner).contains_key(kid);
        if !known && self.may_refresh(&self.cfg.issuer) {
            let cfg = self.cfg.clone();
            let keys = self.blocking(move |c| verification_keys(c, &cfg).map_err(|e| e.to_string())).await?;
            let mut local = self.local.write().unwrap_or_else(PoisonError::into_inner);
            for k in keys {
                local.insert(k.kid.clone(), k.decoding());
            }
        }
        let key = match self.local.read().unwrap_or_else(PoisonError::into_inner).get(kid) {
            Some(k) => k.clone(),
            None => return refuse("the token's key (kid) is not known"),
        };
        let v = leeway_validation(Algorithm::EdDSA, self.cfg.leeway, &self.cfg.issuer, &self.cfg.audience);
        let data = jsonwebtoken::decode::<LocalClaims>(token, &key, &v).map_err(|e| AuthError(describe(e)))?;
        let c = data.claims;
        let Some(role) = Role::parse_token_role(&c.role) else {
            return refuse("the token's role is not one of municipality, coordinator, admin");
        };
        let scope = Scope::parse(c.scope.iter().map(String::as_str)).map_err(AuthError)?;
        let org = c.org.map_or(OrgClaim::None, OrgClaim::Id);
        Ok(Credentials::Token(Verified { subject: c.sub, role, org, scope, issuer: c.iss, jti: Some(c.jti) }))
    }

    /// At most one refresh per issuer within the configured interval, so unknown key ids cannot make
    /// us hammer an identity provider.
    fn may_refresh(&self, issuer: &str) -> bool {
        let mut gate = self.refresh_gate.lock().unwrap_or_else(PoisonError::into_inner);
        let now = Instant::now();
        match gate.get(issuer) {
            Some(last) if now.duration_since(*last) < self.cfg.jwks_refresh_interval => false,
            _ => {
                gate.insert(issuer.to_owned(), now);
                true
            }
        }
    }

    async fn issuer(&self, iss: &str) -> Result<Option<IssuerRow>, AuthError> {
        let find = |list: &[IssuerRow]| list.iter().find(|i| i.issuer == iss).cloned();
        {
            let (loaded, list) = &*self.issuers.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(i) = find(list) {
                return Ok(Some(i));
            }
            if loaded.is_some_and(|t| t.elapsed() < Duration::from_secs(2)) {
                return Ok(None);
            }
        }
        let list = self.blocking(|c| store::issuers(c).map_err(|e| e.to_string())).await?;
        let found = find(&list);
        *self.issuers.write().unwrap_or_else(PoisonError::into_inner) = (Some(Instant::now()), list);
        Ok(found)
    }

    async fn fetch_jwks(&self, issuer: &IssuerRow) -> Result<HashMap<String, (DecodingKey, Algorithm)>, AuthError> {
        let fail = |what: &str| {
            tracing::warn!(
                issuer = issuer.issuer.as_str(),
                jwks_url = issuer.jwks_url.as_str(),
                "JWKS not fetched: {what}"
            );
            AuthError("the issuer's keys could not be fetched".into())
        };
        let mut resp = self.http.get(&issuer.jwks_url).send().await.map_err(|e| fail(&e.to_string()))?;
        if !resp.status().is_success() {
            return Err(fail(&format!("HTTP {}", resp.status())));
        }
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| fail(&e.to_string()))? {
            if body.len() + chunk.len() > MAX_JWKS {
                return Err(fail("larger than 256 KiB"));
            }
            body.extend_from_slice(&chunk);
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| fail(&e.to_string()))?;
        let allowed: Vec<Algorithm> =
            issuer.algorithms.split(',').filter_map(|a| Algorithm::from_str(a.trim()).ok()).collect();
        let mut keys = HashMap::new();
        for jwk in &set.keys {
            // Symmetric keys never belong in a published key set.
            if matches!(jwk.algorithm, AlgorithmParameters::OctetKey(_)) {
                continue;
            }
            let (Some(kid), Some(alg)) = (jwk.common.key_id.clone(), algorithm_of(jwk)) else { continue };
            if !allowed.contains(&alg) {
                continue;
            }
            if let Ok(k) = DecodingKey::from_jwk(jwk) {
                keys.insert(kid, (k, alg));
            }
        }
        Ok(keys)
    }

    /// A key of an issuer from the cache, or when its keys were last downloaded (`None`: never).
    #[allow(clippy::type_complexity)]
    fn cached_key(&self, issuer: &str, kid: &str) -> Result<(DecodingKey, Algorithm), Option<Instant>> {
        let cache = self.jwks.lock().unwrap_or_else(PoisonError::into_inner);
        match cache.get(issuer) {
            Some(e) => e.keys.get(kid).map(|(k, a)| (k.clone(), *a)).ok_or(e.fetched),
            None => Err(None),
        }
    }

    async fn verify_external(&self, token: &str, iss: &str, kid: &str) -> Result<Credentials, AuthError> {
        self.verify_external_for(token, iss, kid, None).await.map(|(v, _)| Credentials::Token(v))
    }

    /// Checks an ID token from an OpenID Connect sign-in: signed by the issuer's keys, issued by
    /// `iss` to `client_id` (its `aud`), within its time, and carrying the sign-in's `nonce`. Its
    /// claims name the role, organisation and scope as the issuer's access tokens do.
    pub async fn verify_id_token(
        &self,
        token: &str,
        iss: &str,
        client_id: &str,
        nonce: &str,
    ) -> Result<Verified, AuthError> {
        if token.len() > MAX_TOKEN {
            return refuse("the ID token is too long");
        }
        let header = jsonwebtoken::decode_header(token)
            .map_err(|_| AuthError("the ID token is not a well-formed JWT".into()))?;
        let Some(kid) = header.kid else { return refuse("the ID token lacks a key id (kid)") };
        let (verified, claims) = self.verify_external_for(token, iss, &kid, Some(client_id)).await?;
        if claims.get("nonce").and_then(Value::as_str) != Some(nonce) {
            return refuse("the ID token's nonce does not belong to this sign-in");
        }
        Ok(verified)
    }

    /// Verifies a token of an external issuer; `audience` replaces the issuer's configured one (an
    /// ID token is addressed to the client). Returns the verified identity and all claims.
    async fn verify_external_for(
        &self,
        token: &str,
        iss: &str,
        kid: &str,
        audience: Option<&str>,
    ) -> Result<(Verified, Value), AuthError> {
        let Some(issuer) = self.issuer(iss).await? else {
            return refuse("the token's issuer is not accepted (iss)");
        };
        let (key, alg) = match self.cached_key(&issuer.issuer, kid) {
            Ok(found) => found,
            Err(fetched_before) => {
                // Only requests for this issuer's unknown key wait here, one download at a time.
                let gate = {
                    let mut f = self.fetching.lock().unwrap_or_else(PoisonError::into_inner);
                    f.entry(issuer.issuer.clone()).or_default().clone()
                };
                let _one_download = gate.lock().await;
                match self.cached_key(&issuer.issuer, kid) {
                    Ok(found) => found,
                    Err(fetched) => {
                        // Another request may have downloaded the keys while this one waited.
                        let fresh = fetched != fetched_before;
                        if !fresh && (fetched.is_none() || self.may_refresh(&issuer.issuer)) {
                            let keys = self.fetch_jwks(&issuer).await?;
                            let mut cache = self.jwks.lock().unwrap_or_else(PoisonError::into_inner);
                            cache.insert(issuer.issuer.clone(), IssuerKeys { keys, fetched: Some(Instant::now()) });
                        }
                        match self.cached_key(&issuer.issuer, kid) {
                            Ok(found) => found,
                            Err(_) => return refuse("the token's key (kid) is not among the issuer's keys"),
                        }
                    }
                }
            }
        };
        let v = leeway_validation(alg, self.cfg.leeway, &issuer.issuer, audience.unwrap_or(&issuer.audience));
        let data = jsonwebtoken::decode::<Value>(token, &key, &v).map_err(|e| AuthError(describe(e)))?;
        let c = data.claims;
        let role_text = claim_string(&c, &issuer.role_claim).unwrap_or_default();
        let Some(role) = Role::parse_token_role(&role_text) else {
            return refuse(format!(
                "the token's {:?} claim must be one of municipality, coordinator, admin",
                issuer.role_claim
            ));
        };
        let org = match claim_string(&c, &issuer.organisation_claim) {
            None => OrgClaim::None,
            Some(o) if o.len() == 8 && o.bytes().all(|b| b.is_ascii_digit()) => OrgClaim::Ags(o),
            Some(o) => match o.strip_prefix("ags:") {
                Some(a) => OrgClaim::Ags(a.to_owned()),
                None => OrgClaim::Slug(o),
            },
        };
        let scope = match issuer.scope_claim.as_deref().and_then(|s| c.get(s)) {
            None => Scope::default(),
            Some(Value::Array(items)) => Scope::parse(items.iter().filter_map(Value::as_str)).map_err(AuthError)?,
            Some(Value::String(s)) => Scope::parse(s.split_whitespace()).map_err(AuthError)?,
            Some(_) => return refuse("the token's scope claim must be a list or a space-separated string"),
        };
        let subject = claim_string(&c, "sub").unwrap_or_default();
        let jti = claim_string(&c, "jti");
        Ok((Verified { subject, role, org, scope, issuer: issuer.issuer.clone(), jti }, c))
    }

    /// The public keys of this instance as a JWKS document.
    pub fn jwks(&self) -> Result<Value, String> {
        let mut conn = self.pool.get().map_err(|e| e.to_string())?;
        let keys = verification_keys(&mut conn, &self.cfg).map_err(|e| e.to_string())?;
        Ok(serde_json::json!({ "keys": keys.iter().map(|k| k.jwk()).collect::<Vec<_>>() }))
    }
}
