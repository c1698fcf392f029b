//! Faults: the server killed with SIGKILL during a stream of sign-ups, a backup taken during
//! writes and restored, the database going away and coming back, a graceful stop. The server runs
//! as its own process here (the binary, as an operator starts it).

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

/// `ozg-registry serve` on a database, on a free port.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) url: String,
    /// The line the server printed when it started.
    pub(crate) banner: String,
}

impl Server {
    fn start(db_url: &str) -> Server {
        Self::start_with(db_url, &[])
    }

    pub(crate) fn start_with(db_url: &str, env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ozg-registry"))
            .args(["serve", "--listen", "127.0.0.1:0", "--no-seed", "--workers", "2"])
            .env("DATABASE_URL", db_url)
            .envs(env.iter().copied())
            .env("OZG_REGISTRY_RATE_LIMIT_ADDRESS", "off")
            .env("OZG_REGISTRY_RATE_LIMIT_TOKEN", "off")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("start the server");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
        let addr = line.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_else(|| panic!("{line}"));
        Server { url: format!("http://{addr}/graphql"), child, banner: line.trim().to_owned() }
    }

    fn kill(&mut self) {
        // std's kill is SIGKILL on Unix: no shutdown, no flushing, like a crash.
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

async fn post(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    query: &str,
    variables: Value,
) -> reqwest::Result<(u16, Value)> {
    let r = client
        .post(url)
        .bearer_auth(token)
        .json(&json!({ "query": query, "variables": variables }))
        .timeout(Duration::from_secs(20))
        .send()
        .await?;
    let status = r.status().as_u16();
    Ok((status, r.json().await?))
}

const SIGN_UP: &str =
    "mutation($i: SignUpInput!) { signUp(input: $i) { participation { id } userErrors { code message } } }";

/// The Kommunen of the seed (AGS), to sign up as pilots one by one.
async fn kommunen(client: &reqwest::Client, url: &str, token: &str) -> Vec<String> {
    let (_, v) = post(
        client,
        url,
        token,
        "{ organisations(first: 100, filter: {kind: MUNICIPALITY}) { edges { node { ags } } } }",
        json!({}),
    )
    .await
    .unwrap();
    v["data"]["organisations"]["edges"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["node"]["ags"].as_str().unwrap().to_owned())
        .collect()
}

/// Sign-ups of the given Kommunen to a project, four at a time, until they run out or the server
/// stops answering. Returns the acknowledged ones (HTTP 200 with the new participation).
fn sign_up_stream(
    url: String,
    token: String,
    project: &'static str,
    ags: Vec<String>,
    acked: Arc<Mutex<BTreeSet<String>>>,
) -> Vec<tokio::task::JoinHandle<()>> {
    let queue = Arc::new(Mutex::new(ags));
    (0..4)
        .map(|_| {
            let (url, token, queue, acked) = (url.clone(), token.clone(), queue.clone(), acked.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                loop {
                    let Some(ags) = queue.lock().unwrap().pop() else { return };
                    let input =
                        json!({ "i": { "projectSlug": project, "organisation": { "ags": ags }, "role": "PILOT" } });
                    match post(&client, &url, &token, SIGN_UP, input).await {
                        Ok((200, v)) if v["data"]["signUp"]["participation"].is_object() => {
                            acked.lock().unwrap().insert(ags);
                        }
                        Ok((status, v)) => {
                            assert!(status < 500, "HTTP {status}: {v}");
                            assert!(v["data"]["signUp"]["userErrors"][0]["code"] == "ALREADY_EXISTS", "{v}");
                        }
                        // The server is gone: this sign-up was not acknowledged.
                        Err(_) => return,
                    }
                }
            })
        })
        .collect()
}

/// The pilot Kommunen (AGS) of a project, read through the API.
async fn pilots(url: &str, token: &str, project: &str) -> BTreeSet<String> {
    let (_, v) = post(
        &reqwest::Client::new(),
        url,
        token,
        "query($s: String!) { project(slug: $s) { participations(role: [PILOT]) { organisation { ags } } } }",
        json!({ "s": project }),
    )
    .await
    .unwrap();
    v["data"]["project"]["participations"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .filter_map(|p| p["organisation"]["ags"].as_str().map(str::to_owned))
        .collect()
}

async fn killed_during_sign_ups(backend: Backend) {
    let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await.unwrap();
    let url = db.url.clone();
    let token = tokio::task::spawn_blocking(move || issue_token(&url, &["--role", "admin", "--subject", "crash-test"]))
        .await
        .unwrap();
    let mut server = Server::start(&db.url);
    let ags = kommunen(&reqwest::Client::new(), &server.url, &token).await;
    let total = ags.len();
    assert!(total >= 60, "{total} Kommunen");
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let writers = sign_up_stream(server.url.clone(), token.clone(), "einbuergerung", ags, acked.clone());
    // Kill the server in the middle of the stream.
    let started = Instant::now();
    while acked.lock().unwrap().len() < 25 {
        assert!(started.elapsed() < Duration::from_secs(60), "the sign-ups did not get going");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    server.kill();
    for w in writers {
        w.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    // Restarted on the same database: every acknowledged sign-up is there, and check passes.
    let server = Server::start(&db.url);
    let present = pilots(&server.url, &token, "einbuergerung").await;
    let lost: Vec<_> = acked.difference(&present).collect();
    assert!(lost.is_empty(), "acknowledged sign-ups lost in the crash: {lost:?}");
    assert!(present.len() < total, "the server was killed before the stream ended");
    let url = db.url.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || run_cli(&url, &["check"])).await.unwrap();
    assert!(ok, "{out}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_during_sign_ups_sqlite() {
    killed_during_sign_ups(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_during_sign_ups_postgres() {
    killed_during_sign_ups(Backend::Postgres).await;
}

async fn backup_during_writes(backend: Backend) {
    let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await.unwrap();
    let url = db.url.clone();
    let token =
        tokio::task::spawn_blocking(move || issue_token(&url, &["--role", "admin", "--subject", "backup-test"]))
            .await
            .unwrap();
    let server = Server::start(&db.url);
    let ags = kommunen(&reqwest::Client::new(), &server.url, &token).await;
    let acked = Arc::new(Mutex::new(BTreeSet::new()));
    let writers = sign_up_stream(server.url.clone(), token.clone(), "einbuergerung", ags, acked.clone());
    while acked.lock().unwrap().len() < 10 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    // The backup runs while the sign-ups go on.
    let before_backup = acked.lock().unwrap().clone();
    let tmp = crate::helpers::TempPath::new("ozg-backup-during-writes");
    let file = tmp.0.clone();
    let (url, f) = (db.url.clone(), file.clone());
    let (ok, out) = tokio::task::spawn_blocking(move || run_cli(&url, &["backup", f.to_str().unwrap()])).await.unwrap();
    assert!(ok, "{out}");
    for w in writers {
        w.await.unwrap();
    }
    drop(server);

    // Restored into a new database, the copy passes check and holds what was acknowledged before.
    let target = tokio::task::spawn_blocking(move || TestDb::empty(backend)).await.unwrap();
    let (url, f) = (target.url.clone(), file.clone());
    let (ok, out) =
        tokio::task::spawn_blocking(move || run_cli(&url, &["restore", f.to_str().unwrap()])).await.unwrap();
    assert!(ok && out.contains("check passed"), "{out}");
    let restored = Server::start(&target.url);
    let present = pilots(&restored.url, &token, "einbuergerung").await;
    let missing: Vec<_> = before_backup.difference(&present).collect();
    assert!(missing.is_empty(), "sign-ups acknowledged before the backup are missing: {missing:?}");
    drop(restored);
    // A database that holds data is replaced only with --force.
    let (url, f) = (target.url.clone(), file.clone());
    let (ok, out) =
        tokio::task::spawn_blocking(move || run_cli(&url, &["restore", f.to_str().unwrap()])).await.unwrap();
    assert!(!ok && out.contains("--force"), "{out}");
    let (url, f) = (target.url.clone(), file.clone());
    let (ok, out) =
        tokio::task::spawn_blocking(move || run_cli(&url, &["restore", f.to_str().unwrap(), "--force"])).await.unwrap();
    assert!(ok, "{out}");
    let _ = std::fs::remove_file(&file);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_writes_sqlite() {
    backup_during_writes(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn backup_during_writes_postgres() {
    backup_during_writes(Backend::Postgres).await;
}

/// PostgreSQL goes away (connections refused and cut): requests fail fast with 503 and
/// Retry-After, /readyz says so while /healthz stays up; when it is back, the service recovers
/// by itself. (An embedded SQLite database cannot go away under a running process.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn database_away_and_back_postgres() {
    let app = TestApp::spawn(Backend::Postgres).await;
    let name = app.db_url().rsplit('/').next().unwrap().to_owned();
    let admin_sql = |sql: String| {
        tokio::task::spawn_blocking(move || {
            use diesel::{Connection, RunQueryDsl};
            let mut c = diesel::PgConnection::establish(&pg_admin_url()).unwrap();
            diesel::sql_query(sql).execute(&mut c).unwrap();
        })
    };
    assert!(
        app.data("{ projects(first: 1) { totalCount } }", json!({})).await["projects"]["totalCount"].as_i64().unwrap()
            > 0
    );
    admin_sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS false")).await.unwrap();
    admin_sql(format!("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        .await
        .unwrap();

    let started = Instant::now();
    let r = app.post_raw(r#"{"query": "{ projects(first: 1) { totalCount } }"}"#, "application/json").await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "UNAVAILABLE", "{v}");
    assert_no_internals(&v);
    assert!(started.elapsed() < Duration::from_secs(8), "took {:?}", started.elapsed());
    let ready = app.client.get(format!("{}/readyz", app.addr)).send().await.unwrap();
    assert_eq!(ready.status(), 503);
    let alive = app.client.get(format!("{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(alive.status(), 200);

    admin_sql(format!("ALTER DATABASE {name} ALLOW_CONNECTIONS true")).await.unwrap();
    let started = Instant::now();
    loop {
        let r = app.post_raw(r#"{"query": "{ projects(first: 1) { totalCount } }"}"#, "application/json").await;
        if r.status() == 200 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(20), "no recovery: HTTP {}", r.status());
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let ready = app.client.get(format!("{}/readyz", app.addr)).send().await.unwrap();
    assert_eq!(ready.status(), 200);
}

/// SIGTERM: the server stops accepting, lets requests in flight finish, and exits cleanly.
async fn graceful_stop(backend: Backend) {
    let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await.unwrap();
    let mut server = Server::start(&db.url);
    let client = reqwest::Client::new();
    // Once it has answered, the server has its signal handlers (before that SIGTERM kills it outright).
    let health = server.url.replace("/graphql", "/healthz");
    assert_eq!(client.get(&health).send().await.unwrap().status(), 200);
    let q = "{ projects(first: 100) { edges { node { title participations { organisation { name } } } } } }";
    let requests: Vec<_> = (0..8)
        .map(|_| {
            let r = client.post(&server.url).json(&json!({ "query": q }));
            tokio::spawn(async move { r.send().await })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let pid = server.child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    for r in requests {
        // A request either completed in full or was never accepted; none is cut off with a 5xx.
        if let Ok(resp) = r.await.unwrap() {
            assert_eq!(resp.status(), 200);
            let v: Value = resp.json().await.unwrap();
            assert!(v["data"]["projects"]["edges"].is_array(), "{v}");
        }
    }
    let started = Instant::now();
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            assert!(status.success(), "{status}");
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "the server did not stop");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_sqlite() {
    graceful_stop(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn graceful_stop_postgres() {
    graceful_stop(Backend::Postgres).await;
}

/// The test hook that holds an idempotent mutation between its writes and its commit.
const PAUSE_HOOK: &str = "OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS";

const ADD_MILESTONE: &str = "mutation($i: AddMilestoneInput!) { addMilestone(input: $i) { milestone { id title } userErrors { code message } } }";
const ADD_STEP: &str =
    "mutation($i: AddStepInput!) { addStep(input: $i) { step { id title } userErrors { code message } } }";

/// Sends a mutation with an Idempotency-Key; the status, whether it was replayed, and the answer.
async fn post_keyed(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    key: &str,
    query: &str,
    variables: Value,
) -> reqwest::Result<(u16, bool, Value)> {
    let r = client
        .post(url)
        .bearer_auth(token)
        .header("idempotency-key", key)
        .json(&json!({ "query": query, "variables": variables }))
        .timeout(Duration::from_secs(60))
        .send()
        .await?;
    let status = r.status().as_u16();
    let replayed = r.headers().get("idempotent-replayed").is_some_and(|v| v == "true");
    Ok((status, replayed, r.json().await?))
}

/// Retries a keyed mutation after a crash the way a client does: on 409 (the key is still
/// running) it waits as Retry-After says and asks again. Before claim, mutation and answer
/// committed together, the crash left the key RUNNING: 409 for 60 seconds, then the mutation ran
/// a second time.
async fn retry_keyed(url: &str, token: &str, key: &str, query: &str, variables: Value) -> (u16, bool, Value) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    loop {
        let (status, replayed, v) = post_keyed(&client, url, token, key, query, variables.clone()).await.unwrap();
        if status != 409 || started.elapsed() > Duration::from_secs(75) {
            return (status, replayed, v);
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}

/// The titles of a project's milestones and steps.
async fn plan(url: &str, token: &str, project: &str) -> (Vec<String>, Vec<String>) {
    let (_, v) = post(
        &reqwest::Client::new(),
        url,
        token,
        "query($s: String!) { project(slug: $s) { milestones { title } steps { title } } }",
        json!({ "s": project }),
    )
    .await
    .unwrap();
    let titles = |list: &str| -> Vec<String> {
        v["data"]["project"][list]
            .as_array()
            .unwrap_or_else(|| panic!("{v}"))
            .iter()
            .map(|m| m["title"].as_str().unwrap().to_owned())
            .collect()
    };
    (titles("milestones"), titles("steps"))
}

/// SIGKILL after an idempotent mutation wrote and before its stored answer committed: after the
/// restart, the retry with the same key runs it once (the answer says it was created), and
/// exactly one milestone and one step exist.
async fn killed_before_the_answer_is_stored(backend: Backend) {
    let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await.unwrap();
    let url = db.url.clone();
    let token =
        tokio::task::spawn_blocking(move || issue_token(&url, &["--role", "admin", "--subject", "idem-crash-test"]))
            .await
            .unwrap();
    let milestone =
        json!({ "i": { "projectSlug": "einbuergerung", "title": "Go-live nach dem Absturz", "planned": "2027-Q1" } });
    let step = json!({ "i": { "projectSlug": "einbuergerung", "title": "Schritt nach dem Absturz" } });
    let mut server = Server::start_with(&db.url, &[(PAUSE_HOOK, "60000")]);
    let (milestones_before, steps_before) = plan(&server.url, &token, "einbuergerung").await;
    let requests: Vec<_> = [("crash-milestone", ADD_MILESTONE, &milestone), ("crash-step", ADD_STEP, &step)]
        .into_iter()
        .map(|(key, query, variables)| {
            let (url, token, variables) = (server.url.clone(), token.clone(), variables.clone());
            tokio::spawn(async move { post_keyed(&reqwest::Client::new(), &url, &token, key, query, variables).await })
        })
        .collect();
    // The mutations take milliseconds; then they wait in the hook, before their commit.
    tokio::time::sleep(Duration::from_secs(2)).await;
    server.kill();
    for r in requests {
        assert!(r.await.unwrap().is_err(), "no answer before the crash");
    }

    let server = Server::start(&db.url);
    let (status, replayed, v) =
        retry_keyed(&server.url, &token, "crash-milestone", ADD_MILESTONE, milestone.clone()).await;
    assert_eq!(status, 200, "{v}");
    assert!(!replayed, "nothing was stored before the crash: {v}");
    assert_eq!(v["data"]["addMilestone"]["userErrors"], json!([]), "the retry created the milestone: {v}");
    assert_eq!(v["data"]["addMilestone"]["milestone"]["title"], "Go-live nach dem Absturz", "{v}");
    let (status, _, w) = retry_keyed(&server.url, &token, "crash-step", ADD_STEP, step.clone()).await;
    assert_eq!(status, 200, "{w}");
    assert_eq!(w["data"]["addStep"]["userErrors"], json!([]), "{w}");
    // Once more: now the stored answers are replayed.
    let client = reqwest::Client::new();
    let again = post_keyed(&client, &server.url, &token, "crash-milestone", ADD_MILESTONE, milestone).await.unwrap();
    assert_eq!(again, (200, true, v));
    let again = post_keyed(&client, &server.url, &token, "crash-step", ADD_STEP, step).await.unwrap();
    assert_eq!(again, (200, true, w));

    let (milestones, steps) = plan(&server.url, &token, "einbuergerung").await;
    let count = |list: &[String], title: &str| list.iter().filter(|t| *t == title).count();
    assert_eq!(count(&milestones, "Go-live nach dem Absturz"), 1, "{milestones:?}");
    assert_eq!(milestones.len(), milestones_before.len() + 1, "{milestones:?}");
    assert_eq!(count(&steps, "Schritt nach dem Absturz"), 1, "{steps:?}");
    assert_eq!(steps.len(), steps_before.len() + 1, "{steps:?}");
    drop(server);
    let url = db.url.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || run_cli(&url, &["check"])).await.unwrap();
    assert!(ok, "{out}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_before_the_answer_is_stored_sqlite() {
    killed_before_the_answer_is_stored(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn killed_before_the_answer_is_stored_postgres() {
    killed_before_the_answer_is_stored(Backend::Postgres).await;
}

/// A request with the same key while the first is still between its writes and its commit waits
/// for it and replays its answer: one milestone, no 409.
async fn same_key_while_the_first_runs(backend: Backend) {
    let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await.unwrap();
    let url = db.url.clone();
    let token =
        tokio::task::spawn_blocking(move || issue_token(&url, &["--role", "admin", "--subject", "idem-wait-test"]))
            .await
            .unwrap();
    let server = Server::start_with(&db.url, &[(PAUSE_HOOK, "1500")]);
    let milestone =
        json!({ "i": { "projectSlug": "einbuergerung", "title": "Zweimal geschickt", "planned": "2027-Q2" } });
    let send = |delay: u64| {
        let (url, token, variables) = (server.url.clone(), token.clone(), milestone.clone());
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(delay)).await;
            let started = Instant::now();
            let r = post_keyed(&reqwest::Client::new(), &url, &token, "twice", ADD_MILESTONE, variables).await;
            (r.unwrap(), started.elapsed())
        })
    };
    let (first, second) = (send(0), send(400));
    let ((status, replayed, v), took) = first.await.unwrap();
    assert_eq!((status, replayed), (200, false), "{v}");
    assert_eq!(v["data"]["addMilestone"]["userErrors"], json!([]), "{v}");
    assert!(took >= Duration::from_millis(1500), "the hook held the first request: {took:?}");
    let ((status, replayed, w), took) = second.await.unwrap();
    assert_eq!((status, replayed), (200, true), "the second waited and replayed the first's answer: {w}");
    assert_eq!(w, v);
    assert!(took >= Duration::from_millis(500), "the second waited for the first: {took:?}");
    let (milestones, _) = plan(&server.url, &token, "einbuergerung").await;
    assert_eq!(milestones.iter().filter(|t| *t == "Zweimal geschickt").count(), 1, "{milestones:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_key_while_the_first_runs_sqlite() {
    same_key_while_the_first_runs(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn same_key_while_the_first_runs_postgres() {
    same_key_while_the_first_runs(Backend::Postgres).await;
}
