//! The newsletter over HTTP: `/newsletter/<topic-field>` (HTML, Markdown, text), the Atom feeds
//! `/feeds/<topic-field>.atom`, and the subscribers' confirmation and unsubscribe links.

use actix_web::http::StatusCode;
use actix_web::{HttpRequest, HttpResponse, web};

use crate::error::{AppError, ErrorCode, log_internal};
use crate::http::{AppState, base_url, blocking, status_of, unavailable_text};
use crate::service::Actor;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/newsletter/confirm", web::get().to(confirm_subscription))
        .route("/newsletter/unsubscribe", web::get().to(unsubscribe))
        .route("/newsletter/{topic}", web::get().to(newsletter_page))
        .route("/feeds/{feed}", web::get().to(atom_feed));
}

#[derive(serde::Deserialize)]
struct NewsletterQuery {
    since: Option<String>,
}

fn plain_error(status: StatusCode, message: &str) -> HttpResponse {
    HttpResponse::build(status).content_type("text/plain; charset=utf-8").body(message.to_owned())
}

/// An error of the newsletter's documents for the person who opened the link, in German and without
/// slugs or field names, with the status its code maps to (one mapping for all handlers,
/// `http::status_of`); internal causes are logged under an incident id, never shown. While the
/// database is away or slow: 503 with `Retry-After`, for an HTML document the site's page
/// (`web::unavailable_page`), else plain text.
fn document_error(e: AppError, html: bool) -> HttpResponse {
    match e {
        // The topic field is a path segment here: one that does not exist is a page not found.
        AppError::User { code: ErrorCode::BadUserInput, field: Some(f), .. } if f == "topicField" => {
            plain_error(StatusCode::NOT_FOUND, "Ein Themenfeld unter dieser Adresse gibt es nicht.")
        }
        AppError::User { code: ErrorCode::Unavailable | ErrorCode::Timeout, .. } if html => {
            crate::web::unavailable_page(e)
        }
        AppError::User { code: ErrorCode::Unavailable | ErrorCode::Timeout, .. } => unavailable_text(&e),
        AppError::User { code, .. } => {
            plain_error(status_of(code), "Diese Anfrage kann nicht beantwortet werden. Bitte prüfen Sie die Adresse.")
        }
        AppError::Internal(detail) => {
            let incident = log_internal(&detail);
            plain_error(StatusCode::INTERNAL_SERVER_ERROR, &format!("Interner Fehler (Vorgang {incident})"))
        }
    }
}

/// `GET /newsletter/<topic-field>` (HTML) and `/newsletter/<topic-field>.md` (Markdown);
/// `?since=<RFC 3339>` adds "what changed since".
async fn newsletter_page(
    req: HttpRequest,
    path: web::Path<String>,
    query: web::Query<NewsletterQuery>,
    state: web::Data<AppState>,
) -> HttpResponse {
    use crate::newsletter::{self, Format, RenderContext};
    let topic = path.into_inner();
    let (topic, format) = match topic.strip_suffix(".md") {
        Some(t) => (t.to_owned(), Format::Markdown),
        None => match topic.strip_suffix(".txt") {
            Some(t) => (t.to_owned(), Format::Text),
            None => (topic, Format::Html),
        },
    };
    let since = match query.since.as_deref().map(crate::domain::Timestamp::parse).transpose() {
        Ok(s) => s,
        Err(_) => {
            return plain_error(
                StatusCode::BAD_REQUEST,
                "Der Zeitpunkt „since“ ist nicht gültig; erwartet wird z. B. 2020-12-01T00:00:00Z.",
            );
        }
    };
    let base_url = base_url(&req);
    let result = blocking(&state, move |conn| {
        let issue = newsletter::build(conn, &topic, since.as_ref())?;
        newsletter::render(&issue, format, &RenderContext { base_url, unsubscribe_url: None })
    })
    .await;
    let content_type = match format {
        Format::Html => "text/html; charset=utf-8",
        Format::Markdown => "text/markdown; charset=utf-8",
        Format::Text => "text/plain; charset=utf-8",
    };
    match result {
        Ok(body) => HttpResponse::Ok().content_type(content_type).body(body),
        Err(e) => document_error(e, format == Format::Html),
    }
}

#[derive(serde::Deserialize)]
struct TokenQuery {
    token: Option<String>,
}

/// A small German page answering a subscriber's click.
fn subscriber_page(status: StatusCode, message: &str) -> HttpResponse {
    let escaped: String = message
        .chars()
        .map(|c| match c {
            '<' => "&lt;".to_owned(),
            '>' => "&gt;".to_owned(),
            '&' => "&amp;".to_owned(),
            '"' => "&quot;".to_owned(),
            c => c.to_string(),
        })
        .collect();
    HttpResponse::build(status).content_type("text/html; charset=utf-8").body(format!(
        "<!DOCTYPE html><html lang=\"de\"><head><meta charset=\"utf-8\"><title>Newsletter</title></head><body><p>{escaped}</p></body></html>"
    ))
}

async fn subscription_link(
    state: web::Data<AppState>,
    token: Option<String>,
    act: fn(&mut crate::store::Db, &Actor, &str) -> crate::error::AppResult<crate::store::rows::SubscriberRow>,
    done: &'static str,
) -> HttpResponse {
    use StatusCode;
    let Some(token) = token.filter(|t| !t.is_empty() && t.len() <= 100) else {
        return subscriber_page(StatusCode::BAD_REQUEST, "Der Link ist unvollständig.");
    };
    let result = blocking(&state, move |conn| act(conn, &Actor::anonymous(), &token)).await;
    match result {
        Ok(_) => subscriber_page(StatusCode::OK, done),
        Err(AppError::User { code: ErrorCode::NotFound | ErrorCode::BadUserInput, .. }) => {
            subscriber_page(StatusCode::NOT_FOUND, "Dieser Link ist nicht (mehr) gültig.")
        }
        Err(e @ AppError::User { code: ErrorCode::Unavailable | ErrorCode::Timeout, .. }) => {
            crate::web::unavailable_page(e)
        }
        Err(AppError::User { code, .. }) => {
            subscriber_page(status_of(code), "Der Link konnte nicht verarbeitet werden. Bitte versuchen Sie es erneut.")
        }
        Err(AppError::Internal(detail)) => {
            let incident = log_internal(&detail);
            subscriber_page(StatusCode::INTERNAL_SERVER_ERROR, &format!("Interner Fehler (Vorgang {incident})."))
        }
    }
}

/// `GET /newsletter/confirm?token=…`: the double opt-in link.
async fn confirm_subscription(state: web::Data<AppState>, q: web::Query<TokenQuery>) -> HttpResponse {
    subscription_link(
        state,
        q.into_inner().token,
        crate::service::newsletter::confirm,
        "Ihre Anmeldung zum Newsletter ist bestätigt.",
    )
    .await
}

/// `GET /newsletter/unsubscribe?token=…`: the link in every edition.
async fn unsubscribe(state: web::Data<AppState>, q: web::Query<TokenQuery>) -> HttpResponse {
    subscription_link(
        state,
        q.into_inner().token,
        crate::service::newsletter::unsubscribe,
        "Sie erhalten diesen Newsletter nicht mehr.",
    )
    .await
}

/// `GET /feeds/<topic-field>.atom`: the public changes to the topic field's projects.
async fn atom_feed(req: HttpRequest, path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    let Some(topic) = path.into_inner().strip_suffix(".atom").map(str::to_owned) else {
        return plain_error(StatusCode::NOT_FOUND, "Feeds haben die Endung .atom.");
    };
    let base_url = base_url(&req);
    let result = blocking(&state, move |conn| crate::newsletter::feed(conn, &topic, &base_url)).await;
    match result {
        Ok(body) => HttpResponse::Ok().content_type("application/atom+xml; charset=utf-8").body(body),
        Err(e) => document_error(e, false),
    }
}
