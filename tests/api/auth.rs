//! Tokens, roles and scopes, the audit trail and personal data.

use std::sync::{Arc, Mutex};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use crate::helpers::*;

const WHOAMI: &str = "{ changes(first: 1) { totalCount } }";
const SIGN_UP: &str =
    "mutation($i: SignUpInput!) { signUp(input: $i) { participation { id } userErrors { code message } } }";

/// An Ed25519 key pair for tests, as PKCS#8 DER and raw public key.
pub(crate) struct TestKey {
    kid: String,
    encoding: EncodingKey,
    public: Vec<u8>,
}

impl TestKey {
    pub(crate) fn new(kid: &str) -> Self {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).unwrap();
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes().to_vec();
        let mut der =
            vec![0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];
        der.extend_from_slice(&seed);
        TestKey { kid: kid.into(), encoding: EncodingKey::from_ed_der(&der), public }
    }
    pub(crate) fn jwk(&self) -> Value {
        json!({ "kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": self.kid, "x": B64.encode(&self.public) })
    }
    pub(crate) fn sign(&self, claims: &Value, typ: &str) -> String {
        let mut h = Header::new(Algorithm::EdDSA);
        h.kid = Some(self.kid.clone());
        h.typ = Some(typ.into());
        jsonwebtoken::encode(&h, claims, &self.encoding).unwrap()
    }
}

fn now() -> i64 {
    jsonwebtoken::get_current_timestamp() as i64
}

/// A JWKS endpoint on 127.0.0.1 whose key set the test can change (key rotation).
struct JwksServer {
    url: String,
    keys: Arc<Mutex<Value>>,
    handle: actix_web::dev::ServerHandle,
}

impl JwksServer {
    async fn start(keys: Value) -> Self {
        use actix_web::{App, HttpResponse, HttpServer, web};
        let shared = Arc::new(Mutex::new(keys));
        let data = web::Data::from(shared.clone());
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
        let server = HttpServer::new(move || {
            App::new().app_data(data.clone()).route(
                "/jwks.json",
                web::get()
                    .to(|d: web::Data<Mutex<Value>>| async move { HttpResponse::Ok().json(d.lock().unwrap().clone()) }),
            )
        })
        .workers(1)
        .listen(listener)
        .unwrap()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        JwksServer { url, keys: shared, handle }
    }
    fn publish(&self, keys: Value) {
        *self.keys.lock().unwrap() = keys;
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        let h = self.handle.clone();
        std::mem::drop(tokio::spawn(async move { h.stop(false).await }));
    }
}

async fn status_of(app: &TestApp, authorization: &str) -> (u16, String, Value) {
    let body = json!({ "query": WHOAMI }).to_string();
    let r = app.post_with(body, "application/json", Some(authorization)).await;
    let status = r.status().as_u16();
    let www = r.headers().get("www-authenticate").map(|h| h.to_str().unwrap().to_owned()).unwrap_or_default();
    let v: Value = r.json().await.unwrap();
    (status, www, v)
}

async fn assert_refused(app: &TestApp, token: &str, why: &str) {
    let (status, www, v) = status_of(app, &format!("Bearer {token}")).await;
    assert_eq!(status, 401, "{why}: {v}");
    assert!(www.starts_with("Bearer error=\"invalid_token\""), "{why}: {www}");
    assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{why}");
    assert_no_internals(&v);
}

async fn local_tokens(app: &TestApp) {
    let before = app.change_count().await;
    // No header: an anonymous reader, who cannot write; the attempt is recorded.
    let v = app.gql_as(None, WHOAMI, json!({})).await;
    assert!(v.get("errors").is_none());
    let v = app
        .gql_as(
            None,
            SIGN_UP,
            json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05913000" }, "role": "PILOT" } }),
        )
        .await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{v}");
    assert!(v["data"]["signUp"].is_null());

    // Malformed headers and tokens are refused with 401, never treated as anonymous.
    for (header, why) in [
        ("Bearer ", "empty"),
        ("Basic YWRtaW46YWRtaW4=", "other scheme"),
        ("Bearer abc.def.ghi", "garbage"),
        ("Bearer not-a-jwt", "garbage"),
    ] {
        let (status, www, _) = status_of(app, header).await;
        assert_eq!(status, 401, "{why}");
        assert!(www.contains("invalid_token"));
    }

    let good = app.token(&["--role", "municipality", "--org", "ags:05913000"]).await;
    let (status, _, _) = status_of(app, &format!("Bearer {good}")).await;
    assert_eq!(status, 200);
    let parts: Vec<&str> = good.split('.').collect();
    let header: Value = serde_json::from_slice(&B64.decode(parts[0]).unwrap()).unwrap();
    let mut claims: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(header["alg"], "EdDSA");
    let kid = header["kid"].as_str().unwrap();

    // The published key set has the kid.
    let jwks: Value =
        app.client.get(format!("{}/.well-known/jwks.json", app.addr)).send().await.unwrap().json().await.unwrap();
    let x = jwks["keys"].as_array().unwrap().iter().find(|k| k["kid"] == kid).expect("kid published")["x"].clone();

    // alg "none".
    let none_header = B64.encode(json!({ "alg": "none", "typ": "at+jwt", "kid": kid }).to_string());
    assert_refused(app, &format!("{none_header}.{}.", parts[1]), "alg none").await;
    // A payload changed after signing (promoted to admin).
    claims["role"] = json!("admin");
    let tampered = format!("{}.{}.{}", parts[0], B64.encode(claims.to_string()), parts[2]);
    assert_refused(app, &tampered, "tampered payload").await;
    // Signed by another key under the same kid.
    let mut c: Value = serde_json::from_slice(&B64.decode(parts[1]).unwrap()).unwrap();
    c["role"] = json!("admin");
    let forged = TestKey::new(kid).sign(&c, "at+jwt");
    assert_refused(app, &forged, "wrong key").await;
    // HS256 "signed" with the public key as the secret (algorithm confusion).
    let public = B64.decode(x.as_str().unwrap()).unwrap();
    let mut hs = Header::new(Algorithm::HS256);
    hs.kid = Some(kid.into());
    hs.typ = Some("at+jwt".into());
    let confused = jsonwebtoken::encode(&hs, &c, &EncodingKey::from_secret(&public).unwrap()).unwrap();
    assert_refused(app, &confused, "HS/EdDSA confusion").await;
    // An unknown kid.
    let stranger = TestKey::new("unknown-kid").sign(&c, "at+jwt");
    assert_refused(app, &stranger, "unknown kid").await;
    // A wrong typ.
    let mut h = Header::new(Algorithm::EdDSA);
    h.kid = Some(kid.into());
    h.typ = Some("JWT".into());
    let jwt_typ = format!("{}.{}.{}", B64.encode(serde_json::to_string(&h).unwrap()), parts[1], parts[2]);
    assert_refused(app, &jwt_typ, "typ").await;

    // Revocation by jti.
    let jti =
        serde_json::from_slice::<Value>(&B64.decode(parts[1]).unwrap()).unwrap()["jti"].as_str().unwrap().to_owned();
    let url = app.db_url();
    let (ok, out) = tokio::task::spawn_blocking(move || run_cli(&url, &["token", "revoke", &jti])).await.unwrap();
    assert!(ok, "{out}");
    let (status, www, _) = status_of(app, &format!("Bearer {good}")).await;
    assert_eq!(status, 401);
    assert!(www.contains("revoked"), "{www}");

    // Forged and refused tokens changed nothing; the one recorded entry is the anonymous attempt.
    assert_eq!(app.change_count().await, before + 1);
    let d = app
        .data(
            r#"{ changes(entityType: "Denied", first: 10) { edges { node { outcome actor actorRole summary } } } }"#,
            json!({}),
        )
        .await;
    let denied = &d["changes"]["edges"][0]["node"];
    assert_eq!(denied["outcome"], "DENIED");
    assert_eq!(denied["actorRole"], "anonymous");
    let anon = app.gql_as(None, r#"{ changes(first: 20, entityType: "Denied") { totalCount } }"#, json!({})).await;
    assert_eq!(anon["data"]["changes"]["totalCount"], 0, "denied attempts are not public");
}

async fn external_issuer_with_rotation(app: &TestApp) {
    let a = TestKey::new("key-a");
    let jwks = JwksServer::start(json!({ "keys": [a.jwk()] })).await;
    let url = app.db_url();
    let jwks_url = jwks.url.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        run_cli(
            &url,
            &[
                "issuer",
                "add",
                "--issuer",
                "https://idp.nrw.example",
                "--jwks-url",
                &jwks_url,
                "--scope-claim",
                "ozg_scope",
            ],
        )
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    let claims = |patch: Value| {
        let mut c = json!({
            "iss": "https://idp.nrw.example", "aud": "ozg-registry", "sub": "koordination-kdn",
            "iat": now(), "nbf": now(), "exp": now() + 600, "jti": format!("ext-{}", now()),
            "ozg_role": "coordinator", "ozg_org": "kdn", "ozg_scope": ["topic:ein_auswanderung"]
        });
        for (k, v) in patch.as_object().unwrap() {
            if v.is_null() {
                c.as_object_mut().unwrap().remove(k);
            } else {
                c[k] = v.clone();
            }
        }
        c
    };
    let good = a.sign(&claims(json!({})), "JWT");
    let phase = "mutation($i: ChangePhaseInput!) { changeProjectPhase(input: $i) { project { phase } userErrors { code message } } }";
    let v = app.project_version("reiseausweis").await;
    let r = app
        .gql_as(
            Some(&good),
            phase,
            json!({ "i": { "slug": "reiseausweis", "expectedVersion": v, "phase": "IMPLEMENTATION" } }),
        )
        .await;
    assert_eq!(r["data"]["changeProjectPhase"]["project"]["phase"], "IMPLEMENTATION", "{r}");
    let d = app.data(r#"{ changes(projectSlug: "reiseausweis", first: 100) { edges { node { actor actorRole actorIssuer actorOrganisation { slug } } } } }"#, json!({})).await;
    let last = &d["changes"]["edges"].as_array().unwrap().last().unwrap()["node"];
    assert_eq!(last["actor"], "koordination-kdn");
    assert_eq!(last["actorRole"], "coordinator");
    assert_eq!(last["actorIssuer"], "https://idp.nrw.example");
    assert_eq!(last["actorOrganisation"]["slug"], "kdn");

    for (patch, why) in [
        (json!({ "exp": now() - 120 }), "expired"),
        (json!({ "nbf": now() + 600 }), "not yet valid"),
        (json!({ "aud": "another-service" }), "wrong audience"),
        (json!({ "aud": null }), "missing audience"),
        (json!({ "sub": null }), "missing subject"),
        (json!({ "iss": "https://evil.example" }), "unknown issuer"),
        (json!({ "ozg_role": "superuser" }), "unknown role"),
        (json!({ "ozg_org": "no-such-org" }), "unknown organisation"),
    ] {
        assert_refused(app, &a.sign(&claims(patch), "JWT"), why).await;
    }
    assert_refused(app, &a.sign(&claims(json!({})), "application/example"), "typ").await;

    // Rotation: the issuer publishes a new key; a token with its kid makes us fetch the set again.
    let b = TestKey::new("key-b");
    jwks.publish(json!({ "keys": [b.jwk()] }));
    let fresh = b.sign(&claims(json!({ "jti": "rotated" })), "JWT");
    let (status, _, v) = status_of(app, &format!("Bearer {fresh}")).await;
    assert_eq!(status, 200, "{v}");
    // The old key is gone from the set after the refresh.
    assert_refused(app, &a.sign(&claims(json!({ "jti": "old" })), "JWT"), "retired key").await;

    // Out of scope: the coordinator of Ein- & Auswanderung cannot change a Familie & Kind project.
    let create =
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { slug } userErrors { code } } }";
    let d = app.data(create, json!({ "i": { "slug": "elterngeld", "title": "Elterngeld", "deliveryModel": "UNDECIDED", "ozgIds": ["10000"] } })).await;
    assert_eq!(d["createProject"]["project"]["slug"], "elterngeld");
    let r = app
        .gql_as(
            Some(&fresh),
            phase,
            json!({ "i": { "slug": "elterngeld", "expectedVersion": 1, "phase": "CONCEPTION" } }),
        )
        .await;
    assert_eq!(r["data"]["changeProjectPhase"]["userErrors"][0]["code"], "FORBIDDEN", "{r}");
    assert_eq!(app.project_version("elterngeld").await, 1);
}

both_backends!(local_tokens, external_issuer_with_rotation);

async fn contacts_are_personal_data(app: &TestApp) {
    let add =
        "mutation($i: AddContactInput!) { addContact(input: $i) { contact { name email } userErrors { code field } } }";
    let d = app
        .data(add, json!({ "i": { "projectSlug": "einbuergerung", "name": "Erika Mustermann", "function": "Projektleitung", "email": "erika@example.org" } }))
        .await;
    assert_eq!(d["addContact"]["contact"]["email"], "erika@example.org");
    for (patch, field) in [
        (json!({ "email": "not-an-address" }), "email"),
        (json!({ "phone": "call me" }), "phone"),
        (json!({ "organisation": { "slug": "kdn" } }), "organisation"),
    ] {
        let mut i = json!({ "projectSlug": "einbuergerung", "name": "X" });
        for (k, v) in patch.as_object().unwrap() {
            i[k] = v.clone();
        }
        let d = app.data(add, json!({ "i": i })).await;
        assert_eq!(user_error(&d, "addContact")["field"], field);
    }

    let q = r#"{ project(slug: "einbuergerung") { title contacts { name email } } }"#;
    let anon = app.gql_as(None, q, json!({})).await;
    assert_eq!(anon["data"]["project"]["title"], "Einbürgerung");
    assert!(anon["data"]["project"]["contacts"].is_null());
    assert_eq!(anon["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let kommune = app.token(&["--role", "municipality", "--org", "ags:05913000"]).await;
    let signed_in = app.gql_as(Some(&kommune), q, json!({})).await;
    assert_eq!(signed_in["data"]["project"]["contacts"][0]["name"], "Erika Mustermann");

    // An organisation's contacts are read back the same way.
    let d = app
        .data(add, json!({ "i": { "organisation": { "slug": "kdn" }, "name": "Max Beispiel", "function": "Themenfeld-Koordination" } }))
        .await;
    assert_eq!(d["addContact"]["contact"]["name"], "Max Beispiel", "{d}");
    let q = r#"{ organisation(slug: "kdn") { name contacts { name function } } }"#;
    let anon = app.gql_as(None, q, json!({})).await;
    assert!(anon["data"]["organisation"]["name"].is_string(), "{anon}");
    assert!(anon["data"]["organisation"]["contacts"].is_null());
    assert_eq!(anon["errors"][0]["extensions"]["code"], "UNAUTHENTICATED");
    let signed_in = app.gql_as(Some(&kommune), q, json!({})).await;
    assert_eq!(
        signed_in["data"]["organisation"]["contacts"],
        json!([{ "name": "Max Beispiel", "function": "Themenfeld-Koordination" }]),
        "{signed_in}"
    );

    // The public change log says that a contact was added, not who it is nor who added it.
    let log =
        r#"{ changes(first: 20, entityType: "Contact") { edges { node { summary actor fields { field after } } } } }"#;
    let public = app.gql_as(None, log, json!({})).await;
    let entry = &public["data"]["changes"]["edges"][0]["node"];
    assert!(!entry.to_string().contains("Erika"), "{entry}");
    assert!(entry["actor"].is_null());
    assert_eq!(entry["fields"], json!([]));
    let municipal = app.gql_as(Some(&kommune), log, json!({})).await;
    let entry = &municipal["data"]["changes"]["edges"][0]["node"];
    assert!(entry["actor"].is_null(), "only coordinators and admins see who");
    assert!(entry["fields"].to_string().contains("Erika"));
    let admin = app.data(log, json!({})).await;
    assert_eq!(admin["changes"]["edges"][0]["node"]["actor"], "test-admin");
}

async fn audit_chain_is_append_only_and_verified(app: &TestApp) {
    app.data(
        "mutation { signUp(input: {projectSlug: \"einbuergerung\", organisation: {ags: \"05913000\"}, role: PILOT}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    let url = app.db_url();
    let verify = move || run_cli(&url, &["audit", "verify"]);
    let (ok, out) = tokio::task::spawn_blocking(verify.clone()).await.unwrap();
    assert!(ok && out.contains("intact"), "{out}");

    let url = app.db_url();
    let backend = app.backend();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let pool = ozg_registry::store::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        // The database itself refuses to change or delete entries.
        for sql in ["UPDATE change_log SET summary = 'x' WHERE id = 1", "DELETE FROM change_log WHERE id = 1"] {
            let r = diesel::sql_query(sql).execute(&mut *conn);
            assert!(r.is_err(), "{sql} was allowed");
        }
        // Someone with the database owner's rights removes the guard and edits history …
        let drop = match backend {
            Backend::Sqlite => "DROP TRIGGER change_log_no_update",
            Backend::Postgres => "DROP TRIGGER change_log_append_only ON change_log",
        };
        diesel::sql_query(drop).execute(&mut *conn).unwrap();
        diesel::sql_query(
            "UPDATE change_log SET summary = 'nichts passiert' WHERE id = (SELECT MAX(id) FROM change_log)",
        )
        .execute(&mut *conn)
        .unwrap();
    })
    .await
    .unwrap();
    // … and the chain shows it.
    let (ok, out) = tokio::task::spawn_blocking(verify).await.unwrap();
    assert!(!ok, "{out}");
    assert!(out.contains("changed"), "{out}");
}

both_backends!(contacts_are_personal_data, audit_chain_is_append_only_and_verified);

/// Authentication comes first: an anonymous write with invalid input (a malformed OZG-ID that the
/// scalar refuses, an empty slug the service refuses) is UNAUTHENTICATED, not BAD_USER_INPUT, and
/// the refused attempt is recorded; the writes anyone may make still check their input.
async fn anonymous_writes_are_refused_before_their_input_is_read(app: &TestApp) {
    let create =
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { slug } userErrors { code field } } }";
    let before = app.change_count().await;
    for input in [
        json!({ "slug": "x", "title": "X", "ozgIds": ["abc"] }),
        json!({ "slug": "", "title": "", "ozgIds": ["10255"] }),
        json!({ "title": "missing slug" }),
    ] {
        let v = app.gql_as(None, create, json!({ "i": input })).await;
        assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{input}: {v}");
        assert_eq!(v["errors"].as_array().unwrap().len(), 1, "{v}");
        assert!(v["errors"][0]["message"].as_str().unwrap().contains("Authorization: Bearer"), "{v}");
    }
    let literal = r#"mutation { signUp(input: {projectSlug: "", role: PILOT, organisation: {ags: "123"}}) { userErrors { code } } }"#;
    let v = app.gql_as(None, literal, json!({})).await;
    assert_eq!(v["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{v}");
    assert_eq!(app.change_count().await, before + 4, "each refused attempt is recorded, nothing else");
    // A write anyone may make checks its input as before.
    let sub = "mutation($i: SubscribeInput!) { subscribeNewsletter(input: $i) { code field } }";
    let v = app.gql_as(None, sub, json!({ "i": { "definition": "nope", "email": "not-an-address" } })).await;
    assert!(v.get("errors").is_none(), "{v}");
    let code = v["data"]["subscribeNewsletter"][0]["code"].as_str().unwrap_or_else(|| panic!("{v}"));
    assert_ne!(code, "UNAUTHENTICATED", "{v}");
}

both_backends!(anonymous_writes_are_refused_before_their_input_is_read);

/// An identity provider whose key set never arrives (a socket that accepts and stays silent).
async fn silent_jwks() -> (String, tokio::task::JoinHandle<()>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/jwks.json", listener.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    (url, task)
}

/// One slow identity provider does not stall sign-ins with another: the download of its keys
/// holds no lock that a token of another issuer waits on.
async fn slow_identity_provider_stalls_only_its_own_tokens(app: &TestApp) {
    let (slow_url, silent) = silent_jwks().await;
    let a = TestKey::new("key-a");
    let fast = JwksServer::start(json!({ "keys": [a.jwk()] })).await;
    let url = app.db_url();
    let fast_url = fast.url.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        let slow = run_cli(&url, &["issuer", "add", "--issuer", "https://slow.example", "--jwks-url", &slow_url]);
        let fast = run_cli(&url, &["issuer", "add", "--issuer", "https://idp.nrw.example", "--jwks-url", &fast_url]);
        (slow.0 && fast.0, format!("{}{}", slow.1, fast.1))
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    let token = |iss: &str| {
        a.sign(
            &json!({ "iss": iss, "aud": "ozg-registry", "sub": "jemand", "iat": now(), "nbf": now(),
                     "exp": now() + 600, "jti": format!("slow-{iss}-{}", now()), "ozg_role": "admin" }),
            "JWT",
        )
    };
    let (slow_token, fast_token) = (token("https://slow.example"), token("https://idp.nrw.example"));
    let body = json!({ "query": WHOAMI }).to_string();
    let slow_request = {
        let (client, addr, body) = (app.client.clone(), format!("{}/graphql", app.addr), body.clone());
        tokio::spawn(async move {
            let started = std::time::Instant::now();
            let r = client
                .post(addr)
                .header("content-type", "application/json")
                .bearer_auth(slow_token)
                .body(body)
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), started.elapsed())
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let started = std::time::Instant::now();
    let (status, _, v) = status_of(app, &format!("Bearer {fast_token}")).await;
    let fast_took = started.elapsed();
    assert_eq!(status, 200, "{v}");
    assert!(!slow_request.is_finished(), "the slow provider's request should still be waiting");
    assert!(fast_took < std::time::Duration::from_secs(2), "the other issuer's token waited {fast_took:?}");
    let (slow_status, slow_took) = slow_request.await.unwrap();
    assert_eq!(slow_status, 401, "a key set that never arrives is no key");
    assert!(slow_took >= std::time::Duration::from_secs(3), "{slow_took:?}");
    silent.abort();
}

both_backends!(slow_identity_provider_stalls_only_its_own_tokens);
