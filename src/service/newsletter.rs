//! Newsletter definitions, published editions (stored unchanged) and subscribers (double opt-in).

use serde_json::json;

use super::*;
use crate::auth::policy::{self, Op};
use crate::domain::SubscriberStatus;
use crate::newsletter::{self, Format, RenderContext};
use crate::store::newsletter as store;
use crate::store::rows::{DefinitionRow, EditionRow, SubscriberRow};
use crate::store::write_tx;

/// Stands in a stored edition where each subscriber's own unsubscribe link goes.
pub const UNSUBSCRIBE_PLACEHOLDER: &str = "about:unsubscribe";

fn random_token() -> AppResult<String> {
    let mut b = [0u8; 24];
    getrandom::fill(&mut b).map_err(|e| AppError::Internal(format!("random: {e}")))?;
    Ok(b.iter().map(|x| format!("{x:02x}")).collect())
}

fn find_definition(conn: &mut Db, slug: &str, field: &str) -> AppResult<DefinitionRow> {
    store::definition_by_slug(conn, slug)?
        .ok_or_else(|| AppError::not_found(field, format!("{field}: no newsletter {slug:?}")))
}

pub fn save_definition(conn: &mut Db, actor: &Actor, input: SaveNewsletterDefinitionInput) -> AppResult<DefinitionRow> {
    let slug = slug(&input.slug, "slug")?;
    let title = text(&input.title, "title", TITLE_MAX)?;
    let audience = text(&input.audience, "audience", TITLE_MAX)?;
    write_tx(conn, |conn| {
        let topics = read::topic_fields(conn)?;
        if !topics.iter().any(|t| t.slug == input.topic_field) {
            return Err(unknown_topic_field("topicField", &input.topic_field, &topics));
        }
        policy::require(conn, actor, Op::ManageNewsletter { topic_field: &input.topic_field })?;
        if store::definition_by_slug(conn, slug.as_str())?.is_some() {
            return Err(AppError::already_exists("slug", format!("slug: a newsletter {slug:?} exists already")));
        }
        let at = now();
        let definition =
            store::insert_definition(conn, slug.as_str(), &title, &input.topic_field, &audience, &at.to_db())
                .map_err(|e| super::projects::unique_to_exists(e, "slug", "slug: the newsletter exists already"))?;
        record(
            conn,
            actor,
            &at,
            Change {
                action: ChangeAction::Create,
                entity_type: "NewsletterDefinition",
                entity_id: slug.to_string(),
                project_id: None,
                summary: format!("Newsletter „{title}“ angelegt"),
                diff: Diff::created(&[
                    ("title", json!(title)),
                    ("topicField", json!(input.topic_field)),
                    ("audience", json!(audience)),
                ]),
            },
        )?;
        Ok(definition)
    })
}

/// Publishes the next edition: "what changed" covers exactly the time since the previous one. The
/// same idempotency key returns the edition it created the first time.
pub fn publish_edition(conn: &mut Db, actor: &Actor, input: PublishEditionInput) -> AppResult<EditionRow> {
    let key = text(&input.idempotency_key, "idempotencyKey", 200)?;
    write_tx(conn, |conn| {
        let def = find_definition(conn, &input.definition, "definition")?;
        policy::require(conn, actor, Op::ManageNewsletter { topic_field: &def.topic_field_slug })?;
        if let Some(existing) = store::edition_by_key(conn, def.id, &key)? {
            return Ok(existing);
        }
        let last = store::last_edition(conn, def.id)?;
        let since = last.as_ref().map(|e| e.published_at);
        let published = now();
        let mut issue = newsletter::build(conn, &def.topic_field_slug, since.as_ref())?;
        issue.title = def.title.clone();
        let ctx = RenderContext { base_url: String::new(), unsubscribe_url: Some(UNSUBSCRIBE_PLACEHOLDER.into()) };
        let number = last.map_or(1, |e| e.number + 1);
        let issue_json = serde_json::to_string(&issue).map_err(|e| AppError::Internal(e.to_string()))?;
        let (html, md, text) = (
            newsletter::render(&issue, Format::Html, &ctx)?,
            newsletter::render(&issue, Format::Markdown, &ctx)?,
            newsletter::render(&issue, Format::Text, &ctx)?,
        );
        let ts = published.to_db();
        let edition = store::insert_edition(
            conn,
            &store::NewEdition {
                definition_id: def.id,
                number,
                published_at: &ts,
                since: issue.since.as_deref(),
                idempotency_key: &key,
                issue: &issue_json,
                body_html: &html,
                body_markdown: &md,
                body_text: &text,
            },
        )
        .map_err(|e| {
            super::projects::unique_to_exists(e, "idempotencyKey", "idempotencyKey: published concurrently; retry")
        })?;
        record(
            conn,
            actor,
            &published,
            Change {
                action: ChangeAction::Create,
                entity_type: "NewsletterEdition",
                entity_id: format!("{}#{number}", def.slug),
                project_id: None,
                summary: format!("Newsletter „{}“: Ausgabe {number} veröffentlicht", def.title),
                diff: Diff::created(&[
                    ("number", json!(number)),
                    ("since", json!(issue.since)),
                    ("changes", json!(issue.changes.len())),
                ]),
            },
        )?;
        Ok(edition)
    })
}

fn valid_email(e: &str) -> bool {
    let Some((local, domain)) = e.split_once('@') else { return false };
    !local.is_empty()
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !e.contains(char::is_whitespace)
}

/// Subscribes an address (pending until confirmed). The answer is the same whether or not the
/// address was subscribed already, so nobody learns who reads the newsletter.
pub fn subscribe(conn: &mut Db, actor: &Actor, input: SubscribeInput) -> AppResult<()> {
    let email = text(&input.email, "email", 200)?.to_lowercase();
    if !valid_email(&email) {
        return Err(AppError::bad_input("email", "email: expected an address like name@example.org"));
    }
    write_tx(conn, |conn| {
        let def = find_definition(conn, &input.definition, "definition")?;
        let (confirm, unsubscribe) = (random_token()?, random_token()?);
        let changed = match store::subscriber_by_email(conn, def.id, &email)? {
            None => {
                store::insert_subscriber(conn, def.id, &email, &confirm, &unsubscribe, &now().to_db())?;
                true
            }
            Some(s) if s.status == SubscriberStatus::Unsubscribed => {
                store::restart_subscriber(conn, s.id, &confirm, &unsubscribe)?;
                true
            }
            Some(_) => false,
        };
        if changed {
            record_personal(
                conn,
                actor,
                &now(),
                Change {
                    action: ChangeAction::Create,
                    entity_type: "NewsletterSubscription",
                    entity_id: def.slug.clone(),
                    project_id: None,
                    summary: format!("Anmeldung zum Newsletter „{}“ (unbestätigt)", def.title),
                    diff: Diff::created(&[("email", json!(email))]),
                },
            )?;
        }
        Ok(())
    })
}

fn set_status(
    conn: &mut Db,
    actor: &Actor,
    s: &SubscriberRow,
    status: SubscriberStatus,
    summary: &str,
) -> AppResult<SubscriberRow> {
    let confirmed_at = (status == SubscriberStatus::Confirmed).then(|| now().to_db());
    let changed = store::set_subscriber_status(conn, s.id, status, confirmed_at.as_deref())?;
    let mut diff = Diff::default();
    diff.set("status", s.status, status);
    record_personal(
        conn,
        actor,
        &now(),
        Change {
            action: ChangeAction::Update,
            entity_type: "NewsletterSubscription",
            entity_id: s.definition_id.to_string(),
            project_id: None,
            summary: summary.to_owned(),
            diff,
        },
    )?;
    Ok(changed)
}

pub fn confirm(conn: &mut Db, actor: &Actor, token: &str) -> AppResult<SubscriberRow> {
    write_tx(conn, |conn| {
        let s = store::subscriber_by_confirm_token(conn, token)?
            .ok_or_else(|| AppError::not_found("token", "token: not a confirmation link of this registry"))?;
        if s.status != SubscriberStatus::Pending {
            return Ok(s);
        }
        set_status(conn, actor, &s, SubscriberStatus::Confirmed, "Newsletter-Anmeldung bestätigt")
    })
}

pub fn unsubscribe(conn: &mut Db, actor: &Actor, token: &str) -> AppResult<SubscriberRow> {
    write_tx(conn, |conn| {
        let s = store::subscriber_by_unsubscribe_token(conn, token)?
            .ok_or_else(|| AppError::not_found("token", "token: not an unsubscribe link of this registry"))?;
        if s.status == SubscriberStatus::Unsubscribed {
            return Ok(s);
        }
        set_status(conn, actor, &s, SubscriberStatus::Unsubscribed, "Newsletter abbestellt")
    })
}

/// What one subscriber receives of an edition: its stored text with their own unsubscribe link.
pub fn render_for(edition: &EditionRow, format: Format, unsubscribe_url: &str) -> String {
    let body = match format {
        Format::Html => &edition.body_html,
        Format::Markdown => &edition.body_markdown,
        Format::Text => &edition.body_text,
    };
    body.replace(UNSUBSCRIBE_PLACEHOLDER, unsubscribe_url)
}
