//! Signing in to the web pages with OpenID Connect against an identity provider that runs in the
//! test: discovery, the authorization endpoint (which signs the configured person in at once), the
//! token endpoint (which checks the code, the redirect URI and the PKCE verifier) and its JWKS.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::auth::TestKey;
use crate::helpers::{TestApp, run_cli};
use crate::web::Browser;

/// What the provider has seen and how it behaves.
#[derive(Default)]
struct Provider {
    /// code → (redirect_uri, code_challenge, nonce, client_id)
    codes: HashMap<String, (String, String, String, String)>,
    /// The claims about the person who signs in (role, organisation).
    person: Value,
    /// Send a nonce other than the one asked for (a replayed ID token).
    wrong_nonce: bool,
    /// Token requests refused (bad code, redirect URI or verifier).
    refused: Vec<String>,
}

struct Idp {
    base: String,
    state: Arc<Mutex<Provider>>,
    handle: actix_web::dev::ServerHandle,
}

impl Drop for Idp {
    fn drop(&mut self) {
        let h = self.handle.clone();
        std::mem::drop(tokio::spawn(async move { h.stop(false).await }));
    }
}

impl Idp {
    async fn start(person: Value) -> Idp {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(Mutex::new(Provider { person, ..Default::default() }));
        let key = Arc::new(TestKey::new("idp-1"));
        let (b, s, k) = (base.clone(), state.clone(), key.clone());
        let server = HttpServer::new(move || {
            let (base, state, key) = (b.clone(), s.clone(), k.clone());
            let discovery = json!({
                "issuer": base,
                "authorization_endpoint": format!("{base}/authorize"),
                "token_endpoint": format!("{base}/token"),
                "jwks_uri": format!("{base}/jwks.json"),
                "response_types_supported": ["code"],
                "code_challenge_methods_supported": ["S256"],
            });
            let jwks = json!({ "keys": [key.jwk()] });
            let authorize_state = state.clone();
            let token_state = state.clone();
            App::new()
                .route(
                    "/.well-known/openid-configuration",
                    web::get().to(move || {
                        let d = discovery.clone();
                        async move { HttpResponse::Ok().json(d) }
                    }),
                )
                .route(
                    "/jwks.json",
                    web::get().to(move || {
                        let j = jwks.clone();
                        async move { HttpResponse::Ok().json(j) }
                    }),
                )
                .route(
                    "/authorize",
                    web::get().to(move |q: web::Query<HashMap<String, String>>| {
                        let state = authorize_state.clone();
                        async move {
                            assert_eq!(q["response_type"], "code");
                            assert_eq!(q["code_challenge_method"], "S256");
                            assert!(q["scope"].split(' ').any(|s| s == "openid"));
                            let mut code = [0u8; 16];
                            getrandom::fill(&mut code).unwrap();
                            let code = B64.encode(code);
                            state.lock().unwrap().codes.insert(
                                code.clone(),
                                (
                                    q["redirect_uri"].clone(),
                                    q["code_challenge"].clone(),
                                    q["nonce"].clone(),
                                    q["client_id"].clone(),
                                ),
                            );
                            let back = format!("{}?code={code}&state={}", q["redirect_uri"], q["state"]);
                            HttpResponse::SeeOther().insert_header(("location", back)).finish()
                        }
                    }),
                )
                .route(
                    "/token",
                    web::post().to(move |f: web::Form<HashMap<String, String>>| {
                        let (state, key, base) = (token_state.clone(), key.clone(), base.clone());
                        async move {
                            let mut p = state.lock().unwrap();
                            let refuse = |p: &mut Provider, why: &str| {
                                p.refused.push(why.to_owned());
                                HttpResponse::BadRequest().json(json!({ "error": "invalid_grant" }))
                            };
                            let Some((redirect, challenge, nonce, client)) = p.codes.remove(&f["code"]) else {
                                return refuse(&mut p, "unknown or used code");
                            };
                            if f.get("redirect_uri") != Some(&redirect) || f.get("client_id") != Some(&client) {
                                return refuse(&mut p, "redirect_uri or client_id");
                            }
                            let verifier = f.get("code_verifier").cloned().unwrap_or_default();
                            if B64.encode(Sha256::digest(verifier.as_bytes())) != challenge {
                                return refuse(&mut p, "PKCE verifier");
                            }
                            let now = jsonwebtoken::get_current_timestamp() as i64;
                            let mut claims = json!({
                                "iss": base, "sub": "amt-32@solingen.example", "aud": client,
                                "iat": now, "nbf": now, "exp": now + 300,
                                "nonce": if p.wrong_nonce { "another".to_owned() } else { nonce },
                            });
                            for (k, v) in p.person.as_object().unwrap() {
                                claims[k] = v.clone();
                            }
                            let id_token = key.sign(&claims, "JWT");
                            HttpResponse::Ok().json(json!({
                                "access_token": "opaque", "token_type": "Bearer", "id_token": id_token,
                            }))
                        }
                    }),
                )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Idp { base, state, handle }
    }
}

/// Follows the sign-in: registry → provider → registry; returns the registry's final answer.
async fn sign_in_at(b: &mut Browser<'_>, app: &TestApp) -> (u16, String) {
    let page = b.get("/anmelden").await;
    let start = page.body.split("href=\"/anmelden/oidc/").nth(1).expect("a sign-in button").split('"').next().unwrap();
    let to_idp = b.get(&format!("/anmelden/oidc/{start}")).await;
    assert_eq!(to_idp.status, 303, "{}", to_idp.body);
    let authorize = to_idp.location.unwrap();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let back = http.get(&authorize).send().await.unwrap();
    let callback = back.headers()["location"].to_str().unwrap().to_owned();
    let path = callback.strip_prefix(&app.addr).expect("back to this registry");
    let done = b.get(path).await;
    (done.status, path.to_owned())
}

async fn add_issuer(app: &TestApp, idp: &Idp) {
    let url = app.db_url();
    let args: Vec<String> = [
        "issuer",
        "add",
        "--issuer",
        &idp.base,
        "--jwks-url",
        &format!("{}/jwks.json", idp.base),
        "--web-client-id",
        "ozg-registry-web",
        "--name",
        "Test-Dienstkonto",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let (ok, out) =
        tokio::task::spawn_blocking(move || run_cli(&url, &args.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap();
    assert!(ok, "{out}");
}

async fn sign_in_with_openid_connect(app: &TestApp) {
    let idp = Idp::start(json!({ "ozg_role": "municipality", "ozg_org": "05122000" })).await;
    add_issuer(app, &idp).await;
    let mut b = Browser::new(app);
    let page = b.get("/anmelden").await;
    assert!(page.body.contains("Anmelden mit Test-Dienstkonto"));

    // The way out carries PKCE (S256), state and nonce.
    let start = page.body.split("href=\"/anmelden/oidc/").nth(1).unwrap().split('"').next().unwrap().to_owned();
    let out = b.get(&format!("/anmelden/oidc/{start}")).await;
    let location = out.location.unwrap();
    assert!(location.starts_with(&format!("{}/authorize?", idp.base)));
    for p in ["code_challenge=", "code_challenge_method=S256", "state=", "nonce=", "client_id=ozg-registry-web"] {
        assert!(location.contains(p), "{p} in {location}");
    }

    let (status, callback) = sign_in_at(&mut b, app).await;
    assert_eq!(status, 303);
    assert!(b.get("/meine-beteiligungen").await.body.contains("Stadt Solingen"), "signed in as Solingen");
    assert!(idp.state.lock().unwrap().refused.is_empty(), "the provider accepted code and verifier");

    // The same answer again (a replayed callback) signs nobody in: not in this browser (the sign-in
    // is used up), and not in another one (it did not start the sign-in: no login CSRF).
    let mut other = Browser::new(app);
    let replay = other.get(&callback).await;
    assert_eq!(replay.status, 403, "{}", replay.body);
    assert!(replay.body.contains("state"));
    assert!(other.get("/meine-beteiligungen").await.status == 401);
    let (status, replayed_here) = {
        let mut again = Browser::new(app);
        let (s, _) = sign_in_at(&mut again, app).await;
        assert_eq!(s, 303);
        // The browser that finished a sign-in holds no state cookie any more; start one and
        // present the old answer: its state is not this sign-in's.
        again.get(&format!("/anmelden/oidc/{start}")).await;
        let r = again.get(&callback).await;
        (r.status, r.body)
    };
    assert_eq!(status, 403, "{replayed_here}");
    // A made-up state neither.
    let forged = other.get("/anmelden/oidc/callback?code=x&state=AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").await;
    assert_eq!(forged.status, 403);
    // The provider saying no.
    let mut c = Browser::new(app);
    let page = c.get(&format!("/anmelden/oidc/{start}")).await;
    let state = page.location.unwrap().split("state=").nth(1).unwrap().split('&').next().unwrap().to_owned();
    let denied = c.get(&format!("/anmelden/oidc/callback?error=access_denied&state={state}")).await;
    assert_eq!(denied.status, 401);
    assert!(denied.body.contains("access_denied"));

    // An ID token for another sign-in (wrong nonce) is refused.
    idp.state.lock().unwrap().wrong_nonce = true;
    let mut d = Browser::new(app);
    let (status, _) = sign_in_at(&mut d, app).await;
    assert_eq!(status, 401);
    assert_eq!(d.get("/meine-beteiligungen").await.status, 401);
    idp.state.lock().unwrap().wrong_nonce = false;
}

async fn openid_connect_person_unknown_to_the_registry(app: &TestApp) {
    // The provider vouches for an organisation this registry does not know: no session.
    let idp = Idp::start(json!({ "ozg_role": "municipality", "ozg_org": "09999999" })).await;
    add_issuer(app, &idp).await;
    let mut b = Browser::new(app);
    let (status, _) = sign_in_at(&mut b, app).await;
    assert_eq!(status, 401);
    assert_eq!(b.get("/meine-beteiligungen").await.status, 401);
}

both_backends!(sign_in_with_openid_connect, openid_connect_person_unknown_to_the_registry);
