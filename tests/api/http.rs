//! The HTTP surface: health, GraphiQL, the GraphQL request envelope, and the checked-in schema.

use serde_json::json;

use crate::helpers::*;

#[test]
fn schema_file_matches_served_schema() {
    let file = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/schema.graphql")).unwrap();
    assert_eq!(
        file,
        ozg_registry::graphql::sdl(),
        "schema.graphql differs from the served schema; run `cargo run -- schema > schema.graphql`"
    );
}

async fn health_and_graphiql(app: &TestApp) {
    let r = app.client.get(format!("{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["status"], "ok");
    let r = app.client.get(format!("{}/graphiql", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.text().await.unwrap().contains("/graphql"));
}

async fn request_envelope_errors(app: &TestApp) {
    // GET runs nothing, mutations included.
    let r = app.client.get(format!("{}/graphql?query=%7BapiVersion%7D", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");

    let r = app.post_raw("{not json", "application/json").await;
    assert_eq!(r.status(), 400);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST");

    let r = app.post_raw(r#"[{"query":"{ apiVersion }"}]"#, "application/json").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("batched"));

    let r = app.post_raw(r#"{"query": 5}"#, "application/json").await;
    assert_eq!(r.status(), 400);

    let r = app.post_raw(r#"{"query": "{ apiVersion }", "variables": [1]}"#, "application/json").await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("variables"));

    let r = app.post_raw(r#"{"query": "{ apiVersion }"}"#, "text/plain").await;
    assert_eq!(r.status(), 415);

    let big = format!(r#"{{"query": "{{ apiVersion }}", "extensions": {{"pad": "{}"}}}}"#, "x".repeat(2 << 20));
    let r = app.post_raw(big, "application/json").await;
    assert_eq!(r.status(), 413);

    // Syntax and validation errors are the client's, with a stable code.
    let e = app.error("{ projects { nope } }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    let e = app.error("{ projects ", json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
}

async fn malformed_identifiers_are_refused_by_validation(app: &TestApp) {
    let before = app.change_count().await;
    let e = app.error(r#"{ ozgService(ozgId: "1025") { name } }"#, json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert!(e["message"].as_str().unwrap().contains("5 digits"), "{e}");

    let e = app.error("query($o: OzgId!) { ozgService(ozgId: $o) { name } }", json!({ "o": "abcde" })).await;
    assert!(e["message"].as_str().unwrap().contains("5 digits"), "{e}");

    let e = app.error(r#"{ organisation(ags: "0531500") { name } }"#, json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("8 digits"), "{e}");
    let e = app.error(r#"{ organisation(ars: "05315") { name } }"#, json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("12 digits"), "{e}");
    let e = app.error(r#"{ leikaService(key: "9909900200000X") { name } }"#, json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("14 digits"), "{e}");

    // A malformed identifier inside a mutation input writes nothing.
    let e = app
        .error(
            r#"mutation { signUp(input: {projectSlug: "einbuergerung", organisation: {ags: "5122000"}, role: PILOT}) { userErrors { code } } }"#,
            json!({}),
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("8 digits"), "{e}");
    let e = app
        .error(
            r#"mutation { addMilestone(input: {projectSlug: "einbuergerung", title: "x", planned: "Anfang 2021"}) { userErrors { code } } }"#,
            json!({}),
        )
        .await;
    assert!(e["message"].as_str().unwrap().contains("YYYY-Qn"), "{e}");
    assert_eq!(app.change_count().await, before);
}

both_backends!(health_and_graphiql, request_envelope_errors, malformed_identifiers_are_refused_by_validation);
