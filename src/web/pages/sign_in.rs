//! `/anmelden` and `/anmelden/link`: how to sign in, and a one-time sign-in link.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::{Deserialize, Serialize};

use super::super::{page, run};
use crate::error::AppError;
use crate::http::AppState;
use crate::store::read;

/// What `/anmelden` shows: the identity providers one can sign in with.
#[derive(Serialize)]
struct SignInPage {
    title: &'static str,
    nav: &'static str,
    issuers: Vec<IssuerLink>,
}

/// An identity provider people of this site sign in with.
#[derive(Serialize)]
struct IssuerLink {
    id: i32,
    name: String,
}

/// What `/anmelden/link` shows: whom the link signs in, before it is used.
#[derive(Serialize)]
struct SignInLinkPage {
    title: &'static str,
    code: String,
    organisation: Option<String>,
    role: &'static str,
}

/// `GET /anmelden`: how to sign in.
pub async fn sign_in(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    run(&req, &state, move |conn, _| {
        let issuers = crate::web::oidc::web_issuers(conn)?
            .into_iter()
            .map(|i| IssuerLink { id: i.id, name: i.display_name.unwrap_or(i.issuer) })
            .collect();
        Ok(page("sign_in.html", SignInPage { title: "Anmelden", nav: "sign_in", issuers }))
    })
    .await
}

#[derive(Deserialize)]
pub struct CodeQuery {
    code: Option<String>,
}

/// `GET /anmelden/link?code=…`: says whom the link signs in and asks to confirm. The link is used
/// only by the confirming POST, so a mail scanner that fetches links does not use it up.
pub async fn sign_in_link(req: HttpRequest, state: web::Data<AppState>, q: web::Query<CodeQuery>) -> HttpResponse {
    let code = q.into_inner().code.unwrap_or_default();
    run(&req, &state, move |conn, _| {
        let grant = crate::auth::session::peek_link(conn, &code)?
            .ok_or_else(|| AppError::not_found("code", "code: this sign-in link is unknown, used or expired"))?;
        let org = match grant.organisation_id {
            Some(id) => read::organisation_by_id(conn, id)?,
            None => None,
        };
        Ok(page(
            "sign_in_link.html",
            SignInLinkPage {
                title: "Anmelden",
                code,
                organisation: org.map(|o| o.name),
                role: crate::web::role_label(grant.role),
            },
        ))
    })
    .await
}
