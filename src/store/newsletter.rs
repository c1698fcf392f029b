//! Newsletter definitions, editions and subscribers.

use diesel::prelude::*;

use super::Db;
use super::rows::{DefinitionRow, EditionRow, SubscriberRow};
use super::schema::*;
use super::types::columns;
use crate::domain::{DefinitionId, SubscriberStatus};

pub fn definitions(conn: &mut Db) -> QueryResult<Vec<DefinitionRow>> {
    definitions_first(conn, i64::MAX)
}

/// The first `limit` newsletter definitions by slug.
pub fn definitions_first(conn: &mut Db, limit: i64) -> QueryResult<Vec<DefinitionRow>> {
    newsletter_definitions::table
        .order(newsletter_definitions::slug)
        .limit(limit)
        .select(DefinitionRow::as_select())
        .load(conn)
}

pub fn definition_by_slug(conn: &mut Db, slug: &str) -> QueryResult<Option<DefinitionRow>> {
    newsletter_definitions::table
        .filter(newsletter_definitions::slug.eq(slug))
        .select(DefinitionRow::as_select())
        .first(conn)
        .optional()
}

pub fn insert_definition(
    conn: &mut Db,
    slug: &str,
    title: &str,
    topic: &str,
    audience: &str,
    now: &str,
) -> QueryResult<DefinitionRow> {
    diesel::insert_into(newsletter_definitions::table)
        .values((
            newsletter_definitions::slug.eq(slug),
            newsletter_definitions::title.eq(title),
            newsletter_definitions::topic_field_slug.eq(topic),
            newsletter_definitions::audience.eq(audience),
            newsletter_definitions::created_at.eq(now),
        ))
        .returning(columns::<DefinitionRow>())
        .get_result(conn)
}

pub fn editions(conn: &mut Db, definition_id: DefinitionId) -> QueryResult<Vec<EditionRow>> {
    editions_first(conn, definition_id, i64::MAX)
}

/// The first `limit` editions of a newsletter, oldest first.
pub fn editions_first(conn: &mut Db, definition_id: DefinitionId, limit: i64) -> QueryResult<Vec<EditionRow>> {
    newsletter_editions::table
        .filter(newsletter_editions::definition_id.eq(definition_id))
        .order(newsletter_editions::number)
        .limit(limit)
        .select(EditionRow::as_select())
        .load(conn)
}

pub fn edition_by_key(conn: &mut Db, definition_id: DefinitionId, key: &str) -> QueryResult<Option<EditionRow>> {
    newsletter_editions::table
        .filter(newsletter_editions::definition_id.eq(definition_id))
        .filter(newsletter_editions::idempotency_key.eq(key))
        .select(EditionRow::as_select())
        .first(conn)
        .optional()
}

pub fn last_edition(conn: &mut Db, definition_id: DefinitionId) -> QueryResult<Option<EditionRow>> {
    newsletter_editions::table
        .filter(newsletter_editions::definition_id.eq(definition_id))
        .order(newsletter_editions::number.desc())
        .select(EditionRow::as_select())
        .first(conn)
        .optional()
}

pub struct NewEdition<'a> {
    pub definition_id: DefinitionId,
    pub number: i32,
    pub published_at: &'a str,
    pub since: Option<&'a str>,
    pub idempotency_key: &'a str,
    pub issue: &'a str,
    pub body_html: &'a str,
    pub body_markdown: &'a str,
    pub body_text: &'a str,
}

pub fn insert_edition(conn: &mut Db, e: &NewEdition) -> QueryResult<EditionRow> {
    diesel::insert_into(newsletter_editions::table)
        .values((
            newsletter_editions::definition_id.eq(e.definition_id),
            newsletter_editions::number.eq(e.number),
            newsletter_editions::published_at.eq(e.published_at),
            newsletter_editions::since.eq(e.since),
            newsletter_editions::idempotency_key.eq(e.idempotency_key),
            newsletter_editions::issue.eq(e.issue),
            newsletter_editions::body_html.eq(e.body_html),
            newsletter_editions::body_markdown.eq(e.body_markdown),
            newsletter_editions::body_text.eq(e.body_text),
        ))
        .returning(columns::<EditionRow>())
        .get_result(conn)
}

pub fn subscriber_by_email(
    conn: &mut Db,
    definition_id: DefinitionId,
    email: &str,
) -> QueryResult<Option<SubscriberRow>> {
    newsletter_subscribers::table
        .filter(newsletter_subscribers::definition_id.eq(definition_id))
        .filter(newsletter_subscribers::email.eq(email))
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()
}

pub fn subscriber_by_confirm_token(conn: &mut Db, token: &str) -> QueryResult<Option<SubscriberRow>> {
    newsletter_subscribers::table
        .filter(newsletter_subscribers::confirm_token.eq(token))
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()
}

pub fn subscriber_by_unsubscribe_token(conn: &mut Db, token: &str) -> QueryResult<Option<SubscriberRow>> {
    newsletter_subscribers::table
        .filter(newsletter_subscribers::unsubscribe_token.eq(token))
        .select(SubscriberRow::as_select())
        .first(conn)
        .optional()
}

pub fn subscribers(conn: &mut Db, definition_id: DefinitionId) -> QueryResult<Vec<SubscriberRow>> {
    newsletter_subscribers::table
        .filter(newsletter_subscribers::definition_id.eq(definition_id))
        .order(newsletter_subscribers::id)
        .select(SubscriberRow::as_select())
        .load(conn)
}

pub fn insert_subscriber(
    conn: &mut Db,
    definition_id: DefinitionId,
    email: &str,
    confirm_token: &str,
    unsubscribe_token: &str,
    now: &str,
) -> QueryResult<i32> {
    diesel::insert_into(newsletter_subscribers::table)
        .values((
            newsletter_subscribers::definition_id.eq(definition_id),
            newsletter_subscribers::email.eq(email),
            newsletter_subscribers::status.eq(SubscriberStatus::Pending),
            newsletter_subscribers::confirm_token.eq(confirm_token),
            newsletter_subscribers::unsubscribe_token.eq(unsubscribe_token),
            newsletter_subscribers::created_at.eq(now),
        ))
        .returning(newsletter_subscribers::id)
        .get_result(conn)
}

/// Sets a subscriber's status; returns the changed subscriber.
pub fn set_subscriber_status(
    conn: &mut Db,
    id: i32,
    status: SubscriberStatus,
    confirmed_at: Option<&str>,
) -> QueryResult<SubscriberRow> {
    diesel::update(newsletter_subscribers::table.find(id))
        .set((newsletter_subscribers::status.eq(status), newsletter_subscribers::confirmed_at.eq(confirmed_at)))
        .returning(columns::<SubscriberRow>())
        .get_result(conn)
}

/// A subscriber who subscribes again after unsubscribing starts over with fresh tokens.
pub fn restart_subscriber(conn: &mut Db, id: i32, confirm_token: &str, unsubscribe_token: &str) -> QueryResult<usize> {
    diesel::update(newsletter_subscribers::table.find(id))
        .set((
            newsletter_subscribers::status.eq(SubscriberStatus::Pending),
            newsletter_subscribers::confirm_token.eq(confirm_token),
            newsletter_subscribers::unsubscribe_token.eq(unsubscribe_token),
            newsletter_subscribers::confirmed_at.eq(None::<String>),
        ))
        .execute(conn)
}
