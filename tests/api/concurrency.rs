//! Concurrent writers: identical sign-ups race for one participation.

use serde_json::json;

use crate::helpers::*;

/// 50 identical sign-ups at once leave exactly one participation, one change-log entry, no 5xx.
async fn fifty_identical_sign_ups(app: &TestApp) {
    let before = app.change_count().await;
    let q = "mutation($i: SignUpInput!) { signUp(input: $i) { participation { id } userErrors { code } } }";
    let body = json!({ "query": q, "variables": { "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05913000" }, "role": "PILOT" } } }).to_string();
    let tasks: Vec<_> = (0..50)
        .map(|_| {
            let client = app.client.clone();
            let url = format!("{}/graphql", app.addr);
            let body = body.clone();
            let auth = format!("Bearer {}", app.admin);
            tokio::spawn(async move {
                let r = client
                    .post(url)
                    .header("content-type", "application/json")
                    .header("authorization", auth)
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                (r.status().as_u16(), r.json::<serde_json::Value>().await.unwrap())
            })
        })
        .collect();
    let (mut created, mut exists) = (0, 0);
    for t in tasks {
        let (status, v) = t.await.unwrap();
        assert_eq!(status, 200, "{v}");
        assert!(v.get("errors").is_none(), "{v}");
        assert_no_internals(&v);
        if v["data"]["signUp"]["participation"].is_object() {
            created += 1;
        } else {
            assert_eq!(v["data"]["signUp"]["userErrors"][0]["code"], "ALREADY_EXISTS", "{v}");
            exists += 1;
        }
    }
    assert_eq!((created, exists), (1, 49));
    let d = app
        .data(
            r#"{ project(slug: "einbuergerung") { participations(role: [PILOT]) { organisation { ags } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["project"]["participations"].as_array().unwrap().len(), 1);
    assert_eq!(app.change_count().await, before + 1);
}

both_backends!(fifty_identical_sign_ups);

/// A client that lost the answer to its sign-up retries with the same Idempotency-Key.
async fn idempotent_retries(app: &TestApp) {
    let q = "mutation($i: SignUpInput!) { signUp(input: $i) { participation { id status } userErrors { code } } }";
    let send = |key: &str, ags: &str| {
        let body = json!({ "query": q, "variables": { "i": { "projectSlug": "einbuergerung", "organisation": { "ags": ags }, "role": "PILOT" } } }).to_string();
        app.client
            .post(format!("{}/graphql", app.addr))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {}", app.admin))
            .header("idempotency-key", key)
            .body(body)
            .send()
    };
    let before = app.change_count().await;
    let first = send("signup-1", "05913000").await.unwrap();
    assert_eq!(first.status(), 200);
    assert!(first.headers().get("idempotent-replayed").is_none());
    let first: serde_json::Value = first.json().await.unwrap();
    assert_eq!(first["data"]["signUp"]["participation"]["status"], "REQUESTED");
    let again = send("signup-1", "05913000").await.unwrap();
    assert_eq!(again.status(), 200);
    assert_eq!(again.headers()["idempotent-replayed"], "true");
    let again: serde_json::Value = again.json().await.unwrap();
    assert_eq!(again, first, "the stored answer, not ALREADY_EXISTS");
    assert_eq!(app.change_count().await, before + 1);

    let other = send("signup-1", "05113000").await.unwrap();
    assert_eq!(other.status(), 422, "same key, different request");
    let bad = send("with space", "05113000").await.unwrap();
    assert_eq!(bad.status(), 400);
    // Without a key the retry is an ordinary second request.
    let d = app
        .data(
            q,
            json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05913000" }, "role": "PILOT" } }),
        )
        .await;
    assert_eq!(d["signUp"]["userErrors"][0]["code"], "ALREADY_EXISTS");
}

both_backends!(idempotent_retries);

/// 100 identical sign-ups at once with one Idempotency-Key: one participation, one change-log
/// entry; every answer is the stored one (200): a request with the key while the first still runs
/// waits for its commit (the claim commits with the mutation) and replays it; never a 409 or a 5xx.
async fn hundred_sign_ups_one_key(app: &TestApp) {
    let before = app.change_count().await;
    let q = "mutation($i: SignUpInput!) { signUp(input: $i) { participation { id status } userErrors { code } } }";
    let body = json!({ "query": q, "variables": { "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05913000" }, "role": "PILOT" } } }).to_string();
    let tasks: Vec<_> = (0..100)
        .map(|_| {
            let request = app
                .client
                .post(format!("{}/graphql", app.addr))
                .header("content-type", "application/json")
                .header("authorization", format!("Bearer {}", app.admin))
                .header("idempotency-key", "kommune-dortmund-signup-einbuergerung")
                .body(body.clone());
            tokio::spawn(async move {
                let r = request.send().await.unwrap();
                let status = r.status().as_u16();
                let replayed = r.headers().contains_key("idempotent-replayed");
                (status, replayed, r.json::<serde_json::Value>().await.unwrap())
            })
        })
        .collect();
    let (mut fresh, mut replayed) = (Vec::new(), Vec::new());
    for t in tasks {
        let (status, was_replayed, v) = t.await.unwrap();
        assert_no_internals(&v);
        match status {
            200 if was_replayed => replayed.push(v),
            200 => fresh.push(v),
            other => panic!("HTTP {other}: {v}"),
        }
    }
    assert_eq!(fresh.len(), 1, "exactly one request ran: {fresh:?}");
    assert_eq!(fresh[0]["data"]["signUp"]["participation"]["status"], "REQUESTED", "{}", fresh[0]);
    assert!(replayed.iter().all(|v| *v == fresh[0]), "every replay is the stored answer");
    assert_eq!(fresh.len() + replayed.len(), 100);
    assert_eq!(app.change_count().await, before + 1);
    let d = app
        .data(
            r#"{ project(slug: "einbuergerung") { participations(role: [PILOT]) { organisation { ags } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["project"]["participations"].as_array().unwrap().len(), 1);
}

both_backends!(hundred_sign_ups_one_key);

/// Answers with userErrors are stored and replayed like any other; a refused attempt records its
/// DENIED entry once, in the transaction of its stored answer, and its replay records nothing.
async fn idempotent_refusals(app: &TestApp) {
    let q = "mutation($i: AddMilestoneInput!) { addMilestone(input: $i) { milestone { id } userErrors { code } } }";
    let essen = app.token(&["--role", "municipality", "--org", "ags:05113000"]).await;
    let send = |token: String, key: &'static str, slug: &'static str| {
        let body =
            json!({ "query": q, "variables": { "i": { "projectSlug": slug, "title": "Go-live", "planned": "2031" } } })
                .to_string();
        let request = app
            .client
            .post(format!("{}/graphql", app.addr))
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {token}"))
            .header("idempotency-key", key)
            .body(body);
        async move {
            let r = request.send().await.unwrap();
            assert_eq!(r.status(), 200);
            let replayed = r.headers().contains_key("idempotent-replayed");
            (replayed, r.json::<serde_json::Value>().await.unwrap())
        }
    };
    let before = app.change_count().await;
    let (replayed, refused) = send(essen.clone(), "refused-1", "einbuergerung").await;
    assert!(!replayed);
    assert_eq!(refused["data"]["addMilestone"]["userErrors"][0]["code"], "FORBIDDEN", "{refused}");
    assert_eq!(app.change_count().await, before + 1, "the refused attempt is recorded");
    assert_eq!(send(essen, "refused-1", "einbuergerung").await, (true, refused));
    assert_eq!(app.change_count().await, before + 1, "a replay records nothing");

    let (replayed, missing) = send(app.admin.clone(), "missing-1", "nope").await;
    assert!(!replayed);
    assert_eq!(missing["data"]["addMilestone"]["userErrors"][0]["code"], "NOT_FOUND", "{missing}");
    assert_eq!(send(app.admin.clone(), "missing-1", "nope").await, (true, missing));
    assert_eq!(app.change_count().await, before + 1);
}

both_backends!(idempotent_refusals);
