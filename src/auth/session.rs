//! Sign-in for the web pages: one-time sign-in links and server-side sessions. The browser holds
//! a random session id in an HttpOnly cookie; the database holds its SHA-256 hash, who signed in
//! and the session's CSRF token. Signing out deletes the session.

use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::keys::check_grant;
use super::{Actor, Role, Scope};
use crate::domain::Timestamp;
use crate::error::{AppError, AppResult};
use crate::store::{Db, read, sessions as store, write_tx};

/// How long a session lasts from sign-in (a working day).
pub const SESSION_TTL: Duration = Duration::from_secs(8 * 3600);
/// Longest validity of a sign-in link.
pub const LINK_MAX_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Used and expired links are kept this long for the record, then purged.
const LINK_KEEP: Duration = Duration::from_secs(90 * 24 * 3600);

/// 32 random bytes, URL-safe base64 (43 characters).
fn secret() -> AppResult<String> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| AppError::Internal(format!("random: {e}")))?;
    Ok(URL_SAFE_NO_PAD.encode(bytes))
}

/// A fresh random key for a form that must take effect once (an idempotency key).
pub fn form_key() -> AppResult<String> {
    secret()
}

/// What is stored in place of a secret.
fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// A secret as sent by a browser: 43 characters of URL-safe base64; anything else is no secret.
fn well_formed(s: &str) -> bool {
    s.len() == 43 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Who a sign-in link or session is for.
#[derive(Debug, Clone)]
pub struct Grant {
    pub subject: String,
    pub role: Role,
    pub organisation_id: Option<crate::domain::OrganisationId>,
    pub scope: Scope,
}

/// Creates a one-time sign-in link; returns the code to put in the link (only its hash is kept).
pub fn create_link(conn: &mut Db, grant: &Grant, ttl: Duration) -> AppResult<String> {
    check_grant(grant.role, grant.organisation_id, &grant.scope)?;
    if ttl.is_zero() || ttl > LINK_MAX_TTL {
        return Err(AppError::bad_input("ttl", "ttl: a sign-in link is valid for at most 7 days (e.g. 30m, 24h, 7d)"));
    }
    let code = secret()?;
    let now = Timestamp::now();
    store::insert_link(
        conn,
        &store::NewSignInLink {
            id: &hash(&code),
            subject: &grant.subject,
            role: grant.role.code(),
            organisation_id: grant.organisation_id,
            scope: &grant.scope.items().join(" "),
            created_at: &now.to_db(),
            expires_at: &now.after(ttl).to_db(),
        },
    )?;
    Ok(code)
}

/// Whom a usable link would sign in (shown before the link is used); `None` for a code that is
/// unknown, used or expired.
pub fn peek_link(conn: &mut Db, code: &str) -> AppResult<Option<Grant>> {
    if !well_formed(code) {
        return Ok(None);
    }
    let row = store::usable_link(conn, &hash(code), &Timestamp::now().to_db())?;
    row.map(|r| grant_of(&r.subject, &r.role, r.organisation_id, &r.scope)).transpose()
}

fn grant_of(
    subject: &str,
    role: &str,
    organisation_id: Option<crate::domain::OrganisationId>,
    scope: &str,
) -> AppResult<Grant> {
    let role = Role::parse_token_role(role).ok_or_else(|| AppError::Internal(format!("stored role {role:?}")))?;
    let scope = Scope::parse(scope.split(' ')).map_err(AppError::Internal)?;
    Ok(Grant { subject: subject.to_owned(), role, organisation_id, scope })
}

/// A new session: the cookie value for the browser and the CSRF token of its forms.
pub struct NewSession {
    pub cookie: String,
    pub csrf: String,
}

/// Uses a sign-in link (once) and opens a session for whom it names.
pub fn sign_in_with_link(conn: &mut Db, code: &str, issuer: &str) -> AppResult<NewSession> {
    let gone = || AppError::not_found("code", "code: this sign-in link is unknown, used or expired");
    if !well_formed(code) {
        return Err(gone());
    }
    let id = hash(code);
    write_tx(conn, |conn| {
        let now = Timestamp::now().to_db();
        let row = store::usable_link(conn, &id, &now)?.ok_or_else(gone)?;
        if !store::use_link(conn, &id, &now)? {
            return Err(gone());
        }
        let grant = grant_of(&row.subject, &row.role, row.organisation_id, &row.scope)?;
        open_session(conn, &grant, issuer)
    })
}

/// Opens a session (after a sign-in link or an OpenID Connect sign-in).
pub fn open_session(conn: &mut Db, grant: &Grant, issuer: &str) -> AppResult<NewSession> {
    check_grant(grant.role, grant.organisation_id, &grant.scope)?;
    let (cookie, csrf) = (secret()?, secret()?);
    let now = Timestamp::now();
    store::insert_session(
        conn,
        &store::NewSession {
            id: &hash(&cookie),
            csrf: &csrf,
            subject: &grant.subject,
            role: grant.role.code(),
            organisation_id: grant.organisation_id,
            scope: &grant.scope.items().join(" "),
            issuer,
            created_at: &now.to_db(),
            expires_at: &now.after(SESSION_TTL).to_db(),
        },
    )?;
    // On each sign-in, expired sessions and links long past their time go.
    store::purge_expired(conn, &now.to_db(), &now.before(LINK_KEEP).to_db())?;
    Ok(NewSession { cookie, csrf })
}

/// A signed-in browser: who acts, the organisation's name, the CSRF token of the session's forms.
#[derive(Debug, Clone)]
pub struct Session {
    pub actor: Actor,
    pub organisation: Option<crate::store::rows::OrganisationRow>,
    pub csrf: String,
}

/// The session a cookie value names, if it exists and has not expired.
pub fn find(conn: &mut Db, cookie: &str) -> AppResult<Option<Session>> {
    if !well_formed(cookie) {
        return Ok(None);
    }
    let Some(row) = store::session(conn, &hash(cookie), &Timestamp::now().to_db())? else {
        return Ok(None);
    };
    let grant = grant_of(&row.subject, &row.role, row.organisation_id, &row.scope)?;
    let organisation = match grant.organisation_id {
        Some(id) => read::organisation_by_id(conn, id)?,
        None => None,
    };
    let actor = Actor {
        subject: grant.subject,
        role: grant.role,
        organisation_id: grant.organisation_id,
        scope: grant.scope,
        issuer: Some(row.issuer),
    };
    Ok(Some(Session { actor, organisation, csrf: row.csrf }))
}

/// Ends a session (signing out); a cookie that names none is fine.
pub fn end(conn: &mut Db, cookie: &str) -> AppResult<()> {
    if well_formed(cookie) {
        store::delete_session(conn, &hash(cookie))?;
    }
    Ok(())
}

/// Compares two secrets in time independent of where they differ.
pub fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// How long a sign-in at an identity provider may take.
const OIDC_LOGIN_TTL: Duration = Duration::from_secs(10 * 60);

/// A sign-in with OpenID Connect that is about to leave for the identity provider: the `state`
/// and `nonce` to send along, and the PKCE challenge of the verifier kept here.
pub struct OidcStart {
    pub state: String,
    pub nonce: String,
    pub code_challenge: String,
}

/// Starts a sign-in at an issuer: keeps the PKCE verifier and the nonce under the hash of the state.
pub fn begin_oidc(conn: &mut Db, issuer: &str) -> AppResult<OidcStart> {
    let (state, verifier, nonce) = (secret()?, secret()?, secret()?);
    let now = Timestamp::now();
    store::insert_oidc_login(
        conn,
        &store::NewOidcLogin {
            id: &hash(&state),
            issuer,
            verifier: &verifier,
            nonce: &nonce,
            created_at: &now.to_db(),
            expires_at: &now.after(OIDC_LOGIN_TTL).to_db(),
        },
    )?;
    let code_challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    Ok(OidcStart { state, nonce, code_challenge })
}

/// The sign-in a returning `state` belongs to, once: (issuer, PKCE verifier, nonce).
pub fn finish_oidc(conn: &mut Db, state: &str) -> AppResult<(String, String, String)> {
    let gone = || AppError::not_found("state", "state: this sign-in is unknown, finished or expired; start again");
    if !well_formed(state) {
        return Err(gone());
    }
    let row = write_tx(conn, |conn| Ok(store::take_oidc_login(conn, &hash(state), &Timestamp::now().to_db())?))?;
    let row = row.ok_or_else(gone)?;
    Ok((row.issuer, row.verifier, row.nonce))
}
