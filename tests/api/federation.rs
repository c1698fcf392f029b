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
    // Roles, calls and decisions on it are its home's too (its home would refuse them).
    let add = "mutation($i: AddParticipationInput!) { addParticipation(input: $i) { userErrors { code message } } }";
    let d = b
        .data(
            add,
            json!({ "i": { "projectSlug": replica, "organisation": { "slug": "kdn" }, "role": "PROJECT_LEAD" } }),
        )
        .await;
    let e = user_error(&d, "addParticipation");
    assert!(e["code"] == "FORBIDDEN" && e["message"].as_str().unwrap().contains("a.test"), "{e}");
    let open = "mutation($i: OpenCallInput!) { openCall(input: $i) { userErrors { code message } } }";
    let d = b
        .data(open, json!({ "i": { "projectSlug": replica, "issuer": { "slug": "kdn" }, "title": "Von B", "body": "Nein", "rolesSought": ["PILOT"] } }))
        .await;
    let e = user_error(&d, "openCall");
    assert!(e["code"] == "FORBIDDEN" && e["message"].as_str().unwrap().contains("a.test"), "{e}");
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
    /// An entry whose JWS header says `alg: none`, without a signature.
    AlgNone,
    OtherOrigin,
    MalformedJson,
    HugeBody,
    StalledBody,
    Redirect,
    Unavailable,
    Reset,
    /// A healthy feed that no longer holds the project.
    Empty,
    /// An empty page whose nextCursor jumps to 10^15.
    FarCursor,
    /// The entries set with `Stub::script`, each signed with the stub's own key.
    Scripted,
}

struct Stub {
    url: String,
    id: &'static str,
    mode: Arc<Mutex<Mode>>,
    script: Arc<Mutex<Vec<ozg_registry::federation::feed::Entry>>>,
}

impl Stub {
    fn set(&self, mode: Mode) {
        *self.mode.lock().unwrap() = mode;
    }
    /// From now on the feed serves these entries (those after the cursor asked for).
    fn script(&self, entries: Vec<ozg_registry::federation::feed::Entry>) {
        *self.script.lock().unwrap() = entries;
        self.set(Mode::Scripted);
    }
}

/// One entry of the stub's feed: an upsert with `record`, or a tombstone without; its version is
/// its cursor.
fn entry(cursor: i64, kind: &str, id: &str, record: Option<Value>) -> ozg_registry::federation::feed::Entry {
    ozg_registry::federation::feed::Entry {
        iss: "stub.test".into(),
        cursor,
        op: if record.is_some() { "upsert" } else { "delete" }.into(),
        kind: kind.into(),
        id: id.into(),
        version: cursor,
        record,
    }
}

fn project_record(slug: &str, title: &str, phase: &str) -> Value {
    json!({ "slug": slug, "title": title, "summary": null, "leadLand": "DE-BB", "deliveryModel": "EFA_DEVELOPED_HERE",
        "phase": phase, "phaseBeforeHold": null, "statusNote": null, "ozgIds": ["10257"], "steps": [], "milestones": [] })
}

/// The stub's project as its feed publishes it.
fn stub_project(cursor: i64) -> ozg_registry::federation::feed::Entry {
    entry(
        cursor,
        "Project",
        "stub.test/project/stub-projekt",
        Some(project_record("stub-projekt", "Projekt der Stub-Registry", "CONCEPTION")),
    )
}

/// A peer that plays `id` over raw HTTP/1.1, correctly or in one of the broken ways.
async fn stub_peer(id: &'static str) -> Stub {
    use ozg_registry::auth::keys::LocalKey;
    use ozg_registry::federation::Identity;
    use ozg_registry::federation::feed::{self, Page, SignedEntry};
    let me = Arc::new(Identity { instance_id: id.into(), key: LocalKey::generate().unwrap().0 });
    let stranger = Arc::new(Identity { instance_id: id.into(), key: LocalKey::generate().unwrap().0 });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let mode = Arc::new(Mutex::new(Mode::Healthy));
    let script = Arc::new(Mutex::new(Vec::new()));
    let (m, sc) = (mode.clone(), script.clone());
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            let (me, stranger, mode, script) =
                (me.clone(), stranger.clone(), *m.lock().unwrap(), sc.lock().unwrap().clone());
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
                let after: i64 = path
                    .split("after=")
                    .nth(1)
                    .and_then(|s| s.split('&').next())
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                let ok = |body: String| {
                    format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                        body.len()
                    )
                };
                if path.starts_with("/.well-known/ozg-registry") {
                    let body = json!({ "id": id, "publicKey": me.key.jwk() }).to_string();
                    let _ = sock.write_all(ok(body).as_bytes()).await;
                    return;
                }
                // A page of the given entries after `after`, its cursor the last entry's.
                let page = |signer: &Identity, entries: Vec<feed::Entry>| {
                    let entries: Vec<feed::Entry> = entries
                        .into_iter()
                        .filter(|e| e.cursor > after)
                        .map(|e| feed::Entry { iss: id.into(), ..e })
                        .collect();
                    let next = entries.last().map_or(after, |e| e.cursor);
                    serde_json::to_string(&Page {
                        instance: id.into(),
                        entries: entries
                            .iter()
                            .map(|e| SignedEntry { cursor: e.cursor.to_string(), jws: feed::sign(signer, e).unwrap() })
                            .collect(),
                        next_cursor: next.to_string(),
                        has_more: false,
                    })
                    .unwrap()
                };
                let own = |e: feed::Entry| feed::Entry { id: e.id.replacen("stub.test", id, 1), ..e };
                let response = match mode {
                    Mode::Empty => ok(page(&me, vec![])),
                    Mode::Healthy => ok(page(&me, vec![own(stub_project(7))])),
                    Mode::Scripted => ok(page(&me, script)),
                    Mode::WrongSignature => ok(page(&stranger, vec![own(stub_project(7))])),
                    Mode::OtherOrigin => {
                        let e = feed::Entry { id: "a.test/project/stub-projekt".into(), ..stub_project(7) };
                        ok(page(&me, vec![e]))
                    }
                    Mode::AlgNone => {
                        use base64::Engine;
                        let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
                        let claims =
                            serde_json::to_value(feed::Entry { iss: id.into(), ..own(stub_project(7)) }).unwrap();
                        let jws =
                            format!("{}.{}.", b64(&json!({ "alg": "none", "typ": feed::ENTRY_TYP })), b64(&claims));
                        let body = json!({ "instance": id, "entries": [{ "cursor": "7", "jws": jws }], "nextCursor": "7", "hasMore": false });
                        ok(body.to_string())
                    }
                    Mode::FarCursor => {
                        ok(json!({ "instance": id, "entries": [], "nextCursor": "1000000000000000", "hasMore": false })
                            .to_string())
                    }
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
    Stub { url, id, mode, script }
}

/// Everything homed here that a peer could try to touch: the projects with their versions and
/// parts, and the participations, reuse declarations and calls on them.
async fn local(app: &TestApp) -> Value {
    let q = "{ projects(first: 12, filter: {homedHere: true}) { totalCount edges { node { id slug title phase version
        statusNote services { ozgId } steps { title status } milestones { title version }
        participations { id role status version origin organisation { slug } }
        reuseDeclarations { id status version origin } calls { id title status version origin } } } } }";
    app.data(q, json!({})).await
}

const STATUS: &str = "{ federationStatus { peers { instanceId cursor lastError lastErrorCode consecutiveFailures
    circuitOpenUntil rejectedPages records orphaned lastSuccessAt lastReconcileAt } } }";

/// The status line of one peer, as the admin (`as_admin`) or an anonymous reader sees it.
async fn peer_status(app: &TestApp, peer: &str, as_admin: bool) -> Value {
    let v = if as_admin {
        app.data(STATUS, json!({})).await
    } else {
        app.gql_as(None, STATUS, json!({})).await["data"].clone()
    };
    v["federationStatus"]["peers"].as_array().unwrap().iter().find(|p| p["instanceId"] == peer).cloned().unwrap()
}

async fn denied(app: &TestApp) -> i64 {
    let v = app.data("{ changes(first: 1, entityType: \"Denied\") { totalCount } }", json!({})).await;
    v["changes"]["totalCount"].as_i64().unwrap()
}

async fn assert_check(app: &TestApp, what: &str) {
    let (ok, out) = cli(app, &["check"]).await;
    assert!(ok, "{what}: check fails: {out}");
}

/// A page the stub serves is refused whole: the sync fails with `code` (and `text`), nothing homed
/// here changes, the cursor stays, the peer's status and (for a refused entry) the change log's
/// DENIED entry record it, and the database passes its check.
async fn assert_refused(app: &TestApp, stub: &Stub, code: &str, text: &str, base: &Value) {
    let before = peer_status(app, stub.id, true).await;
    let denied_before = denied(app).await;
    let (ok, out) = sync(app, stub.id, true).await;
    assert_eq!(&local(app).await, base, "{code} ({text}): something homed here changed; {out}");
    assert!(!ok && out.contains(code) && out.contains(text), "expected {code} ({text}): {out}");
    let after = peer_status(app, stub.id, true).await;
    assert_eq!(after["cursor"], before["cursor"], "{code} ({text}): the cursor moved");
    assert_eq!(after["lastErrorCode"], code, "{after}");
    assert!(after["lastError"].as_str().unwrap().contains(text), "{after}");
    let public = peer_status(app, stub.id, false).await;
    assert_eq!(public["lastErrorCode"], code, "{public}");
    assert!(!public["lastError"].as_str().unwrap().contains(text) || text.is_empty(), "detail shown: {public}");
    let expected_denied = denied_before + i64::from(code == "REFUSED_ENTRY");
    assert_eq!(denied(app).await, expected_denied, "{code} ({text}): DENIED entries");
    assert_check(app, code).await;
}

async fn hostile_peer(app: &TestApp) {
    set_identity(app, "b.test").await;
    let stub = stub_peer("stub.test").await;
    // Only an http(s) URL without query or fragment is registered.
    for bad in [format!("{}/?after=5", stub.url), format!("{}/#feed", stub.url), "ftp://127.0.0.1/".into()] {
        let (ok, out) = cli(
            app,
            &["federation", "peer", "add", "--url", &bad, "--instance-id", "stub.test", "--trust-fetched-key"],
        )
        .await;
        assert!(!ok && out.contains("--url"), "{bad}: {out}");
    }
    add_peer(app, &stub.url, "stub.test").await;
    let stub_projects =
        "{ projects(first: 5, filter: {origin: \"stub.test\"}) { totalCount edges { node { title } } } }";
    let base = local(app).await;
    for (mode, code, expected) in [
        (Mode::WrongSignature, "BAD_SIGNATURE", "signature"),
        (Mode::AlgNone, "BAD_SIGNATURE", "not an EdDSA-signed"),
        (Mode::OtherOrigin, "REFUSED_ENTRY", "homed at \"a.test\""),
        (Mode::MalformedJson, "MALFORMED_PAGE", "malformed feed page"),
        (Mode::FarCursor, "MALFORMED_PAGE", "nextCursor 1000000000000000"),
        (Mode::HugeBody, "OVERSIZE", "larger than"),
        (Mode::StalledBody, "TIMEOUT", "timed out"),
        (Mode::Redirect, "REDIRECT", "redirects are not followed"),
        (Mode::Unavailable, "HTTP_STATUS", "HTTP 503"),
        (Mode::Reset, "UNREACHABLE", ""),
    ] {
        stub.set(mode);
        assert_refused(app, &stub, code, expected, &base).await;
        // Nothing imported, the registry answers as before.
        let v = app.data(stub_projects, json!({})).await;
        assert_eq!(v["projects"]["totalCount"], 0, "{mode:?}");
        assert_eq!(peer_status(app, "stub.test", true).await["cursor"], "0", "{mode:?}");
    }
    // Everyone reads the fixed message; only admins the library's words.
    stub.set(Mode::AlgNone);
    let _ = sync(app, "stub.test", true).await;
    let public = peer_status(app, "stub.test", false).await;
    assert_eq!(public["lastErrorCode"], "BAD_SIGNATURE");
    assert!(public["lastError"].as_str().unwrap().starts_with("An entry was not signed"), "{public}");
    let admin = peer_status(app, "stub.test", true).await;
    assert!(admin["lastError"].as_str().unwrap().contains("not an EdDSA-signed"), "{admin}");
    // After three failed rounds the peer rests: a normal round skips it.
    let (ok, out) = sync(app, "stub.test", false).await;
    assert!(ok && out.contains("circuit open"), "{out}");
    let peer = peer_status(app, "stub.test", true).await;
    assert!(peer["consecutiveFailures"].as_i64().unwrap() >= 10 && peer["circuitOpenUntil"].is_string(), "{peer}");
    assert_eq!(peer["rejectedPages"], 6, "{peer}");
    // Healthy again: the next round (forced past the rest) imports and clears the failures.
    stub.set(Mode::Healthy);
    let (ok, out) = sync(app, "stub.test", true).await;
    assert!(ok && out.contains("1 applied"), "{out}");
    let v = app.data(stub_projects, json!({})).await;
    assert_eq!(v["projects"]["edges"][0]["node"]["title"], "Projekt der Stub-Registry", "{v}");
    let peer = peer_status(app, "stub.test", true).await;
    assert_eq!(peer["consecutiveFailures"], 0, "{peer}");
    assert!(peer["circuitOpenUntil"].is_null() && peer["lastSuccessAt"].is_string(), "{peer}");
    assert_eq!(local(app).await, base);
    // Nothing new: nothing to do; the same page again (a full reconcile reads the feed from its
    // start) changes nothing.
    let (ok, out) = sync(app, "stub.test", false).await;
    assert!(ok && out.contains("0 applied") && out.contains("0 unchanged"), "{out}");
    let reconcile = [("OZG_REGISTRY_RECONCILE_INTERVAL_SECS", "0")];
    let (ok, out) = cli_on(app.db_url(), &["federation", "sync", "--peer", "stub.test"], &reconcile).await;
    assert!(ok && out.contains("0 applied") && out.contains("1 unchanged"), "{out}");
    // The full reconcile finds that the peer no longer publishes the project: it is marked
    // orphaned, not deleted.
    stub.set(Mode::Empty);
    let (ok, out) = cli_on(app.db_url(), &["federation", "sync", "--peer", "stub.test"], &reconcile).await;
    assert!(ok && out.contains("1 orphaned"), "{out}");
    let peer = peer_status(app, "stub.test", true).await;
    assert_eq!((peer["records"].as_i64(), peer["orphaned"].as_i64()), (Some(1), Some(1)), "{peer}");
    assert_eq!(app.data(stub_projects, json!({})).await["projects"]["totalCount"], 1);
    // Published again, it is no longer orphaned.
    stub.set(Mode::Healthy);
    let (ok, out) = cli_on(app.db_url(), &["federation", "sync", "--peer", "stub.test"], &reconcile).await;
    assert!(ok && out.contains("0 orphaned"), "{out}");
    assert_eq!(peer_status(app, "stub.test", true).await["cursor"], "7");

    // The stub opens three calls on its project, with a Kommune of its own.
    let kommune =
        json!({ "slug": "stub-kommune", "name": "Stub-Kommune", "kind": "MUNICIPALITY", "ags": null, "land": "DE-BB" });
    let call = |n: i64| {
        json!({ "project": "stub.test/project/stub-projekt", "issuer": kommune, "title": format!("Aufruf {n}"),
            "body": "Wer macht mit?", "invitesReuse": false, "openedOn": "2026-11-01", "closesOn": null,
            "status": "OPEN", "roles": ["PILOT"] })
    };
    let mut feed = vec![stub_project(7)];
    feed.extend((1..=3).map(|n| entry(7 + n, "Call", &format!("stub.test/call/{n}"), Some(call(n)))));
    stub.script(feed.clone());
    let (ok, out) = sync(app, "stub.test", true).await;
    assert!(ok && out.contains("3 applied"), "{out}");
    assert_eq!(local(app).await, base);
    assert_check(app, "calls imported").await;

    // 1. One of the stub's call ids sent again as a Project, aimed at the local row with the same
    //    id: einbuergerung, homed here.
    let einbuergerung =
        app.data("{ project(slug: \"einbuergerung\") { id } }", json!({})).await["project"]["id"].clone();
    let calls = app.data("{ project(slug: \"stub-test--stub-projekt\") { calls { id title } } }", json!({})).await;
    let twin = calls["project"]["calls"].as_array().unwrap().iter().find(|c| c["id"] == einbuergerung).cloned();
    let twin =
        twin.unwrap_or_else(|| panic!("no imported call has the id of einbuergerung ({einbuergerung}): {calls}"));
    let n = twin["title"].as_str().unwrap().trim_start_matches("Aufruf ").to_owned();
    let mut takeover = project_record("stub-projekt", "Übernommen", "DISCONTINUED");
    takeover["ozgIds"] = json!([]);
    stub.script(vec![entry(11, "Project", &format!("stub.test/call/{n}"), Some(takeover.clone()))]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "does not name a project", &base).await;
    //    …and the project's id sent as a Call.
    stub.script(vec![entry(11, "Call", "stub.test/project/stub-projekt", Some(call(4)))]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "does not name a call", &base).await;
    // 2. An upsert of a project homed here.
    let mut own = takeover.clone();
    own["slug"] = json!("einbuergerung");
    stub.script(vec![entry(11, "Project", "b.test/project/einbuergerung", Some(own))]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "homed here", &base).await;
    // 3. A participation in a project homed here, of an organisation registered here.
    let participation = |org: &Value, role: &str, status: &str| {
        json!({ "project": "b.test/project/einbuergerung", "organisation": org, "role": role, "status": status,
            "since": null, "until": null, "note": null })
    };
    let reuse = |org: &Value, status: &str| {
        json!({ "project": "b.test/project/einbuergerung", "organisation": org, "status": status,
            "declaredOn": null, "plannedLive": null, "actualLive": null, "note": null })
    };
    let unna = json!({ "slug": "stadt-unna", "name": "Stadt Unna", "kind": "MUNICIPALITY", "ags": "05978036", "land": "DE-NW" });
    let p = entry(11, "Participation", "stub.test/participation/1", Some(participation(&unna, "PILOT", "REQUESTED")));
    stub.script(vec![p]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "registered here", &base).await;
    // 4. The stub's own Kommune as project lead, or confirmed: a coordinator's decision here.
    let p = entry(
        11,
        "Participation",
        "stub.test/participation/1",
        Some(participation(&kommune, "PROJECT_LEAD", "REQUESTED")),
    );
    stub.script(vec![p]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "PROJECT_LEAD is assigned by a coordinator", &base).await;
    let p =
        entry(11, "Participation", "stub.test/participation/1", Some(participation(&kommune, "PILOT", "CONFIRMED")));
    stub.script(vec![p]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "reserved for coordinators", &base).await;
    // 5. A reuse declaration the stub says was agreed: the decision of the project's home.
    stub.script(vec![entry(11, "ReuseDeclaration", "stub.test/reuse/1", Some(reuse(&kommune, "AGREED")))]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "reserved for coordinators", &base).await;
    // 6. A tombstone for another registry's record; a legitimate entry before it is not applied.
    let legit =
        entry(11, "Participation", "stub.test/participation/1", Some(participation(&kommune, "PILOT", "REQUESTED")));
    stub.script(vec![legit, entry(12, "Call", "a.test/call/1", None)]);
    assert_refused(app, &stub, "REFUSED_ENTRY", "homed at \"a.test\"", &base).await;
    // 7. An empty page that would move the cursor to 10^15.
    stub.set(Mode::FarCursor);
    assert_refused(app, &stub, "MALFORMED_PAGE", "nextCursor 1000000000000000", &base).await;
    assert_eq!(peer_status(app, "stub.test", true).await["cursor"], "10");

    // What the stub's Kommune may do itself, it may: sign up as pilot, declare interest.
    feed.push(entry(
        11,
        "Participation",
        "stub.test/participation/1",
        Some(participation(&kommune, "PILOT", "REQUESTED")),
    ));
    feed.push(entry(12, "ReuseDeclaration", "stub.test/reuse/1", Some(reuse(&kommune, "INTEREST"))));
    stub.script(feed.clone());
    let (ok, out) = sync(app, "stub.test", true).await;
    assert!(ok && out.contains("2 applied"), "{out}");
    let p = app
        .data(
            "{ project(slug: \"einbuergerung\") { title version participations { role status origin } reuseDeclarations { status origin } } }",
            json!({}),
        )
        .await;
    let theirs: Vec<&Value> =
        p["project"]["participations"].as_array().unwrap().iter().filter(|x| x["origin"] == "stub.test").collect();
    assert_eq!(theirs.len(), 1, "{p}");
    assert_eq!((theirs[0]["role"].as_str(), theirs[0]["status"].as_str()), (Some("PILOT"), Some("REQUESTED")));
    assert!(p["project"]["reuseDeclarations"].as_array().unwrap().iter().any(|x| x["origin"] == "stub.test"), "{p}");
    assert_check(app, "declarations imported").await;

    // 8. A tombstone is remembered: an older upsert replayed later (here by a full reconcile of a
    //    stale copy of the feed) does not bring the call back.
    let titles = |v: &Value| -> Vec<String> {
        v["project"]["calls"].as_array().unwrap().iter().map(|c| c["title"].as_str().unwrap().to_owned()).collect()
    };
    let calls_q = "{ project(slug: \"stub-test--stub-projekt\") { calls { id title } } }";
    let stale = feed.clone();
    feed.push(entry(13, "Call", "stub.test/call/1", None));
    stub.script(feed.clone());
    let (ok, out) = sync(app, "stub.test", true).await;
    assert!(ok && out.contains("1 deleted"), "{out}");
    assert!(!titles(&app.data(calls_q, json!({})).await).contains(&"Aufruf 1".to_owned()));
    stub.script(stale);
    let (ok, out) = cli_on(app.db_url(), &["federation", "sync", "--peer", "stub.test", "--force"], &reconcile).await;
    assert!(ok, "{out}");
    let now = titles(&app.data(calls_q, json!({})).await);
    assert!(!now.contains(&"Aufruf 1".to_owned()) && now.len() == 2, "the deleted call came back: {now:?}");
    assert_eq!(peer_status(app, "stub.test", true).await["cursor"], "13");
    assert_check(app, "after the replay").await;
    //    The same for a project: deleted at home it is kept orphaned, and stays so when a stale
    //    copy of the feed still holds it.
    let stale = feed.clone();
    feed.push(entry(14, "Project", "stub.test/project/stub-projekt", None));
    stub.script(feed.clone());
    let (ok, out) = sync(app, "stub.test", true).await;
    assert!(ok && out.contains("1 deleted"), "{out}");
    assert_eq!(peer_status(app, "stub.test", true).await["orphaned"], 1);
    stub.script(stale);
    let (ok, out) = cli_on(app.db_url(), &["federation", "sync", "--peer", "stub.test", "--force"], &reconcile).await;
    assert!(ok && out.contains("1 orphaned"), "{out}");
    let peer = peer_status(app, "stub.test", true).await;
    assert_eq!((peer["orphaned"].as_i64(), peer["cursor"].as_str()), (Some(1), Some("14")), "{peer}");
    assert_eq!(local(app).await["projects"]["totalCount"], base["projects"]["totalCount"]);
    assert_check(app, "after the project's tombstone").await;
}

/// A peer that stalls does not hold up another one: peers are synced concurrently.
async fn stalling_peer_does_not_delay_others(app: &TestApp) {
    set_identity(app, "b.test").await;
    // "stall.test" sorts first: synced one after the other, it would delay "stub.test".
    let slow = stub_peer("stall.test").await;
    let healthy = stub_peer("stub.test").await;
    add_peer(app, &slow.url, "stall.test").await;
    add_peer(app, &healthy.url, "stub.test").await;
    slow.set(Mode::StalledBody);
    let started = std::time::Instant::now();
    let url = app.db_url();
    let round = tokio::spawn(async move { cli_on(url, &["federation", "sync", "--force"], &[]).await });
    let q = "{ projects(first: 1, filter: {origin: \"stub.test\"}) { totalCount } }";
    while app.data(q, json!({})).await["projects"]["totalCount"] != 1 {
        assert!(!round.is_finished(), "the round ended before stub.test was imported");
        assert!(started.elapsed() < Duration::from_secs(4), "stub.test waited for stall.test");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let imported_after = started.elapsed();
    let (ok, out) = round.await.unwrap();
    assert!(!ok && out.contains("stall.test") && out.contains("TIMEOUT"), "{out}");
    assert!(out.contains("stub.test: 1 page(s), 1 applied"), "{out}");
    assert!(started.elapsed() > imported_after + Duration::from_secs(1), "stall.test did not stall");
    assert_eq!(peer_status(app, "stub.test", true).await["cursor"], "7");
    assert_eq!(peer_status(app, "stall.test", true).await["lastErrorCode"], "TIMEOUT");
}

/// A registry that replicates a peer passes `check`, and its backup restores (which checks it).
async fn replica_checks_and_restores(app: &TestApp) {
    set_identity(app, "b.test").await;
    let stub = stub_peer("stub.test").await;
    add_peer(app, &stub.url, "stub.test").await;
    let kommune =
        json!({ "slug": "stub-kommune", "name": "Stub-Kommune", "kind": "MUNICIPALITY", "ags": null, "land": "DE-BB" });
    stub.script(vec![
        stub_project(7),
        entry(
            8,
            "Call",
            "stub.test/call/1",
            Some(json!({ "project": "stub.test/project/stub-projekt", "issuer": kommune, "title": "Aufruf",
                "body": "Wer macht mit?", "invitesReuse": true, "openedOn": "2026-11-01", "closesOn": null,
                "status": "OPEN", "roles": [] })),
        ),
        entry(
            9,
            "Participation",
            "stub.test/participation/1",
            Some(json!({ "project": "b.test/project/einbuergerung", "organisation": kommune, "role": "PILOT",
                "status": "REQUESTED", "since": null, "until": null, "note": null })),
        ),
        entry(
            10,
            "ReuseDeclaration",
            "stub.test/reuse/1",
            Some(json!({ "project": "b.test/project/einbuergerung", "organisation": kommune, "status": "INTEREST",
                "declaredOn": null, "plannedLive": null, "actualLive": null, "note": null })),
        ),
    ]);
    let (ok, out) = sync(app, "stub.test", true).await;
    assert!(ok && out.contains("4 applied"), "{out}");
    assert_check(app, "replica").await;
    let tmp = crate::helpers::TempPath::new("ozg-backup-replica");
    let file = tmp.0.clone();
    let (ok, out) = cli(app, &["backup", file.to_str().unwrap()]).await;
    assert!(ok, "{out}");
    let backend = app.backend();
    let target = tokio::task::spawn_blocking(move || TestDb::empty(backend)).await.unwrap();
    let (ok, out) = cli_on(target.url.clone(), &["restore", file.to_str().unwrap()], &[]).await;
    assert!(ok && out.contains("check passed"), "{out}");
    let _ = std::fs::remove_file(&file);
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

both_backends!(hostile_peer, stalling_peer_does_not_delay_others, replica_checks_and_restores);
