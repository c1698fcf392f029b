//! GraphiQL served from the binary: the page, its bootstrap script and the vendored GraphiQL,
//! React and ReactDOM builds (`assets/graphiql/`, see its README), under a Content-Security-Policy
//! that allows only this server's own scripts, styles and `/graphql`. The page loads nothing from
//! elsewhere.

use actix_web::http::StatusCode;
use actix_web::http::header::{self, HeaderValue};
use actix_web::{HttpRequest, HttpResponse, web};

use super::{AppState, fail};

/// The policy of the GraphiQL page and its assets: no inline script or style element, nothing from
/// another origin. GraphiQL's style sheet carries its fonts as `data:` URLs.
pub const CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; \
     img-src 'self' data:; font-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const PAGE: &str = include_str!("../../assets/graphiql/graphiql.html");

/// The files the page references, by name under `/graphiql/`.
const ASSETS: &[(&str, &str, &[u8])] = &[
    ("graphiql.min.js", JS, include_bytes!("../../assets/graphiql/graphiql.min.js")),
    ("graphiql.min.css", CSS, include_bytes!("../../assets/graphiql/graphiql.min.css")),
    ("react.production.min.js", JS, include_bytes!("../../assets/graphiql/react.production.min.js")),
    ("react-dom.production.min.js", JS, include_bytes!("../../assets/graphiql/react-dom.production.min.js")),
    ("start.js", JS, include_bytes!("../../assets/graphiql/start.js")),
    ("graphiql-page.css", CSS, include_bytes!("../../assets/graphiql/graphiql-page.css")),
];

const JS: &str = "text/javascript; charset=utf-8";
const CSS: &str = "text/css; charset=utf-8";

fn secured(mut resp: HttpResponse) -> HttpResponse {
    let h = resp.headers_mut();
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

fn switched_off(req: &HttpRequest) -> HttpResponse {
    fail(req, StatusCode::NOT_FOUND, "NOT_FOUND", "GraphiQL is switched off on this server")
}

/// `GET /graphiql`: the page.
pub async fn page(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    if !state.config.graphiql {
        return switched_off(&req);
    }
    secured(HttpResponse::Ok().content_type("text/html; charset=utf-8").body(PAGE))
}

/// `GET /graphiql/<file>`: one of the page's scripts and style sheets.
pub async fn asset(req: HttpRequest, path: web::Path<String>, state: web::Data<AppState>) -> HttpResponse {
    if !state.config.graphiql {
        return switched_off(&req);
    }
    match ASSETS.iter().find(|(name, _, _)| *name == path.as_str()) {
        Some((_, content_type, bytes)) => secured(
            HttpResponse::Ok()
                .content_type(*content_type)
                .insert_header((header::CACHE_CONTROL, "public, max-age=3600"))
                .body(*bytes),
        ),
        None => fail(&req, StatusCode::NOT_FOUND, "NOT_FOUND", "no such GraphiQL file"),
    }
}
