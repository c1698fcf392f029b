//! Federation: two registries on 127.0.0.1 (one on SQLite, one on PostgreSQL) replicate each
//! other's records; a hostile or broken peer imports nothing wrong and is recovered from.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::helpers::*;

async fn cli(app: &TestApp, args: &[&str]) -> (bool, String) {
    cli_on(app.db_url(), args, &[]).await
}

async fn cli_on(url: String, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
    let mut env: Vec<(String, String)> = env.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    env.push(("OZG_REGISTRY_PEER_TIMEOUT_SECS".into(), "2".into()));
    tokio::task::spawn_blocking(move || {
        let env: Vec<(&str, &str)> = env.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        run_cli_env(&url, &args.iter().map(String::as_str).collect::<Vec<_>>(), &env)
    })
    .await
    .unwrap()
}

async fn set_identity(app: &TestApp, id: &str) {
    let (ok, out) = cli(app, &["federation", "identity", "--instance-id", id]).await;
    assert!(ok && out.contains(id), "{out}");
}

async fn add_peer(app: &TestApp, peer_url: &str, id: &str) {
    let (ok, out) =
        cli(app, &["federation", "peer", "add", "--url", peer_url, "--instance-id", id, "--trust-fetched-key"]).await;
    assert!(ok, "{out}");
}

/// Runs one sync with the peer; returns whether it succeeded and the CLI's report.
async fn sync(app: &TestApp, peer: &str, force: bool) -> (bool, String) {
    let mut args = vec!["federation", "sync", "--peer", peer];
    if force {
        args.push("--force");
    }
    cli(app, &args).await
}

const PROJECT: &str = "query($s: String!) { project(slug: $s) { slug title origin homedHere version
    calls { id title origin } reuseDeclarations { status origin homedHere organisation { ags } } } }";

/// All projects and those homed here.
async fn count(app: &TestApp) -> (i64, i64) {
    let v = app
        .data("{ all: projects(first: 1) { totalCount } mine: projects(first: 1, filter: {homedHere: true}) { totalCount } }", json!({}))
        .await;
    (v["all"]["totalCount"].as_i64().unwrap(), v["mine"]["totalCount"].as_i64().unwrap())
}

async fn two_registries_replicate(a: &TestApp, b: &TestApp) {
    set_identity(a, "a.test").await;
    set_identity(b, "b.test").await;
    // An instance id that does not fit is refused.
    let (ok, out) = cli(a, &["federation", "identity", "--instance-id", "x"]).await;
    assert!(!ok && out.contains("instance id"), "{out}");
    let info: Value =
        a.client.get(format!("{}/.well-known/ozg-registry", a.addr)).send().await.unwrap().json().await.unwrap();
    assert_eq!(info["id"], "a.test");
    assert_eq!(info["publicKey"]["crv"], "Ed25519");

    // A peer is registered only with the instance id it really has.
    let (ok, out) =
        cli(b, &["federation", "peer", "add", "--url", &a.addr, "--instance-id", "c.test", "--trust-fetched-key"])
            .await;
    assert!(!ok && out.contains("not \"c.test\""), "{out}");
    let (ok, out) = cli(b, &["federation", "peer", "add", "--url", &a.addr, "--instance-id", "a.test"]).await;
    assert!(!ok && out.contains("--public-key"), "{out}");
    add_peer(b, &a.addr, "a.test").await;

    // Create on A appears on B, homed at A and read-only there.
    let create = "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { slug version } userErrors { code message } } }";
    let d = a
        .data(create, json!({ "i": { "slug": "fed-dokumente", "title": "Dokumentenprüfung", "deliveryModel": "EFA_DEVELOPED_HERE", "leadLand": "DE-NW", "ozgIds": ["10257"] } }))
        .await;
    assert_eq!(d["createProject"]["userErrors"], json!([]), "{d}");
    let (ok, out) = sync(b, "a.test", false).await;
    assert!(ok, "{out}");
    let replica = "a-test--fed-dokumente";
    let p = b.data(PROJECT, json!({ "s": replica })).await["project"].clone();
    assert_eq!(p["title"], "Dokumentenprüfung", "{p}");
    assert_eq!(p["origin"], "a.test");
    assert_eq!(p["homedHere"], false);
    let own = b.data(r#"{ project(slug: "einbuergerung") { origin homedHere } }"#, json!({})).await;
    assert_eq!(own["project"]["origin"], "b.test");
    let update = "mutation($i: UpdateProjectInput!) { updateProject(input: $i) { project { title } userErrors { code field message } } }";
    let d =
        b.data(update, json!({ "i": { "slug": replica, "expectedVersion": p["version"], "title": "Anders" } })).await;
    let e = user_error(&d, "updateProject");
    assert_eq!(e["code"], "FORBIDDEN");
    assert!(e["message"].as_str().unwrap().contains("a.test"), "{e}");
    // On the web pages the replica is read-only too: shown, marked, and no edit for a coordinator.
    let mut web = crate::web::Browser::new(b);
    let page = web.get(&format!("/projekte/{replica}")).await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("aus einem anderen Register übernommen"));
    web.sign_in(&["--org", "kdn", "--role", "coordinator", "--scope", "land:DE-NW"]).await;
    assert!(!web.get(&format!("/projekte/{replica}")).await.body.contains("Projekt bearbeiten"));
    let edit = web.get(&format!("/projekte/{replica}/bearbeiten")).await;
    assert_eq!(edit.status, 403);
    assert!(edit.body.contains("a.test"), "names the home registry");

    // Update on A appears on B.
    let d = a
        .data(
            update,
            json!({ "i": { "slug": "fed-dokumente", "expectedVersion": 1, "title": "Dokumentenprüfung online" } }),
        )
        .await;
    assert_eq!(d["updateProject"]["userErrors"], json!([]), "{d}");
    // A call opened on A replicates; deleted on A, it goes on B too.
    let open =
        "mutation($i: OpenCallInput!) { openCall(input: $i) { call { id version } userErrors { code message } } }";
    let d = a
        .data(open, json!({ "i": { "projectSlug": "fed-dokumente", "issuer": { "slug": "kdn" }, "title": "Pilotkommunen gesucht", "body": "Wer testet mit?", "rolesSought": ["PILOT"] } }))
        .await;
    assert_eq!(d["openCall"]["userErrors"], json!([]), "{d}");
    let call = d["openCall"]["call"].clone();
    let (ok, out) = sync(b, "a.test", false).await;
    assert!(ok, "{out}");
    let p = b.data(PROJECT, json!({ "s": replica })).await["project"].clone();
    assert_eq!(p["title"], "Dokumentenprüfung online");
    assert_eq!(p["calls"][0]["title"], "Pilotkommunen gesucht", "{p}");
    assert_eq!(p["calls"][0]["origin"], "a.test");
    let delete = "mutation($i: CloseCallInput!) { deleteCall(input: $i) { deletedId userErrors { code message } } }";
    let d = a.data(delete, json!({ "i": { "id": call["id"], "expectedVersion": call["version"] } })).await;
    assert_eq!(d["deleteCall"]["deletedId"], call["id"], "{d}");
    let (ok, out) = sync(b, "a.test", false).await;
    assert!(ok && out.contains("1 deleted"), "{out}");
    let p = b.data(PROJECT, json!({ "s": replica })).await["project"].clone();
    assert_eq!(p["calls"], json!([]), "{p}");

    // A Kommune declares reuse on B for A's project; A sees it under its project, homed at B.
    let declare = "mutation($i: DeclareReuseInput!) { declareReuseInterest(input: $i) { reuseDeclaration { id origin } userErrors { code message } } }";
    let d = b.data(declare, json!({ "i": { "projectSlug": replica, "organisation": { "ags": "05913000" } } })).await;
    assert_eq!(d["declareReuseInterest"]["userErrors"], json!([]), "{d}");
    assert_eq!(d["declareReuseInterest"]["reuseDeclaration"]["origin"], "b.test");
    add_peer(a, &b.addr, "b.test").await;
    let (ok, out) = sync(a, "b.test", false).await;
    assert!(ok, "{out}");
    let p = a.data(PROJECT, json!({ "s": "fed-dokumente" })).await["project"].clone();
    let from_b: Vec<&Value> =
        p["reuseDeclarations"].as_array().unwrap().iter().filter(|r| r["origin"] == "b.test").collect();
    assert_eq!(from_b.len(), 1, "{p}");
    assert_eq!(from_b[0]["organisation"]["ags"], "05913000");
    assert_eq!(from_b[0]["homedHere"], false);

    // Both peering: another round on each side changes nothing and copies nothing back.
    let (a_before, b_before) = (count(a).await, count(b).await);
    for _ in 0..2 {
        let (ok, out) = sync(a, "b.test", false).await;
        assert!(ok && out.contains(" 0 applied"), "{out}");
        let (ok, out) = sync(b, "a.test", false).await;
        assert!(ok && out.contains(" 0 applied"), "{out}");
    }
    assert_eq!((count(a).await, count(b).await), (a_before, b_before));
    // A's own projects are never imported back from B.
    let v =
        a.data(r#"{ projects(first: 100, filter: {origin: "b.test"}) { edges { node { slug } } } }"#, json!({})).await;
    assert!(
        v["projects"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| !e["node"]["slug"].as_str().unwrap().starts_with("b-test--a-test")),
        "{v}"
    );
    let v = b
        .data(
            r#"{ projects(first: 100, filter: {origin: "a.test"}) { totalCount edges { node { origin } } } }"#,
            json!({}),
        )
        .await;
    assert!(v["projects"]["totalCount"].as_i64().unwrap() >= 1);
    assert!(v["projects"]["edges"].as_array().unwrap().iter().all(|e| e["node"]["origin"] == "a.test"));

    // The status line.
    let s = b.data("{ federationStatus { instanceId peers { instanceId lastSuccessAt lastError consecutiveFailures records imported } } }", json!({})).await;
    let peer = &s["federationStatus"]["peers"][0];
    assert_eq!(s["federationStatus"]["instanceId"], "b.test");
    assert_eq!(peer["instanceId"], "a.test");
    assert!(peer["lastSuccessAt"].is_string() && peer["consecutiveFailures"] == 0, "{s}");
    assert!(peer["records"].as_i64().unwrap() > 0);

    // The feed answers 304 when nothing changed.
    let r = a.client.get(format!("{}/federation/feed?after=0&limit=5", a.addr)).send().await.unwrap();
    let tag = r.headers()["etag"].to_str().unwrap().to_owned();
    let page: Value = r.json().await.unwrap();
    assert_eq!(page["entries"].as_array().unwrap().len(), 5);
    assert_eq!(page["hasMore"], true);
    let r = a
        .client
        .get(format!("{}/federation/feed?after=0&limit=5", a.addr))
        .header("if-none-match", &tag)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 304);
    let r = a.client.get(format!("{}/federation/feed?limit=100000", a.addr)).send().await.unwrap();
    assert_eq!(r.status(), 400);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sqlite_and_postgres_registries_replicate() {
    let a = TestApp::spawn(Backend::Sqlite).await;
    let b = TestApp::spawn(Backend::Postgres).await;
    two_registries_replicate(&a, &b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn postgres_and_sqlite_registries_replicate() {
    let a = TestApp::spawn(Backend::Postgres).await;
    let b = TestApp::spawn(Backend::Sqlite).await;
    two_registries_replicate(&a, &b).await;
}

/// How the stub peer answers.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Mode {
    Healthy,
    WrongSignature,
    OtherOrigin,
    MalformedJson,
    HugeBody,
    StalledBody,
    Redirect,
    Unavailable,
    Reset,
    /// A healthy feed that no longer holds the project.
    Empty,
}

struct Stub {
    url: String,
    mode: Arc<Mutex<Mode>>,
}

/// A peer that plays `stub.test` over raw HTTP/1.1, correctly or in one of the broken ways.
async fn stub_peer() -> Stub {
    use ozg_registry::auth::keys::LocalKey;
    use ozg_registry::federation::Identity;
    use ozg_registry::federation::feed::{self, Entry, Page, ProjectRecord, SignedEntry};
    let me = Arc::new(Identity { instance_id: "stub.test".into(), key: LocalKey::generate().unwrap().0 });
    let stranger = Arc::new(Identity { instance_id: "stub.test".into(), key: LocalKey::generate().unwrap().0 });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mode = Arc::new(Mutex::new(Mode::Healthy));
    let m = mode.clone();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (me, stranger, mode) = (me.clone(), stranger.clone(), *m.lock().unwrap());
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let path = String::from_utf8_lossy(&head).split_whitespace().nth(1).unwrap_or("/").to_owned();
                let ok = |body: String| {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                if path.starts_with("/.well-known/ozg-registry") {
                    let body = json!({ "id": "stub.test", "publicKey": me.key.jwk() }).to_string();
                    let _ = sock.write_all(ok(body).as_bytes()).await;
                    return;
                }
                let page = |signer: &Identity, id: &str| {
                    let record = ProjectRecord {
                        slug: "stub-projekt".into(),
                        title: "Projekt der Stub-Registry".into(),
                        summary: None,
                        lead_land: Some("DE-BB".into()),
                        delivery_model: "EFA_DEVELOPED_HERE".into(),
                        phase: "CONCEPTION".into(),
                        phase_before_hold: None,
                        status_note: None,
                        ozg_ids: vec!["10257".into()],
                        steps: vec![],
                        milestones: vec![],
                    };
                    let entry = Entry {
                        iss: "stub.test".into(),
                        cursor: 7,
                        op: "upsert".into(),
                        kind: "Project".into(),
                        id: id.into(),
                        version: 7,
                        record: Some(serde_json::to_value(record).unwrap()),
                    };
                    let jws = feed::sign(signer, &entry).unwrap();
                    serde_json::to_string(&Page {
                        instance: "stub.test".into(),
                        entries: vec![SignedEntry { cursor: "7".into(), jws }],
                        next_cursor: "7".into(),
                        has_more: false,
                    })
                    .unwrap()
                };
                let response = match mode {
                    Mode::Empty => {
                        ok(json!({ "instance": "stub.test", "entries": [], "nextCursor": "7", "hasMore": false })
                            .to_string())
                    }
                    Mode::Healthy => ok(page(&me, "stub.test/project/stub-projekt")),
                    Mode::WrongSignature => ok(page(&stranger, "stub.test/project/stub-projekt")),
                    Mode::OtherOrigin => ok(page(&me, "a.test/project/stub-projekt")),
                    Mode::MalformedJson => ok("{\"instance\": \"stub.test\", \"entries\": [".into()),
                    Mode::Redirect => {
                        "HTTP/1.1 302 Found\r\nlocation: http://127.0.0.1:9/\r\ncontent-length: 0\r\n\r\n".into()
                    }
                    Mode::Unavailable => {
                        "HTTP/1.1 503 Service Unavailable\r\nretry-after: 1\r\ncontent-length: 0\r\n\r\n".into()
                    }
                    Mode::Reset => return, // dropped: the connection closes without an answer
                    Mode::HugeBody => {
                        // No length announced: the cap must stop the reading.
                        let _ = sock
                            .write_all(
                                b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\nconnection: close\r\n\r\n",
                            )
                            .await;
                        let chunk = vec![b' '; 1 << 20];
                        for _ in 0..12 {
                            if sock.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    Mode::StalledBody => {
                        let _ = sock.write_all(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"instance\"").await;
                        tokio::time::sleep(Duration::from_secs(30)).await;
                        return;
                    }
                };
                let _ = sock.write_all(response.as_bytes()).await;
            });
        }
    });
    Stub { url, mode }
}

async fn hostile_peer(app: &TestApp) {
    set_identity(app, "b.test").await;
    let stub = stub_peer().await;
    add_peer(app, &stub.url, "stub.test").await;
    let stub_projects =
        "{ projects(first: 5, filter: {origin: \"stub.test\"}) { totalCount edges { node { title } } } }";
    let before = app.change_count().await;
    for (mode, expected) in [
        (Mode::WrongSignature, "signature"),
        (Mode::OtherOrigin, "another registry"),
        (Mode::MalformedJson, "malformed feed page"),
        (Mode::HugeBody, "larger than"),
        (Mode::StalledBody, "timed out"),
        (Mode::Redirect, "redirects are not followed"),
        (Mode::Unavailable, "HTTP 503"),
        (Mode::Reset, ""),
    ] {
        *stub.mode.lock().unwrap() = mode;
        let (ok, out) = sync(app, "stub.test", true).await;
        assert!(!ok && out.contains(expected), "{mode:?}: {out}");
        // Nothing imported, the registry answers as before, the status line reports the error.
        let v = app.data(stub_projects, json!({})).await;
        assert_eq!(v["projects"]["totalCount"], 0, "{mode:?}");
        let s =
            app.data("{ federationStatus { peers { instanceId lastError consecutiveFailures } } }", json!({})).await;
        let peer = &s["federationStatus"]["peers"][0];
        assert!(peer["lastError"].as_str().is_some_and(|e| e.contains(expected)), "{mode:?}: {s}");
    }
    assert_eq!(app.change_count().await, before, "a failed sync writes nothing");
    // After three failed rounds the peer rests: a normal round skips it.
    let (ok, out) = sync(app, "stub.test", false).await;
    assert!(ok && out.contains("circuit open"), "{out}");
    let s = app
        .data("{ federationStatus { peers { consecutiveFailures circuitOpenUntil rejectedPages } } }", json!({}))
        .await;
    let peer = &s["federationStatus"]["peers"][0];
    assert!(peer["consecutiveFailures"].as_i64().unwrap() >= 8 && peer["circuitOpenUntil"].is_string(), "{s}");
    assert_eq!(peer["rejectedPages"], 3, "{s}");
    // Healthy again: the next round (forced past the rest) imports and clears the failures.
    *stub.mode.lock().unwrap() = Mode::Healthy;
    let (ok, out) = sync(app, "stub.test", true).await;
    assert!(ok && out.contains("1 applied"), "{out}");
    let v = app.data(stub_projects, json!({})).await;
    assert_eq!(v["projects"]["edges"][0]["node"]["title"], "Projekt der Stub-Registry", "{v}");
    let s = app
        .data("{ federationStatus { peers { consecutiveFailures circuitOpenUntil lastSuccessAt } } }", json!({}))
        .await;
    let peer = &s["federationStatus"]["peers"][0];
    assert_eq!(peer["consecutiveFailures"], 0, "{s}");
    assert!(peer["circuitOpenUntil"].is_null() && peer["lastSuccessAt"].is_string(), "{s}");
    // The same page again changes nothing.
    let (ok, out) = sync(app, "stub.test", false).await;
    assert!(ok && out.contains("0 applied") && out.contains("1 unchanged"), "{out}");
    // The full reconcile finds that the peer no longer publishes the project: it is marked
    // orphaned, not deleted.
    *stub.mode.lock().unwrap() = Mode::Empty;
    let reconcile = [("OZG_REGISTRY_RECONCILE_INTERVAL_SECS", "0")];
    let (ok, out) = cli_on(app.db_url(), &["federation", "sync", "--peer", "stub.test"], &reconcile).await;
    assert!(ok && out.contains("1 orphaned"), "{out}");
    let s = app.data("{ federationStatus { peers { records orphaned lastReconcileAt } } }", json!({})).await;
    let peer = &s["federationStatus"]["peers"][0];
    assert_eq!((peer["records"].as_i64(), peer["orphaned"].as_i64()), (Some(1), Some(1)), "{s}");
    assert_eq!(app.data(stub_projects, json!({})).await["projects"]["totalCount"], 1);
    // Published again, it is no longer orphaned.
    *stub.mode.lock().unwrap() = Mode::Healthy;
    let (ok, out) = cli_on(app.db_url(), &["federation", "sync", "--peer", "stub.test"], &reconcile).await;
    assert!(ok && out.contains("0 orphaned"), "{out}");
}

/// Two registries as an operator starts them (the binary, background sync every second) replicate
/// each other within a sync interval, and the metrics report each peer.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn background_sync_between_two_servers() {
    use crate::faults::Server;
    let (da, db) =
        tokio::task::spawn_blocking(|| (TestDb::new(Backend::Sqlite), TestDb::new(Backend::Postgres))).await.unwrap();
    let env_a = [("OZG_REGISTRY_INSTANCE_ID", "a.test"), ("OZG_REGISTRY_SYNC_INTERVAL_SECS", "1")];
    let env_b = [("OZG_REGISTRY_INSTANCE_ID", "b.test"), ("OZG_REGISTRY_SYNC_INTERVAL_SECS", "1")];
    let a = Server::start_with(&da.url, &env_a);
    let b = Server::start_with(&db.url, &env_b);
    let base = |s: &Server| s.url.trim_end_matches("/graphql").to_owned();
    let (ok, out) = cli_on(
        db.url.clone(),
        &["federation", "peer", "add", "--url", &base(&a), "--instance-id", "a.test", "--trust-fetched-key"],
        &[],
    )
    .await;
    assert!(ok, "{out}");
    let (ok, out) = cli_on(
        da.url.clone(),
        &["federation", "peer", "add", "--url", &base(&b), "--instance-id", "b.test", "--trust-fetched-key"],
        &[],
    )
    .await;
    assert!(ok, "{out}");
    let url = da.url.clone();
    let token = tokio::task::spawn_blocking(move || issue_token(&url, &["--role", "admin", "--subject", "loop-test"]))
        .await
        .unwrap();
    let client = reqwest::Client::new();
    let create = "mutation { createProject(input: {slug: \"fed-schleife\", title: \"Über die Schleife\", deliveryModel: UNDECIDED, ozgIds: [\"10257\"]}) { userErrors { code } } }";
    let r = client.post(&a.url).bearer_auth(&token).json(&json!({ "query": create })).send().await.unwrap();
    assert_eq!(r.json::<Value>().await.unwrap()["data"]["createProject"]["userErrors"], json!([]));
    let started = std::time::Instant::now();
    loop {
        let v: Value = client
            .post(&b.url)
            .json(&json!({ "query": "{ project(slug: \"a-test--fed-schleife\") { title origin } }" }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if v["data"]["project"]["origin"] == "a.test" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "not replicated: {v}");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let metrics = client.get(format!("{}/metrics", base(&b))).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("ozg_federation_sync_runs_total{peer=\"a.test\"}"), "{metrics}");
    assert!(metrics.contains("ozg_federation_last_success_timestamp_seconds{peer=\"a.test\"}"), "{metrics}");
    drop((a, b));
}

both_backends!(hostile_peer);
