//! Several `serve` processes on one database (production behind a load balancer): the background
//! federation sync runs in one of them at a time, the one holding the job's lease; when that
//! process is killed, another takes the job over; and both answer queries alike.

use std::time::{Duration, Instant};

use serde_json::{Value, json};

use crate::faults::Server;
use crate::helpers::*;

/// The sync runs with the peer `c.test` that a server's metrics report.
async fn sync_runs(client: &reqwest::Client, server: &Server) -> u64 {
    let text = client.get(server.url.replace("/graphql", "/metrics")).send().await.unwrap().text().await.unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix("ozg_federation_sync_runs_total{peer=\"c.test\"} "))
        .map_or(0, |n| n.trim().parse().unwrap())
}

async fn gql(client: &reqwest::Client, server: &Server, query: &str) -> Value {
    client.post(&server.url).json(&json!({ "query": query })).send().await.unwrap().json().await.unwrap()
}

/// Waits until `server` holds the replicated project `slug`.
async fn replicated(client: &reqwest::Client, server: &Server, slug: &str) {
    let q = format!(r#"{{ project(slug: "{slug}") {{ origin }} }}"#);
    let started = Instant::now();
    loop {
        if gql(client, server, &q).await["data"]["project"]["origin"] == "c.test" {
            return;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "{slug} not replicated");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn one_sync_at_a_time(backend: Backend) {
    let (dc, shared) =
        tokio::task::spawn_blocking(move || (TestDb::new(Backend::Sqlite), TestDb::new(backend))).await.unwrap();
    let c = Server::start_with(
        &dc.url,
        &[("OZG_REGISTRY_INSTANCE_ID", "c.test"), ("OZG_REGISTRY_SYNC_INTERVAL_SECS", "0")],
    );
    let env = [
        ("OZG_REGISTRY_INSTANCE_ID", "p.test"),
        ("OZG_REGISTRY_SYNC_INTERVAL_SECS", "1"),
        ("OZG_REGISTRY_JOB_LEASE_SECS", "3"),
    ];
    let p1 = Server::start_with(&shared.url, &env);
    let p2 = Server::start_with(&shared.url, &env);
    let base = c.url.trim_end_matches("/graphql").to_owned();
    let url = shared.url.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        run_cli(&url, &["federation", "peer", "add", "--url", &base, "--instance-id", "c.test", "--trust-fetched-key"])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    let client = reqwest::Client::new();
    replicated(&client, &p1, "c-test--einbuergerung").await;

    // For a few seconds of rounds, only one of the two processes syncs.
    let before = (sync_runs(&client, &p1).await, sync_runs(&client, &p2).await);
    tokio::time::sleep(Duration::from_secs(4)).await;
    let after = (sync_runs(&client, &p1).await, sync_runs(&client, &p2).await);
    let grew = (after.0 > before.0, after.1 > before.1);
    assert!(grew == (true, false) || grew == (false, true), "runs before {before:?}, after {after:?}");
    assert!(after.0 == 0 || after.1 == 0, "both processes synced: {after:?}");
    let (mut holder, other) = if grew.0 { (p1, p2) } else { (p2, p1) };

    // Both answer alike: the same replicated projects, in the same order, with the same versions.
    let q = r#"{ projects(first: 100, filter: {origin: "c.test"}) { totalCount edges { node { slug title phase version origin } } } }"#;
    let (a, b) = (gql(&client, &holder, q).await, gql(&client, &other, q).await);
    assert!(a.get("errors").is_none(), "{a}");
    assert!(a["data"]["projects"]["totalCount"].as_i64().unwrap() > 0, "{a}");
    assert_eq!(a["data"], b["data"]);

    // A sync from the command line does not run beside it: it waits out a lease (3 s here) and
    // refuses, naming the holder.
    let url = shared.url.clone();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        run_cli_env(&url, &["federation", "sync"], &[("OZG_REGISTRY_JOB_LEASE_SECS", "3")])
    })
    .await
    .unwrap();
    assert!(!ok && out.contains("the federation job is held by"), "{out}");

    // The holder dies; the other process takes the job over once the lease has run out.
    holder.child.kill().unwrap();
    holder.child.wait().unwrap();
    let url = dc.url.clone();
    let token = tokio::task::spawn_blocking(move || issue_token(&url, &["--role", "admin", "--subject", "jobs-test"]))
        .await
        .unwrap();
    let create = r#"mutation { createProject(input: {slug: "uebernahme", title: "Übernahme", deliveryModel: UNDECIDED, ozgIds: ["10257"]}) { userErrors { code } } }"#;
    let r: Value = client
        .post(&c.url)
        .bearer_auth(&token)
        .json(&json!({ "query": create }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r["data"]["createProject"]["userErrors"], json!([]), "{r}");
    let killed = Instant::now();
    replicated(&client, &other, "c-test--uebernahme").await;
    assert!(sync_runs(&client, &other).await > 0);
    eprintln!("{backend:?}: the job was taken over {:?} after the holder was killed", killed.elapsed());
    drop((c, other, holder));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_sync_at_a_time_postgres() {
    one_sync_at_a_time(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_sync_at_a_time_sqlite() {
    one_sync_at_a_time(Backend::Sqlite).await;
}
