//! Signing in with OpenID Connect: the authorization code flow with PKCE (S256), `state` and
//! `nonce`, at the issuers the API accepts tokens of (those configured with a web client id). The
//! ID token is checked like the issuer's access tokens (keys from its JWKS, `iss`, time, the role,
//! organisation and scope claims), addressed to the client (`aud`), and must carry the nonce.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use actix_web::{HttpRequest, HttpResponse, web};
use serde::Deserialize;
use serde_json::Value;

use super::{Reply, Viewer, error_page, respond, set_cookie};
use crate::auth::session::{self, Grant};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::http::{AppState, blocking};
use crate::store::auth as store;
use crate::store::rows::IssuerRow;

/// Largest discovery document or token response read.
const MAX_RESPONSE: usize = 256 * 1024;
/// How long a discovery document is reused.
const DISCOVERY_TTL: Duration = Duration::from_secs(3600);

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .expect("an HTTP client")
    })
}

#[derive(Clone)]
struct Endpoints {
    authorization: String,
    token: String,
}

fn unreachable(issuer: &str, what: &str) -> AppError {
    tracing::warn!(issuer, "OpenID Connect: {what}");
    AppError::user(ErrorCode::Unavailable, None, "the identity provider cannot be reached or answered unexpectedly")
}

async fn read_json(resp: reqwest::Response, issuer: &str) -> AppResult<Value> {
    let mut resp = resp;
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(|e| unreachable(issuer, &e.to_string()))? {
        if body.len() + chunk.len() > MAX_RESPONSE {
            return Err(unreachable(issuer, "answer larger than 256 KiB"));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| unreachable(issuer, &format!("not JSON: {e}")))
}

/// The issuer's endpoints from `/.well-known/openid-configuration`, cached for an hour.
async fn discover(issuer: &str) -> AppResult<Endpoints> {
    static CACHE: OnceLock<Mutex<HashMap<String, (Instant, Endpoints)>>> = OnceLock::new();
    let cache = CACHE.get_or_init(Mutex::default);
    if let Some((at, e)) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(issuer)
        && at.elapsed() < DISCOVERY_TTL
    {
        return Ok(e.clone());
    }
    let url = format!("{}/.well-known/openid-configuration", issuer.trim_end_matches('/'));
    let resp = client().get(&url).send().await.map_err(|e| unreachable(issuer, &e.to_string()))?;
    if !resp.status().is_success() {
        return Err(unreachable(issuer, &format!("discovery HTTP {}", resp.status())));
    }
    let doc = read_json(resp, issuer).await?;
    if doc["issuer"].as_str() != Some(issuer) {
        return Err(unreachable(issuer, "the discovery document names another issuer"));
    }
    let endpoint = |name: &str| {
        doc[name]
            .as_str()
            .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
            .map(str::to_owned)
            .ok_or_else(|| unreachable(issuer, &format!("no {name} in the discovery document")))
    };
    let e = Endpoints { authorization: endpoint("authorization_endpoint")?, token: endpoint("token_endpoint")? };
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(issuer.to_owned(), (Instant::now(), e.clone()));
    Ok(e)
}

/// The issuers people can sign in at (those with a web client id).
pub fn web_issuers(conn: &mut crate::store::Db) -> AppResult<Vec<IssuerRow>> {
    Ok(store::issuers(conn)?.into_iter().filter(|i| i.web_client_id.is_some()).collect())
}

fn redirect_uri(req: &HttpRequest, state: &AppState) -> String {
    format!("{}/anmelden/oidc/callback", crate::http::public_url(req, state))
}

/// The cookie that ties a sign-in under way to the browser that started it (against login CSRF: a
/// callback URL made by someone else's sign-in does not sign this browser in).
const STATE_COOKIE: &str = "ozg_oidc_state";

/// Where the state cookie is sent: only to the sign-in's own paths.
const STATE_PATH: &str = "/anmelden/oidc";

/// `GET /anmelden/oidc/{issuer id}`: off to the identity provider.
pub async fn start(req: HttpRequest, state: web::Data<AppState>, path: web::Path<i32>) -> HttpResponse {
    let id = path.into_inner();
    let result = async {
        let issuer = blocking(&state, move |c| Ok(web_issuers(c)?.into_iter().find(|i| i.id == id)))
            .await?
            .ok_or_else(|| AppError::not_found("issuer", format!("issuer: no sign-in with id {id}")))?;
        let endpoints = discover(&issuer.issuer).await?;
        let iss = issuer.issuer.clone();
        let s = blocking(&state, move |c| session::begin_oidc(c, &iss)).await?;
        let query = serde_urlencoded::to_string([
            ("response_type", "code"),
            ("client_id", issuer.web_client_id.as_deref().unwrap_or_default()),
            ("redirect_uri", &redirect_uri(&req, &state)),
            ("scope", "openid"),
            ("state", &s.state),
            ("nonce", &s.nonce),
            ("code_challenge", &s.code_challenge),
            ("code_challenge_method", "S256"),
        ])
        .map_err(|e| AppError::Internal(e.to_string()))?;
        let sep = if endpoints.authorization.contains('?') { '&' } else { '?' };
        Ok::<_, AppError>((format!("{}{sep}{query}", endpoints.authorization), s.state))
    }
    .await;
    match result {
        Ok((location, state)) => {
            let mut resp = respond(&Viewer::default(), Reply::Redirect(location));
            let cookie = set_cookie(STATE_COOKIE, &state, STATE_PATH, 600);
            if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&cookie) {
                resp.headers_mut().append(actix_web::http::header::SET_COOKIE, v);
            }
            resp
        }
        Err(e) => error_page(&Viewer::default(), e),
    }
}

#[derive(Deserialize)]
pub struct Callback {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
}

/// `GET /anmelden/oidc/callback?code=…&state=…`: back from the identity provider.
pub async fn callback(req: HttpRequest, state: web::Data<AppState>, q: web::Query<Callback>) -> HttpResponse {
    let q = q.into_inner();
    let started_here = super::cookie(&req, STATE_COOKIE);
    let previous = super::session_cookie(&req);
    let result = async {
        let returned = q.state.clone().unwrap_or_default();
        if !started_here.as_deref().is_some_and(|s| session::same_secret(s, &returned)) {
            return Err(AppError::user(
                ErrorCode::Forbidden,
                Some("state"),
                "state: this sign-in was not started in this browser; start again from the sign-in page",
            ));
        }
        // The sign-in is used up first, whatever happens next: a state works once.
        let (iss, verifier, nonce) = blocking(&state, move |c| session::finish_oidc(c, &returned)).await?;
        if let Some(e) = q.error.as_deref() {
            let e: String = e.chars().filter(|c| c.is_ascii_alphanumeric() || *c == '_').take(64).collect();
            return Err(AppError::user(
                ErrorCode::Unauthenticated,
                None,
                format!("the identity provider did not sign you in ({e})"),
            ));
        }
        let code = q.code.clone().filter(|c| !c.is_empty() && c.len() <= 4096).ok_or_else(|| {
            AppError::user(ErrorCode::Unauthenticated, Some("code"), "code: the identity provider sent no code")
        })?;
        let lookup = iss.clone();
        let issuer = blocking(&state, move |c| Ok(web_issuers(c)?.into_iter().find(|i| i.issuer == lookup)))
            .await?
            .ok_or_else(|| AppError::not_found("issuer", "issuer: sign-in at this issuer has been switched off"))?;
        let client_id = issuer.web_client_id.clone().unwrap_or_default();
        let endpoints = discover(&issuer.issuer).await?;
        let redirect = redirect_uri(&req, &state);
        let mut form = vec![
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", redirect.as_str()),
            ("client_id", client_id.as_str()),
            ("code_verifier", verifier.as_str()),
        ];
        if let Some(secret) = issuer.web_client_secret.as_deref() {
            form.push(("client_secret", secret));
        }
        let body = serde_urlencoded::to_string(&form).map_err(|e| AppError::Internal(e.to_string()))?;
        let resp = client()
            .post(&endpoints.token)
            .header("content-type", "application/x-www-form-urlencoded")
            .header("accept", "application/json")
            .body(body)
            .send()
            .await
            .map_err(|e| unreachable(&iss, &e.to_string()))?;
        let ok = resp.status().is_success();
        let answer = read_json(resp, &iss).await?;
        if !ok {
            tracing::warn!(issuer = iss.as_str(), "OpenID Connect: the token endpoint refused the code: {answer}");
            return Err(AppError::user(
                ErrorCode::Unauthenticated,
                Some("code"),
                "code: the identity provider did not accept the sign-in; start again",
            ));
        }
        let id_token = answer["id_token"]
            .as_str()
            .ok_or_else(|| unreachable(&iss, "the token response has no id_token"))?
            .to_owned();
        let verified = state
            .auth
            .verify_id_token(&id_token, &iss, &client_id, &nonce)
            .await
            .map_err(|e| AppError::user(ErrorCode::Unauthenticated, None, e.0))?;
        let opened = blocking(&state, move |c| {
            let actor = match verified.resolve(c) {
                Ok(Ok(a)) => a,
                Ok(Err(e)) => return Err(AppError::user(ErrorCode::Unauthenticated, None, e.0)),
                Err(e) => return Err(AppError::Internal(e)),
            };
            let grant = Grant {
                subject: actor.subject,
                role: actor.role,
                organisation_id: actor.organisation_id,
                scope: actor.scope,
            };
            crate::store::write_tx(c, |c| {
                if let Some(old) = &previous {
                    session::end(c, old)?;
                }
                session::open_session(c, &grant, &iss)
            })
        })
        .await?;
        Ok::<_, AppError>(opened)
    }
    .await;
    let mut resp = match result {
        Ok(s) => respond(
            &Viewer::default(),
            Reply::SignedIn { location: "/meine-beteiligungen?hinweis=angemeldet".into(), cookie: s.cookie },
        ),
        Err(e) => error_page(&Viewer::default(), e),
    };
    // The sign-in is over either way.
    let clear = set_cookie(STATE_COOKIE, "", STATE_PATH, 0);
    if let Ok(v) = actix_web::http::header::HeaderValue::from_str(&clear) {
        resp.headers_mut().append(actix_web::http::header::SET_COOKIE, v);
    }
    resp
}
