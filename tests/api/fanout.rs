//! Fan-out: a query whose lists multiply (issue 14: `leikaServices → ozgService → leikaServices`,
//! 165 items a level) is refused before it runs because every list's bound is an upper bound that
//! holds; one that gets past the estimate (a server with a raised cost limit) is stopped while it
//! runs by the objects and answer-size bounds, or by its timeout, and the process's CPU and memory
//! return to where they were.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::Server;
use crate::helpers::*;
use ozg_registry::graphql::limits::Limits;
use ozg_registry::http::HttpConfig;

/// `depth` levels of `leikaServices { ozgService { … } }` below OZG-Leistung 10255 (165 LeiKa-
/// Leistungen), `width` aliased copies of the whole tree side by side.
fn fan_out(depth: usize, width: usize) -> String {
    let mut inner = String::from("__typename");
    for _ in 0..depth {
        inner = format!("leikaServices {{ name ozgService {{ {inner} }} }}");
    }
    let trees: Vec<String> = (0..width).map(|i| format!(r#"t{i}: ozgService(ozgId: "10255") {{ {inner} }}"#)).collect();
    format!("{{ {} }}", trees.join(" "))
}

/// The exact query of the issue.
const ISSUE_QUERY: &str = r#"{ ozgService(ozgId: "10255") { leikaServices { ozgService { leikaServices { ozgService {
  leikaServices { ozgService { leikaServices { ozgService { __typename } } } } } } } } } }"#;

fn limit_of(v: &Value) -> (&str, &str) {
    let ext = &v["errors"][0]["extensions"];
    (ext["code"].as_str().unwrap_or("none"), ext["limit"].as_str().unwrap_or("none"))
}

/// With the default limits the issue's query and its deeper and wider variants are refused before
/// anything runs (no `x-db-queries`: no statement was executed), and so is a wide-and-deep walk
/// through organisations and projects. A bounded query of the same shape runs.
async fn fan_out_is_refused_before_it_runs(app: &TestApp) {
    let mut queries = vec![ISSUE_QUERY.to_owned()];
    queries.extend([(2, 1), (3, 1), (4, 1), (4, 3), (2, 8)].map(|(d, w)| fan_out(d, w)));
    queries.push(
        "{ organisations(first: 100) { edges { node { participations { project { participations { organisation { name } } } } } } } }"
            .into(),
    );
    for q in &queries {
        let r = app.post_raw(json!({ "query": q }).to_string(), "application/json").await;
        assert!(r.headers().get("x-db-queries").is_none(), "{q} ran");
        let v: Value = r.json().await.unwrap();
        assert_eq!(limit_of(&v), ("LIMIT_EXCEEDED", "cost"), "{q}: {v}");
        assert_no_internals(&v);
    }
    // One level is fine, and a second one with small pages: every LeiKa-Leistung of 10255.
    let v = app.gql(&fan_out(1, 1), json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["t0"]["leikaServices"].as_array().unwrap().len(), 165, "all of them by default");
    let q = r#"{ ozgService(ozgId: "10255") { leikaServices(first: 3) { ozgService { leikaServices(first: 2) { name } } } } }"#;
    let v = app.gql(q, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(v["data"]["ozgService"]["leikaServices"][2]["ozgService"]["leikaServices"].as_array().unwrap().len(), 2);
    // `first` outside its range names the field and the range.
    let e = app.error(r#"{ calls(first: 5000) { title } }"#, json!({})).await;
    assert_eq!(e["extensions"]["limit"], "first", "{e}");
    assert!(e["message"].as_str().unwrap().contains("between 1 and 1000"), "{e}");
}

both_backends!(fan_out_is_refused_before_it_runs);

/// A server whose operator raised the cost limit: the estimate lets the fan-out through, and the
/// objects bound stops it while it runs with LIMIT_EXCEEDED (not a 5xx, no partial answer).
async fn fan_out_is_stopped_by_the_objects_bound(app: &TestApp) {
    let r = app.post_raw(json!({ "query": fan_out(2, 1) }).to_string(), "application/json").await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(limit_of(&v), ("LIMIT_EXCEEDED", "objects"), "{v}");
    assert_eq!(v["errors"][0]["extensions"]["max"], 20_000);
    assert!(v.get("data").is_none(), "{v}");
    assert_no_internals(&v);
    // The server goes on answering.
    assert!(app.gql("{ apiVersion }", json!({})).await.get("errors").is_none());
}

both_backends_with!(
    fan_out_is_stopped_by_the_objects_bound,
    HttpConfig {
        limits: Limits { max_cost: 1_000_000_000, max_objects: 20_000, ..Limits::default() },
        ..test_config()
    }
);

/// An answer over the size bound is refused whole, not sent in part.
async fn answers_over_the_size_bound_are_refused(app: &TestApp) {
    let q = "{ ozgServices(first: 100) { edges { node { name leikaServices { key name typisierung } } } } }";
    let v = app.gql(q, json!({})).await;
    assert_eq!(limit_of(&v), ("LIMIT_EXCEEDED", "responseBytes"), "{v}");
    assert_eq!(v["errors"][0]["extensions"]["max"], 65_536);
    let v = app.gql(r#"{ ozgService(ozgId: "10255") { name } }"#, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
}

both_backends_with!(
    answers_over_the_size_bound_are_refused,
    HttpConfig {
        limits: Limits { max_cost: 1_000_000_000, max_response_bytes: 65_536, ..Limits::default() },
        ..test_config()
    }
);

/// A memory figure of a process from /proc/<pid>/status (`VmRSS`, `VmHWM`), in bytes.
fn memory(pid: u32, field: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kb: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("{field} in /proc/{pid}/status"));
    kb * 1024
}

/// A process's peak resident memory (bytes).
fn peak(pid: u32) -> u64 {
    memory(pid, "VmHWM")
}

/// CPU time (user + system, in clock ticks) and resident memory (bytes) of a process.
fn usage(pid: u32) -> (u64, u64) {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after_name = &stat[stat.rfind(')').unwrap() + 2..];
    let f: Vec<&str> = after_name.split(' ').collect();
    // Fields 14 and 15 of stat (utime, stime) are 11 and 12 after the name.
    let cpu = f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap();
    (cpu, memory(pid, "VmRSS"))
}

/// The server as its own process with every bound but the timeout raised out of reach: 20
/// fan-out queries in parallel, deeper and wider, are each answered 503 TIMEOUT within the
/// timeout, their work stops (the process is idle right after), and its resident memory stays
/// under 300 MB.
async fn given_up_work_stops_and_memory_returns(backend: Backend) {
    let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await.unwrap();
    let server = Server::start_with(
        &db.url,
        &[
            ("OZG_REGISTRY_MAX_COST", "1000000000"),
            ("OZG_REGISTRY_MAX_OBJECTS", "100000000"),
            ("OZG_REGISTRY_MAX_RESPONSE_BYTES", "4294967296"),
            ("OZG_REGISTRY_REQUEST_TIMEOUT_MS", "1000"),
        ],
    );
    let pid = server.child.id();
    let client = reqwest::Client::new();
    let ask = |q: String| {
        let (client, url) = (client.clone(), server.url.clone());
        async move {
            let started = Instant::now();
            let r =
                client.post(&url).json(&json!({ "query": q })).timeout(Duration::from_secs(30)).send().await.unwrap();
            let status = r.status().as_u16();
            let v: Value = r.json().await.unwrap();
            (status, v, started.elapsed())
        }
    };
    // Warm up, then the baseline.
    let (status, _, _) = ask("{ lands { name } }".into()).await;
    assert_eq!(status, 200);
    let (_, baseline) = usage(pid);
    let shapes = [(3, 1), (3, 2), (3, 3), (3, 1), (3, 2)];
    let answers = futures_util::future::join_all((0..20).map(|i| {
        let (d, w) = shapes[i % shapes.len()];
        ask(fan_out(d, w))
    }))
    .await;
    for (status, v, took) in &answers {
        assert_eq!(*status, 503, "{v}");
        assert_eq!(v["errors"][0]["extensions"]["code"], "TIMEOUT", "{v}");
        // Answered at the timeout (requests waiting for a connection included), not after the work.
        assert!(*took < Duration::from_secs(5), "answered after {took:?}");
    }
    // The work has stopped: within a moment the process is idle.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let (cpu_before, _) = usage(pid);
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (cpu_after, rss) = usage(pid);
    let ticks = cpu_after - cpu_before;
    assert!(ticks < 25, "the server kept working after giving up: {ticks} ticks of CPU in one second");
    assert!(rss < 300 << 20, "resident memory {} MB after the fan-out (baseline {} MB)", rss >> 20, baseline >> 20);
    eprintln!(
        "fan-out on {backend:?}: baseline {} MB, peak {} MB, after 20 given-up queries {} MB, {ticks} ticks in the second after",
        baseline >> 20,
        peak(pid) >> 20,
        rss >> 20
    );
    // And it still answers.
    let (status, v, _) = ask(r#"{ ozgService(ozgId: "10255") { name } }"#.into()).await;
    assert_eq!(status, 200, "{v}");
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn given_up_work_stops_and_memory_returns_sqlite() {
    given_up_work_stops_and_memory_returns(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn given_up_work_stops_and_memory_returns_postgres() {
    given_up_work_stops_and_memory_returns(Backend::Postgres).await;
}

/// The start line names GraphiQL only when it is on (`OZG_REGISTRY_GRAPHIQL=off` answers 404).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_line_names_graphiql_only_when_it_is_on() {
    let db = tokio::task::spawn_blocking(|| TestDb::new(Backend::Sqlite)).await.unwrap();
    let on = Server::start_with(&db.url, &[]);
    assert!(on.banner.contains("/graphiql"), "{}", on.banner);
    drop(on);
    let off = Server::start_with(&db.url, &[("OZG_REGISTRY_GRAPHIQL", "off")]);
    assert!(!off.banner.contains("GraphiQL") && !off.banner.contains("graphiql"), "{}", off.banner);
    let graphiql = off.url.replace("/graphql", "/graphiql");
    assert_eq!(reqwest::get(&graphiql).await.unwrap().status(), 404);
}

/// On PostgreSQL a given-up query's statement is cancelled, not left to run: the mechanism the
/// handler uses (the connection's backend pid, cancelled over another connection of the pool)
/// ends a 20-second statement at once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_statements_are_cancelled() {
    use diesel::RunQueryDsl;
    let db = tokio::task::spawn_blocking(|| TestDb::new(Backend::Postgres)).await.unwrap();
    let url = db.url.clone();
    let (err, took) = tokio::task::spawn_blocking(move || {
        let pool = ozg_registry::store::connect(&url, 2).unwrap();
        let mut conn = pool.get().unwrap();
        let pid = ozg_registry::store::backend_pid(&mut conn).expect("a PostgreSQL backend");
        assert_eq!(ozg_registry::store::backend_pid(&mut conn), Some(pid), "kept with the connection");
        let sleeper = std::thread::spawn(move || {
            let started = Instant::now();
            let r = diesel::sql_query("SELECT pg_sleep(20)").execute(&mut *conn);
            (r.is_err(), started.elapsed())
        });
        std::thread::sleep(Duration::from_millis(300));
        ozg_registry::store::cancel_backend(&pool, pid);
        sleeper.join().unwrap()
    })
    .await
    .unwrap();
    assert!(err, "the statement was not cancelled");
    assert!(took < Duration::from_secs(5), "cancelled only after {took:?}");
}
