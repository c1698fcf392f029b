//! Sign-in links and web sessions. Only SHA-256 hashes of link codes and session cookies are
//! stored, so a copy of the database signs nobody in.

use diesel::prelude::*;

use super::Db;
use super::rows::{OidcLoginRow, SignInLinkRow, WebSessionRow};
use super::schema::*;
use crate::domain::OrganisationId;

pub struct NewSignInLink<'a> {
    pub id: &'a str,
    pub subject: &'a str,
    pub role: &'a str,
    pub organisation_id: Option<OrganisationId>,
    pub scope: &'a str,
    pub created_at: &'a str,
    pub expires_at: &'a str,
}

pub fn insert_link(conn: &mut Db, l: &NewSignInLink) -> QueryResult<()> {
    diesel::insert_into(sign_in_links::table)
        .values((
            sign_in_links::id.eq(l.id),
            sign_in_links::subject.eq(l.subject),
            sign_in_links::role.eq(l.role),
            sign_in_links::organisation_id.eq(l.organisation_id),
            sign_in_links::scope.eq(l.scope),
            sign_in_links::created_at.eq(l.created_at),
            sign_in_links::expires_at.eq(l.expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// A link that is neither used nor expired.
pub fn usable_link(conn: &mut Db, id: &str, now: &str) -> QueryResult<Option<SignInLinkRow>> {
    sign_in_links::table
        .find(id)
        .filter(sign_in_links::used_at.is_null())
        .filter(sign_in_links::expires_at.gt(now))
        .select(SignInLinkRow::as_select())
        .first(conn)
        .optional()
}

/// Marks a usable link as used; false when it was used or expired meanwhile (the single UPDATE
/// decides a race between two clicks).
pub fn use_link(conn: &mut Db, id: &str, now: &str) -> QueryResult<bool> {
    let n = diesel::update(
        sign_in_links::table
            .find(id)
            .filter(sign_in_links::used_at.is_null())
            .filter(sign_in_links::expires_at.gt(now)),
    )
    .set(sign_in_links::used_at.eq(now))
    .execute(conn)?;
    Ok(n == 1)
}

pub struct NewSession<'a> {
    pub id: &'a str,
    pub csrf: &'a str,
    pub subject: &'a str,
    pub role: &'a str,
    pub organisation_id: Option<OrganisationId>,
    pub scope: &'a str,
    pub issuer: &'a str,
    pub created_at: &'a str,
    pub expires_at: &'a str,
}

pub fn insert_session(conn: &mut Db, s: &NewSession) -> QueryResult<()> {
    diesel::insert_into(web_sessions::table)
        .values((
            web_sessions::id.eq(s.id),
            web_sessions::csrf.eq(s.csrf),
            web_sessions::subject.eq(s.subject),
            web_sessions::role.eq(s.role),
            web_sessions::organisation_id.eq(s.organisation_id),
            web_sessions::scope.eq(s.scope),
            web_sessions::issuer.eq(s.issuer),
            web_sessions::created_at.eq(s.created_at),
            web_sessions::expires_at.eq(s.expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// A session that has not expired.
pub fn session(conn: &mut Db, id: &str, now: &str) -> QueryResult<Option<WebSessionRow>> {
    web_sessions::table
        .find(id)
        .filter(web_sessions::expires_at.gt(now))
        .select(WebSessionRow::as_select())
        .first(conn)
        .optional()
}

pub fn delete_session(conn: &mut Db, id: &str) -> QueryResult<usize> {
    diesel::delete(web_sessions::table.find(id)).execute(conn)
}

/// Removes expired sessions and links that expired before `before`; returns how many.
pub fn purge_expired(conn: &mut Db, now: &str, before: &str) -> QueryResult<usize> {
    let s = diesel::delete(web_sessions::table.filter(web_sessions::expires_at.le(now))).execute(conn)?;
    let l = diesel::delete(sign_in_links::table.filter(sign_in_links::expires_at.le(before))).execute(conn)?;
    Ok(s + l)
}

pub struct NewOidcLogin<'a> {
    pub id: &'a str,
    pub issuer: &'a str,
    pub verifier: &'a str,
    pub nonce: &'a str,
    pub created_at: &'a str,
    pub expires_at: &'a str,
}

/// Records a sign-in under way (and drops those that expired).
pub fn insert_oidc_login(conn: &mut Db, l: &NewOidcLogin) -> QueryResult<()> {
    diesel::delete(oidc_logins::table.filter(oidc_logins::expires_at.le(l.created_at))).execute(conn)?;
    diesel::insert_into(oidc_logins::table)
        .values((
            oidc_logins::id.eq(l.id),
            oidc_logins::issuer.eq(l.issuer),
            oidc_logins::verifier.eq(l.verifier),
            oidc_logins::nonce.eq(l.nonce),
            oidc_logins::created_at.eq(l.created_at),
            oidc_logins::expires_at.eq(l.expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Takes a sign-in under way: returns it once, if it has not expired, and deletes it.
pub fn take_oidc_login(conn: &mut Db, id: &str, now: &str) -> QueryResult<Option<OidcLoginRow>> {
    let row = oidc_logins::table
        .find(id)
        .filter(oidc_logins::expires_at.gt(now))
        .select(OidcLoginRow::as_select())
        .first(conn)
        .optional()?;
    if diesel::delete(oidc_logins::table.find(id)).execute(conn)? == 0 {
        return Ok(None);
    }
    Ok(row)
}
