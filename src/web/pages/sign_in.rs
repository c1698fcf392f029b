//! `/anmelden` and `/anmelden/link`: how to sign in, and a one-time sign-in link.

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::{Value, json};

use super::super::{page, run};
use crate::error::AppError;
use crate::http::AppState;
use crate::store::read;

/// `GET /anmelden`: how to sign in.
pub async fn sign_in(req: HttpRequest, state: web::Data<AppState>) -> HttpResponse {
    run(&req, &state, move |conn, _| {
        let issuers: Vec<Value> = crate::web::oidc::web_issuers(conn)?
            .into_iter()
            .map(|i| json!({ "id": i.id, "name": i.display_name.unwrap_or(i.issuer) }))
            .collect();
        Ok(page("sign_in.html", json!({ "title": "Anmelden", "nav": "sign_in", "issuers": issuers })))
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
            json!({
                "title": "Anmelden",
                "code": code,
                "organisation": org.map(|o| o.name),
                "role": crate::web::role_label(grant.role),
            }),
        ))
    })
    .await
}
