//! Signing keys, issued and revoked tokens, external issuers, contact persons.

use diesel::prelude::*;

use super::Db;
use super::rows::{ContactRow, IssuerRow, SigningKeyRow};
use super::schema::*;
use crate::domain::{OrganisationId, ProjectId};

pub fn signing_keys(conn: &mut Db) -> QueryResult<Vec<SigningKeyRow>> {
    signing_keys::table.order(signing_keys::created_at.desc()).select(SigningKeyRow::as_select()).load(conn)
}

pub fn insert_signing_key(conn: &mut Db, kid: &str, private_key: &str, public_key: &str, now: &str) -> QueryResult<()> {
    diesel::insert_into(signing_keys::table)
        .values((
            signing_keys::kid.eq(kid),
            signing_keys::alg.eq("EdDSA"),
            signing_keys::private_key.eq(private_key),
            signing_keys::public_key.eq(public_key),
            signing_keys::created_at.eq(now),
        ))
        .execute(conn)
        .map(drop)
}

pub struct NewIssuedToken<'a> {
    pub jti: &'a str,
    pub subject: &'a str,
    pub role: &'a str,
    pub organisation_id: Option<OrganisationId>,
    pub scope: &'a str,
    pub issued_at: &'a str,
    pub expires_at: &'a str,
}

pub fn insert_issued_token(conn: &mut Db, t: &NewIssuedToken) -> QueryResult<()> {
    diesel::insert_into(issued_tokens::table)
        .values((
            issued_tokens::jti.eq(t.jti),
            issued_tokens::subject.eq(t.subject),
            issued_tokens::role.eq(t.role),
            issued_tokens::organisation_id.eq(t.organisation_id),
            issued_tokens::scope.eq(t.scope),
            issued_tokens::issued_at.eq(t.issued_at),
            issued_tokens::expires_at.eq(t.expires_at),
        ))
        .execute(conn)
        .map(drop)
}

/// Revokes a token id; returns false if it was revoked already.
pub fn revoke(conn: &mut Db, jti: &str, reason: Option<&str>, now: &str) -> QueryResult<bool> {
    if is_revoked(conn, jti)? {
        return Ok(false);
    }
    diesel::insert_into(revoked_tokens::table)
        .values((revoked_tokens::jti.eq(jti), revoked_tokens::revoked_at.eq(now), revoked_tokens::reason.eq(reason)))
        .execute(conn)?;
    Ok(true)
}

pub fn is_revoked(conn: &mut Db, jti: &str) -> QueryResult<bool> {
    Ok(revoked_tokens::table.find(jti).count().get_result::<i64>(conn)? > 0)
}

pub fn issuers(conn: &mut Db) -> QueryResult<Vec<IssuerRow>> {
    issuers::table.order(issuers::issuer).select(IssuerRow::as_select()).load(conn)
}

pub struct NewIssuer<'a> {
    pub issuer: &'a str,
    pub jwks_url: &'a str,
    pub audience: &'a str,
    pub algorithms: &'a str,
    pub role_claim: &'a str,
    pub organisation_claim: &'a str,
    pub scope_claim: Option<&'a str>,
    pub created_at: &'a str,
    pub web_client_id: Option<&'a str>,
    pub web_client_secret: Option<&'a str>,
    pub display_name: Option<&'a str>,
}

pub fn insert_issuer(conn: &mut Db, i: &NewIssuer) -> QueryResult<()> {
    diesel::insert_into(issuers::table)
        .values((
            issuers::issuer.eq(i.issuer),
            issuers::jwks_url.eq(i.jwks_url),
            issuers::audience.eq(i.audience),
            issuers::algorithms.eq(i.algorithms),
            issuers::role_claim.eq(i.role_claim),
            issuers::organisation_claim.eq(i.organisation_claim),
            issuers::scope_claim.eq(i.scope_claim),
            issuers::created_at.eq(i.created_at),
            issuers::web_client_id.eq(i.web_client_id),
            issuers::web_client_secret.eq(i.web_client_secret),
            issuers::display_name.eq(i.display_name),
        ))
        .execute(conn)
        .map(drop)
}

pub fn delete_issuer(conn: &mut Db, issuer: &str) -> QueryResult<usize> {
    diesel::delete(issuers::table.filter(issuers::issuer.eq(issuer))).execute(conn)
}

pub fn contacts_by_organisations(conn: &mut Db, ids: &[OrganisationId]) -> QueryResult<Vec<ContactRow>> {
    contacts::table
        .filter(contacts::organisation_id.eq_any(ids))
        .order(contacts::id)
        .select(ContactRow::as_select())
        .load(conn)
}

pub fn contacts_by_projects(conn: &mut Db, ids: &[ProjectId]) -> QueryResult<Vec<ContactRow>> {
    contacts::table
        .filter(contacts::project_id.eq_any(ids))
        .order(contacts::id)
        .select(ContactRow::as_select())
        .load(conn)
}

pub struct NewContact<'a> {
    pub organisation_id: Option<OrganisationId>,
    pub project_id: Option<ProjectId>,
    pub name: &'a str,
    pub function: Option<&'a str>,
    pub email: Option<&'a str>,
    pub phone: Option<&'a str>,
    pub created_at: &'a str,
}

pub fn insert_contact(conn: &mut Db, c: &NewContact) -> QueryResult<ContactRow> {
    diesel::insert_into(contacts::table)
        .values((
            contacts::organisation_id.eq(c.organisation_id),
            contacts::project_id.eq(c.project_id),
            contacts::name.eq(c.name),
            contacts::function.eq(c.function),
            contacts::email.eq(c.email),
            contacts::phone.eq(c.phone),
            contacts::created_at.eq(c.created_at),
        ))
        .returning(super::types::columns::<ContactRow>())
        .get_result(conn)
}

/// The topic fields of a project's OZG-Leistungen (for scope checks).
pub fn project_topic_fields(conn: &mut Db, project_id: ProjectId) -> QueryResult<Vec<String>> {
    project_services::table
        .inner_join(ozg_services::table)
        .filter(project_services::project_id.eq(project_id))
        .select(ozg_services::topic_field_slug)
        .distinct()
        .load(conn)
}

pub fn topic_fields_of_services(conn: &mut Db, ozg_ids: &[String]) -> QueryResult<Vec<String>> {
    ozg_services::table
        .filter(ozg_services::ozg_id.eq_any(ozg_ids))
        .select(ozg_services::topic_field_slug)
        .distinct()
        .load(conn)
}
