//! Logging: with `OZG_REGISTRY_LOG_FORMAT=json`, every line written for a request carries its
//! request id, also lines written on the blocking pool (by the GraphQL run and `http::blocking`). The server runs as its own process (the
//! binary, as an operator starts it) and its standard error is read line by line.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::helpers::*;

/// `ozg-registry serve` logging JSON lines at `info` and the SQL statements at `trace`, which are
/// collected as they come.
struct LoggingServer {
    child: Child,
    url: String,
    lines: Arc<Mutex<Vec<Value>>>,
}

impl LoggingServer {
    fn start(db_url: &str) -> LoggingServer {
        let mut child = Command::new(env!("CARGO_BIN_EXE_ozg-registry"))
            .args(["serve", "--listen", "127.0.0.1:0", "--no-seed", "--workers", "2"])
            .env("DATABASE_URL", db_url)
            .env("OZG_REGISTRY_RATE_LIMIT_ADDRESS", "off")
            .env("OZG_REGISTRY_RATE_LIMIT_TOKEN", "off")
            .env("OZG_REGISTRY_LOG_FORMAT", "json")
            .env("RUST_LOG", "info,ozg_registry::sql=trace")
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the server");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (stderr, collected) = (child.stderr.take().unwrap(), lines.clone());
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let v = serde_json::from_str(&line).unwrap_or_else(|e| panic!("not a JSON line ({e}): {line}"));
                collected.lock().unwrap().push(v);
            }
        });
        let mut banner = String::new();
        BufReader::new(child.stdout.take().unwrap()).read_line(&mut banner).unwrap();
        let addr =
            banner.split("http://").nth(1).and_then(|r| r.split('/').next()).unwrap_or_else(|| panic!("{banner}"));
        LoggingServer { url: format!("http://{addr}/graphql"), child, lines }
    }

    /// The first line that `pick` accepts, waiting up to 10 s for it.
    fn wait_for(&self, what: &str, pick: impl Fn(&Value) -> bool) -> Value {
        let until = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(v) = self.lines.lock().unwrap().iter().find(|v| pick(v)) {
                return v.clone();
            }
            assert!(Instant::now() < until, "no {what} in the log:\n{:#?}", self.lines.lock().unwrap());
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for LoggingServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// An anonymous write is refused and the attempt recorded, on the blocking pool (where every
/// mutation runs). With the change log renamed away, recording fails: an incident logged on the
/// blocking pool. It and the access line carry the request id the client sent.
#[tokio::test]
async fn an_incident_on_the_blocking_pool_carries_the_request_id() {
    let db = TestDb::new(Backend::Sqlite);
    let server = LoggingServer::start(&db.url);
    let url = db.url.clone();
    tokio::task::spawn_blocking(move || {
        use diesel::RunQueryDsl;
        let pool = ozg_registry::store::connect(&url, 1).unwrap();
        let mut conn = pool.get().unwrap();
        diesel::sql_query("ALTER TABLE change_log RENAME TO change_log_away").execute(&mut *conn).unwrap();
    })
    .await
    .unwrap();

    let request_id = "log-test-4711";
    let resp = reqwest::Client::new()
        .post(&server.url)
        .header("x-request-id", request_id)
        .json(&json!({ "query": "mutation { signUp(input: {}) { userErrors { code } } }" }))
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["x-request-id"], request_id);
    let body: Value = resp.json().await.unwrap();
    assert_eq!(body["errors"][0]["extensions"]["code"], "UNAUTHENTICATED", "{body}");
    assert_no_internals(&body);

    let incident = server.wait_for("incident", |v| v["level"] == "ERROR" && v.get("incident").is_some());
    assert!(incident["message"].as_str().is_some_and(|m| m.contains("recording a denied attempt")), "{incident}");
    assert_eq!(incident["request_id"], request_id, "the incident logged on the blocking pool: {incident}");
    assert_eq!(incident["path"], "/graphql", "{incident}");
    let access = server.wait_for("access line", |v| v["target"] == "ozg_registry::access");
    assert_eq!(access["request_id"], request_id, "{access}");
    assert_eq!(access["method"], "POST", "{access}");
    assert_eq!(access["status"], 200, "{access}");
    assert!(access["duration_ms"].is_number() && access["time"].is_string(), "{access}");
    assert_eq!(access["message"], "POST /graphql 200", "{access}");
    // Lines outside a request have none: the server's start.
    let lines = server.lines.lock().unwrap();
    assert!(lines.iter().any(|v| v.get("request_id").is_none()), "{lines:#?}");
}

/// A web page reads the database on the blocking pool through `http::blocking`: its SQL
/// statements, logged there, carry the page request's id; the access line does too.
#[tokio::test]
async fn a_page_s_statements_on_the_blocking_pool_carry_the_request_id() {
    let db = TestDb::new(Backend::Sqlite);
    let server = LoggingServer::start(&db.url);
    let page = server.url.replace("/graphql", "/projekte/aufenthaltskarten");
    let request_id = "log-test-page-0815";
    let resp = reqwest::Client::new()
        .get(&page)
        .header("x-request-id", request_id)
        .timeout(Duration::from_secs(20))
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    assert_eq!(resp.headers()["x-request-id"], request_id);
    let access = server.wait_for("access line", |v| {
        v["target"] == "ozg_registry::access" && v["path"].as_str().is_some_and(|p| p.starts_with("/projekte/"))
    });
    assert_eq!(access["request_id"], request_id, "{access}");
    assert_eq!(access["status"], status, "{access}");
    let sql = server.wait_for("SQL statement of the page", |v| {
        v["target"] == "ozg_registry::sql" && v["message"].as_str().is_some_and(|m| m.contains("projects"))
    });
    assert_eq!(sql["level"], "TRACE", "{sql}");
    assert_eq!(sql["request_id"], request_id, "logged on the blocking pool: {sql}");
    assert_eq!(sql["method"], "GET", "{sql}");
}
