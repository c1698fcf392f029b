//! Server-rendered pages for people who do not use GraphQL: browsing the catalogue and the projects,
//! signing in, a Kommune's sign-ups and reuse declarations, a coordinator's decisions and edits.
//! Pages are HTML from templates (templates/web/), work without JavaScript and call the same
//! service functions as the GraphQL API, so the rules are the same. Every form carries the
//! session's CSRF token and is refused from another origin.

mod actions;
mod oidc;
mod pages;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};
use diesel::connection::{Connection, InstrumentationEvent};
use minijinja::Environment;
use serde::Serialize;

use crate::auth::session::{self, Session};
use crate::auth::{Actor, Role};
use crate::error::{AppError, AppResult, ErrorCode, log_internal};
use crate::http::AppState;
use crate::store::Db;

/// The session cookie: HttpOnly, Secure, SameSite=Lax. Browsers treat http://localhost and
/// http://127.0.0.1 as secure, so local development works without TLS.
pub const COOKIE: &str = "ozg_session";

/// Largest form body accepted.
const MAX_FORM: usize = 64 * 1024;

pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(pages::start))
        .route("/static/style.css", web::get().to(style))
        .route("/themenfelder/{slug}", web::get().to(pages::topic))
        .route("/projekte/{slug}", web::get().to(pages::project))
        .route("/projekte/{slug}/bearbeiten", web::get().to(pages::edit_project))
        .route("/organisationen/{slug}", web::get().to(pages::organisation))
        .route("/suche", web::get().to(pages::search))
        .route("/anmelden", web::get().to(pages::sign_in))
        .route("/anmelden/oidc/callback", web::get().to(oidc::callback))
        .route("/anmelden/oidc/{id}", web::get().to(oidc::start))
        .route("/anmelden/link", web::get().to(pages::sign_in_link))
        .route("/anmelden/link", web::post().to(actions::sign_in_link))
        .route("/abmelden", web::post().to(actions::sign_out))
        .route("/meine-beteiligungen", web::get().to(pages::mine))
        .route("/projekte/{slug}/teilnahme", web::post().to(actions::sign_up))
        .route("/projekte/{slug}/nachnutzung", web::post().to(actions::declare_reuse))
        .route("/projekte/{slug}/phase", web::post().to(actions::change_phase))
        .route("/projekte/{slug}/stand", web::post().to(actions::status_note))
        .route("/projekte/{slug}/meilensteine", web::post().to(actions::add_milestone))
        .route("/projekte/{slug}/aufrufe", web::post().to(actions::open_call))
        .route("/projekte/{slug}/schritte", web::post().to(actions::add_step))
        .route("/schritte/{id}/status", web::post().to(actions::set_step_status))
        .route("/teilnahmen/{id}/bestaetigen", web::post().to(actions::confirm_participation))
        .route("/teilnahmen/{id}/zurueckziehen", web::post().to(actions::withdraw_participation))
        .route("/nachnutzungen/{id}/status", web::post().to(actions::advance_reuse))
        .route("/nachnutzungen/{id}/zurueckziehen", web::post().to(actions::withdraw_reuse))
        .route("/meilensteine/{id}/erreicht", web::post().to(actions::complete_milestone))
        .route("/aufrufe/{id}/schliessen", web::post().to(actions::close_call))
        .route("/newsletter-ausgaben", web::post().to(actions::publish_edition));
}

/// The one style sheet, served by the binary (no CDN).
async fn style() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/css; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
        .body(include_str!("../../templates/web/style.css"))
}

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        for (name, source) in [
            ("base.html", include_str!("../../templates/web/base.html")),
            ("start.html", include_str!("../../templates/web/start.html")),
            ("topic.html", include_str!("../../templates/web/topic.html")),
            ("project.html", include_str!("../../templates/web/project.html")),
            ("edit.html", include_str!("../../templates/web/edit.html")),
            ("organisation.html", include_str!("../../templates/web/organisation.html")),
            ("search.html", include_str!("../../templates/web/search.html")),
            ("sign_in.html", include_str!("../../templates/web/sign_in.html")),
            ("sign_in_link.html", include_str!("../../templates/web/sign_in_link.html")),
            ("mine.html", include_str!("../../templates/web/mine.html")),
            ("message.html", include_str!("../../templates/web/message.html")),
        ] {
            env.add_template(name, source).expect("templates are checked by the tests");
        }
        env
    })
}

/// Who is looking: a signed-in session or nobody.
#[derive(Default)]
pub struct Viewer {
    pub session: Option<Session>,
}

impl Viewer {
    pub fn actor(&self) -> Actor {
        self.session.as_ref().map(|s| s.actor.clone()).unwrap_or_else(Actor::anonymous)
    }

    pub fn role(&self) -> Role {
        self.session.as_ref().map(|s| s.actor.role).unwrap_or(Role::Anonymous)
    }

    /// The organisation a signed-in Kommune or coordinator acts for.
    pub fn organisation_id(&self) -> Option<crate::domain::OrganisationId> {
        self.session.as_ref().and_then(|s| s.actor.organisation_id)
    }

    /// What every page's layout shows of the viewer (`viewer` in the templates).
    fn view(&self) -> ViewerView {
        ViewerView {
            signed_in: self.session.is_some(),
            session: self.session.as_ref().map(|s| SessionView {
                subject: s.actor.subject.clone(),
                role: s.actor.role.code(),
                role_label: role_label(s.actor.role),
                organisation: s
                    .organisation
                    .as_ref()
                    .map(|o| OrganisationLink { name: o.name.clone(), slug: o.slug.clone() }),
                csrf: s.csrf.clone(),
            }),
        }
    }
}

/// The viewer as the templates see it; signed out, only `signed_in` (false).
#[derive(Serialize)]
struct ViewerView {
    signed_in: bool,
    #[serde(flatten)]
    session: Option<SessionView>,
}

#[derive(Serialize)]
struct SessionView {
    subject: String,
    role: &'static str,
    role_label: &'static str,
    organisation: Option<OrganisationLink>,
    /// The token every form of the session carries.
    csrf: String,
}

#[derive(Serialize)]
struct OrganisationLink {
    name: String,
    slug: String,
}

fn role_label(role: Role) -> &'static str {
    match role {
        Role::Anonymous => "nicht angemeldet",
        Role::Municipality => "Kommune",
        Role::Coordinator => "Koordination",
        Role::Admin => "Administration",
        Role::System => "System",
    }
}

/// What a handler answers.
pub enum Reply {
    Page {
        template: &'static str,
        status: StatusCode,
        /// The page's view model (a typed struct in `pages`), as the template engine's value.
        ctx: minijinja::Value,
    },
    /// 303 See Other: after a form, to the page that shows its outcome.
    Redirect(String),
    /// Signed in: set the session cookie, then go on.
    SignedIn { location: String, cookie: String },
    /// Signed out: clear the cookie.
    SignedOut,
}

/// A view model as the template engine's value.
fn view_value(model: impl Serialize) -> minijinja::Value {
    minijinja::Value::from(minijinja::value::Serde(&model))
}

/// A page: its template and its view model.
pub fn page(template: &'static str, ctx: impl Serialize) -> Reply {
    Reply::Page { template, status: StatusCode::OK, ctx: view_value(&ctx) }
}

/// A cookie of a request, if it was sent.
fn cookie(req: &HttpRequest, name: &str) -> Option<String> {
    let header = req.headers().get(header::COOKIE)?.to_str().ok()?;
    header.split(';').map(str::trim).find_map(|c| c.strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
}

/// The session cookie of a request, if any.
fn session_cookie(req: &HttpRequest) -> Option<String> {
    cookie(req, COOKIE)
}

/// A `Set-Cookie` value as every cookie of the pages is set: HttpOnly, Secure, SameSite=Lax; an
/// empty value with `max_age` 0 deletes it.
fn set_cookie(name: &str, value: &str, path: &str, max_age: u64) -> String {
    format!("{name}={value}; Path={path}; HttpOnly; Secure; SameSite=Lax; Max-Age={max_age}")
}

/// Runs a page or action on a pooled connection, with the viewer's session looked up first.
async fn run<F>(req: &HttpRequest, state: &AppState, f: F) -> HttpResponse
where
    F: FnOnce(&mut Db, &Viewer) -> AppResult<Reply> + Send + 'static,
{
    let cookie = session_cookie(req);
    let statements = Arc::new(AtomicUsize::new(0));
    let counter = statements.clone();
    let result = crate::http::blocking(state, move |conn| -> AppResult<(Viewer, AppResult<Reply>)> {
        conn.set_instrumentation(move |e: InstrumentationEvent<'_>| {
            if let InstrumentationEvent::StartQuery { query, .. } = e {
                counter.fetch_add(1, Ordering::Relaxed);
                tracing::trace!(target: "ozg_registry::sql", "{query}");
            }
        });
        let session = match cookie {
            Some(c) => session::find(conn, &c)?,
            None => None,
        };
        let viewer = Viewer { session };
        let reply = f(conn, &viewer);
        Ok((viewer, reply))
    })
    .await;
    let mut resp = match result {
        Ok((viewer, Ok(reply))) => respond(&viewer, reply),
        Ok((viewer, Err(e))) => error_page(&viewer, e),
        Err(e) => error_page(&Viewer::default(), e),
    };
    // Like /graphql: how many statements the page took (for tests that guard against one per row).
    if state.config.query_count_header
        && let Ok(v) = HeaderValue::from_str(&statements.load(Ordering::Relaxed).to_string())
    {
        resp.headers_mut().insert(header::HeaderName::from_static("x-db-queries"), v);
    }
    resp
}

/// A submitted form: its fields in order.
pub struct Form(Vec<(String, String)>);

impl Form {
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }

    /// A field with something in it (trimmed); empty counts as absent.
    pub fn text(&self, name: &str) -> Option<String> {
        self.get(name).map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
    }

    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0.iter().filter(|(k, _)| k == name).map(|(_, v)| v.as_str()).collect()
    }

    /// The fields by name (of a name sent twice, the last).
    pub fn fields(&self) -> std::collections::BTreeMap<String, String> {
        self.0.iter().cloned().collect()
    }

    /// A whole number field, or a clear error naming it.
    pub fn number(&self, name: &str) -> AppResult<i32> {
        self.get(name)
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| AppError::bad_input(name, format!("{name}: a whole number is required")))
    }
}

/// Whether a form post comes from a page of this server: `Origin` (or else `Referer`) must name
/// the request's own host; a post that names neither is let through to the CSRF token check.
fn same_origin(req: &HttpRequest) -> bool {
    let host = req.connection_info().host().to_owned();
    let named = req
        .headers()
        .get(header::ORIGIN)
        .or_else(|| req.headers().get(header::REFERER))
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    match named {
        None => true,
        Some(o) => {
            let rest = o.split_once("://").map(|(_, r)| r).unwrap_or("");
            rest.split('/').next() == Some(host.as_str())
        }
    }
}

/// Runs a form action: same origin, a well-formed body, a session (unless `anonymous_ok`), the
/// session's CSRF token; a refused attempt is recorded in the change log like one over GraphQL.
async fn run_form<F>(
    req: &HttpRequest,
    state: &AppState,
    body: web::Bytes,
    operation: &'static str,
    anonymous_ok: bool,
    f: F,
) -> HttpResponse
where
    F: FnOnce(&mut Db, &Viewer, &Form) -> AppResult<Reply> + Send + 'static,
{
    if !same_origin(req) {
        let e = AppError::user(ErrorCode::Forbidden, Some("origin"), "the form was sent from another site");
        return error_page(&Viewer::default(), e);
    }
    if body.len() > MAX_FORM {
        return error_page(&Viewer::default(), AppError::bad_input("form", "form: at most 64 KiB"));
    }
    let form = match serde_urlencoded::from_bytes::<Vec<(String, String)>>(&body) {
        Ok(f) => Form(f),
        Err(_) => {
            let e =
                AppError::user(ErrorCode::BadRequest, None, "the form data is not application/x-www-form-urlencoded");
            return error_page(&Viewer::default(), e);
        }
    };
    run(req, state, move |conn, viewer| {
        crate::service::attempt(conn, &viewer.actor(), operation, |conn, _| {
            if !anonymous_ok {
                let Some(s) = &viewer.session else {
                    return Err(AppError::user(ErrorCode::Unauthenticated, None, "please sign in first"));
                };
                if !form.get("csrf").is_some_and(|t| session::same_secret(t, &s.csrf)) {
                    return Err(AppError::user(
                        ErrorCode::Forbidden,
                        Some("csrf"),
                        "the form's security token does not match your session; reload the page and try again",
                    ));
                }
            }
            f(conn, viewer, &form)
        })
    })
    .await
}

fn secure_headers(mut resp: HttpResponse, private: bool) -> HttpResponse {
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("same-origin"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(if private { "no-store" } else { "no-cache" }));
    resp
}

fn render(viewer: &Viewer, template: &str, status: StatusCode, ctx: minijinja::Value) -> HttpResponse {
    let ctx = minijinja::context! { viewer => view_value(viewer.view()), ..ctx };
    let body = environment()
        .get_template(template)
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("rendering {template}: {e:#}"));
    match body {
        Ok(body) => secure_headers(
            HttpResponse::build(status).content_type("text/html; charset=utf-8").body(body),
            viewer.session.is_some(),
        ),
        Err(e) => {
            let incident = log_internal(&e);
            HttpResponse::InternalServerError()
                .content_type("text/plain; charset=utf-8")
                .body(format!("Interner Fehler (Vorgang {incident})."))
        }
    }
}

fn see_other(location: &str) -> actix_web::HttpResponseBuilder {
    let mut b = HttpResponse::SeeOther();
    b.insert_header((header::LOCATION, location.to_owned()));
    b
}

fn respond(viewer: &Viewer, reply: Reply) -> HttpResponse {
    match reply {
        Reply::Page { template, status, ctx } => render(viewer, template, status, ctx),
        Reply::Redirect(location) => see_other(&location).finish(),
        Reply::SignedIn { location, cookie } => see_other(&location)
            .insert_header((header::SET_COOKIE, set_cookie(COOKIE, &cookie, "/", session::SESSION_TTL.as_secs())))
            .insert_header((header::CACHE_CONTROL, "no-store"))
            .finish(),
        Reply::SignedOut => see_other("/?hinweis=abgemeldet")
            .insert_header((header::SET_COOKIE, set_cookie(COOKIE, "", "/", 0)))
            .finish(),
    }
}

/// What the error page (`message.html`) shows: what happened, what the field was, what to do,
/// and for an internal error or an unavailable database the incident the cause is logged under.
#[derive(Serialize)]
struct MessagePage {
    title: &'static str,
    hint: &'static str,
    detail: Option<String>,
    field: Option<String>,
    incident: Option<String>,
    code: &'static str,
}

/// A German page for an error: what happened, what the field was, what to do. The one mapping of
/// errors to pages: every page and form answers its errors here, with the status of
/// `http::status_of`. While the database is away or slow (`UNAVAILABLE`, `TIMEOUT`) it is 503
/// with `Retry-After` and no detail: the cause is logged under the incident the page names.
fn error_page(viewer: &Viewer, e: AppError) -> HttpResponse {
    let status = crate::http::status_of(e.code());
    let (title, hint) = match e.code() {
        ErrorCode::BadUserInput | ErrorCode::BadRequest => {
            ("Eingabe nicht gültig", "Bitte prüfen Sie die Angaben und senden Sie sie erneut.")
        }
        ErrorCode::NotFound => ("Nicht gefunden", "Der Eintrag oder Link existiert nicht (mehr)."),
        ErrorCode::Conflict => (
            "Inzwischen geändert",
            "Jemand hat den Eintrag inzwischen geändert. Bitte laden Sie die Seite neu und prüfen Sie den aktuellen Stand.",
        ),
        ErrorCode::Forbidden => ("Nicht erlaubt", "Diese Aktion ist für Ihre Anmeldung nicht freigegeben."),
        ErrorCode::IllegalTransition => {
            ("Dieser Schritt ist nicht möglich", "Der aktuelle Stand lässt diesen Schritt nicht zu.")
        }
        ErrorCode::AlreadyExists => ("Bereits vorhanden", "Dieser Eintrag besteht schon."),
        ErrorCode::Unauthenticated => {
            ("Anmeldung erforderlich", "Bitte melden Sie sich an, zum Beispiel mit dem Anmeldelink Ihrer Koordination.")
        }
        ErrorCode::RateLimited => ("Zu viele Anfragen", "Bitte versuchen Sie es gleich noch einmal."),
        ErrorCode::LimitExceeded => ("Anfrage zu umfangreich", "Bitte fragen Sie nach weniger Einträgen."),
        ErrorCode::Timeout | ErrorCode::Unavailable => ("Vorübergehend nicht erreichbar", crate::http::UNAVAILABLE_DE),
        ErrorCode::Internal => ("Interner Fehler", ""),
    };
    let retry = matches!(e.code(), ErrorCode::Timeout | ErrorCode::Unavailable);
    let (detail, field, incident) = match &e {
        AppError::User { message, .. } if retry => (None, None, Some(log_internal(message))),
        AppError::User { message, field, .. } => (Some(message.clone()), field.clone(), None),
        AppError::Internal(detail) => (None, None, Some(log_internal(detail))),
    };
    let ctx = MessagePage { title, hint, detail, field, incident, code: e.code().as_str() };
    let resp = render(viewer, "message.html", status, view_value(&ctx));
    if retry { crate::http::retry_later(resp) } else { resp }
}

/// The 503 page of the site for a document outside the pages (the newsletter's HTML, the
/// subscribers' links) that the database cannot answer now: the same page as the pages'.
pub(crate) fn unavailable_page(e: AppError) -> HttpResponse {
    error_page(&Viewer::default(), e)
}

/// Fixed notices a redirect may ask a page to show (`?hinweis=…`); anything else shows nothing.
pub fn notice(code: Option<&str>) -> Option<&'static str> {
    Some(match code? {
        "angemeldet" => "Sie sind angemeldet.",
        "abgemeldet" => "Sie sind abgemeldet.",
        "teilnahme-gemeldet" => "Ihre Meldung ist eingegangen. Die Koordination bestätigt sie.",
        "teilnahme-zurueckgezogen" => "Die Teilnahme ist zurückgezogen.",
        "teilnahme-bestaetigt" => "Die Teilnahme ist bestätigt.",
        "nachnutzung-bekundet" => "Ihr Interesse an der Nachnutzung ist erfasst.",
        "nachnutzung-zurueckgezogen" => "Die Nachnutzungserklärung ist zurückgezogen.",
        "nachnutzung-geaendert" => "Der Stand der Nachnutzung ist geändert.",
        "phase-geaendert" => "Die Phase ist geändert.",
        "stand-gespeichert" => "Der Sachstand ist gespeichert.",
        "meilenstein-angelegt" => "Der Meilenstein ist angelegt.",
        "meilenstein-erreicht" => "Der Meilenstein ist als erreicht eingetragen.",
        "schritt-angelegt" => "Der Schritt ist angelegt.",
        "schritt-gespeichert" => "Der Stand des Schritts ist gespeichert.",
        "aufruf-eroeffnet" => "Der Aufruf ist eröffnet.",
        "aufruf-geschlossen" => "Der Aufruf ist geschlossen.",
        "ausgabe-veroeffentlicht" => "Die Ausgabe des Newsletters ist veröffentlicht.",
        _ => return None,
    })
}
