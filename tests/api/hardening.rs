//! Abuse limits, GraphQL over HTTP media types, request ids, metrics, switches, rate limits and
//! the request timeout: each limit at its bound and one step beyond.

use std::time::Duration;

use ozg_registry::graphql::limits::Limits;
use ozg_registry::http::HttpConfig;
use ozg_registry::http::rate::Rate;
use serde_json::{Value, json};

use crate::helpers::*;

/// The refused request's limit name (asserting it was refused by a limit).
async fn refused_by(app: &TestApp, query: &str, variables: Value) -> String {
    let e = app.error(query, variables).await;
    assert_eq!(e["extensions"]["code"], "LIMIT_EXCEEDED", "{e}");
    assert!(e["extensions"]["requestId"].is_string(), "{e}");
    e["extensions"]["limit"].as_str().unwrap().to_owned()
}

/// A chain of `levels` nested selections: organisation → parent → … → name.
fn nested(levels: usize) -> String {
    let mut q = String::from(r#"{ organisation(slug: "stadt-solingen") { "#);
    for _ in 0..levels.saturating_sub(2) {
        q.push_str("parent { ");
    }
    q.push_str("name");
    for _ in 0..levels.saturating_sub(1) {
        q.push_str(" }");
    }
    q.push_str(" }");
    q
}

async fn limits_at_and_beyond_their_bounds(app: &TestApp) {
    // Depth 10 runs, 11 is refused.
    let v = app.gql(&nested(10), json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert_eq!(refused_by(app, &nested(11), json!({})).await, "depth");

    // 15 aliases run, 16 are refused.
    let aliases =
        |n: usize| format!("{{ {} }}", (0..n).map(|i| format!("a{i}: apiVersion")).collect::<Vec<_>>().join(" "));
    assert!(app.gql(&aliases(15), json!({})).await.get("errors").is_none());
    assert_eq!(refused_by(app, &aliases(16), json!({})).await, "aliases");

    // `first` is required and within 1..100.
    let page = "query($n: Int!) { projects(first: $n) { totalCount } }";
    assert!(app.gql(page, json!({ "n": 100 })).await.get("errors").is_none());
    for n in [0, 101, -1] {
        assert_eq!(refused_by(app, page, json!({ "n": n })).await, "first", "first: {n}");
    }
    let e = app.error("{ projects { totalCount } }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert!(e["message"].as_str().unwrap().contains("first"), "{e}");

    // Input lists hold at most 250 items, in variables and in the document.
    let phases = |n: usize| json!({ "p": std::iter::repeat_n("PILOT", n).collect::<Vec<_>>() });
    let q = "query($p: [Phase!]) { projects(first: 5, filter: {phase: $p}) { totalCount } }";
    assert!(app.gql(q, phases(250)).await.get("errors").is_none());
    assert_eq!(refused_by(app, q, phases(251)).await, "listItems");
    let literal =
        format!("{{ projects(first: 5, filter: {{phase: [{}]}}) {{ totalCount }} }}", vec!["PILOT"; 251].join(" "));
    assert_eq!(refused_by(app, &literal, json!({})).await, "listItems");

    // At most 1,000 fields, counted where fragments are spread.
    let spreads = |n: usize| format!("{{ {} }} fragment F on Query {{ apiVersion }}", vec!["...F"; n].join(" "));
    assert!(app.gql(&spreads(1000), json!({})).await.get("errors").is_none());
    assert_eq!(refused_by(app, &spreads(1001), json!({})).await, "fields");

    // At most 20,000 tokens: at the bound the token limit lets the document through (the field
    // limit then refuses it), one more token and the document is not read.
    let tokens = |n: usize| format!("{{ apiVersion {} }}", vec!["__typename"; n - 3].join(" "));
    assert_eq!(refused_by(app, &tokens(20_000), json!({})).await, "fields");
    assert_eq!(refused_by(app, &tokens(20_001), json!({})).await, "tokens");

    // Introspection: the standard query runs; asking for the schema within the schema is refused.
    let v = app.gql(INTROSPECTION, json!({})).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert!(v["data"]["__schema"]["types"].as_array().unwrap().len() > 50);
    let circular = "{ __schema { types { fields { type { fields { type { fields { name } } } } } } } }";
    assert_eq!(refused_by(app, circular, json!({})).await, "introspection");
}

/// The cost limit (set to 1,000 here): a page size whose estimate is at the limit runs and reports
/// its cost; one more item per page is refused.
async fn cost_limit_at_its_bound(app: &TestApp) {
    let q =
        "query($n: Int!) { projects(first: $n) { edges { node { title participations { organisation { name } } } } } }";
    let cost = |v: &Value| v["extensions"]["cost"].as_u64().unwrap();
    let c1 = cost(&app.gql(q, json!({ "n": 1 })).await);
    let c2 = cost(&app.gql(q, json!({ "n": 2 })).await);
    let per_item = c2 - c1;
    let base = c1 - per_item;
    let at_bound = (1000 - base) / per_item;
    assert!((2..100).contains(&at_bound), "cost {base} + {per_item}·n");
    let v = app.gql(q, json!({ "n": at_bound })).await;
    assert!(v.get("errors").is_none(), "{v}");
    assert!(cost(&v) <= 1000 && cost(&v) + per_item > 1000, "{v}");
    let e = app.error(q, json!({ "n": at_bound + 1 })).await;
    assert_eq!(e["extensions"]["limit"], "cost", "{e}");
    assert_eq!(e["extensions"]["max"], 1000);
    assert!(e["message"].as_str().unwrap().contains("1000 points"), "{e}");
}

async fn graphql_response_media_type(app: &TestApp) {
    let post = |accept: &'static str, query: &'static str| {
        app.client
            .post(format!("{}/graphql", app.addr))
            .header("content-type", "application/json")
            .header("accept", accept)
            .body(json!({ "query": query }).to_string())
            .send()
    };
    let gr = "application/graphql-response+json";
    // graphql-response+json: request errors are 400, results 200, in that media type.
    for (query, status) in [
        ("{ apiVersion", 400),
        ("{ nope }", 400),
        ("{ apiVersion }", 200),
        (r#"{ organisation(slug: "x") { name } }"#, 200),
    ] {
        let r = post(gr, query).await.unwrap();
        assert_eq!(r.status(), status, "{query}");
        assert!(r.headers()["content-type"].to_str().unwrap().starts_with(gr));
    }
    let r = post(gr, "{ a0: apiVersion a1: apiVersion a2: apiVersion a3: apiVersion a4: apiVersion a5: apiVersion a6: apiVersion a7: apiVersion a8: apiVersion a9: apiVersion a10: apiVersion a11: apiVersion a12: apiVersion a13: apiVersion a14: apiVersion a15: apiVersion }").await.unwrap();
    assert_eq!(r.status(), 400, "a refused limit is a request error");
    // application/json: every GraphQL result is 200.
    let r = post("application/json", "{ apiVersion").await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("application/json"));
    // Neither: 406.
    let r = post("text/html", "{ apiVersion }").await.unwrap();
    assert_eq!(r.status(), 406);
    // Non-object extensions are refused.
    let r = app.post_raw(r#"{"query": "{ apiVersion }", "extensions": "x"}"#, "application/json").await;
    assert_eq!(r.status(), 400);
    let r = app.post_raw(r#"{"query": "{ apiVersion }", "extensions": {"trace": true}}"#, "application/json").await;
    assert_eq!(r.status(), 200);
}

async fn request_ids_and_metrics(app: &TestApp) {
    let r = app.client.get(format!("{}/healthz", app.addr)).send().await.unwrap();
    let id = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    assert_eq!(id.len(), 24);
    // A client's own request id is kept; errors carry it.
    let r = app
        .client
        .post(format!("{}/graphql", app.addr))
        .header("content-type", "application/json")
        .header("x-request-id", "trace-4711")
        .body(r#"{"query": "{ nope }"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(r.headers()["x-request-id"], "trace-4711");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["requestId"], "trace-4711", "{v}");
    // An id that is not a plain token is replaced.
    let r = app.client.get(format!("{}/healthz", app.addr)).header("x-request-id", "a b\"c").send().await.unwrap();
    assert_ne!(r.headers()["x-request-id"], "a b\"c");

    app.data("{ apiVersion }", json!({})).await;
    let e = refused_by(app, &nested(12), json!({})).await;
    assert_eq!(e, "depth");
    let r = app.client.get(format!("{}/metrics", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.headers()["content-type"].to_str().unwrap().starts_with("text/plain; version=0.0.4"));
    let text = r.text().await.unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
            .rsplit(' ')
            .next()
            .unwrap()
            .parse()
            .unwrap()
    };
    assert!(value(r#"ozg_http_requests_total{method="POST",route="/graphql",status="200"}"#) >= 3.0);
    assert!(value(r#"ozg_http_requests_total{method="GET",route="/healthz",status="200"}"#) >= 2.0);
    assert!(value(r#"ozg_errors_total{code="LIMIT_EXCEEDED"}"#) >= 1.0);
    assert!(value(r#"ozg_errors_total{code="BAD_USER_INPUT"}"#) >= 1.0);
    assert!(value(r#"ozg_http_request_duration_seconds_count{route="/graphql"}"#) >= 3.0);
    assert_eq!(value(r#"ozg_db_pool_connections{state="max"}"#), 8.0);
}

/// The `method` label takes only known methods: whatever a client makes up counts as `other`, so
/// clients cannot grow the label set.
async fn metrics_method_label_is_bounded(app: &TestApp) {
    for made_up in ["BREW", "XYZZY", "GETX"] {
        let m = reqwest::Method::from_bytes(made_up.as_bytes()).unwrap();
        let r = app.client.request(m, format!("{}/healthz", app.addr)).send().await.unwrap();
        assert!(r.status().is_client_error(), "{made_up}: {}", r.status());
    }
    let text = app.client.get(format!("{}/metrics", app.addr)).send().await.unwrap().text().await.unwrap();
    let methods: std::collections::BTreeSet<&str> = text
        .lines()
        .filter(|l| l.starts_with("ozg_http_requests_total{"))
        .filter_map(|l| l.split("method=\"").nth(1)?.split('"').next())
        .collect();
    assert!(methods.contains("other"), "made-up methods count as other: {methods:?}\n{text}");
    let known = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "other"];
    assert!(methods.iter().all(|m| known.contains(m)), "unbounded method labels: {methods:?}");
}

both_backends!(
    limits_at_and_beyond_their_bounds,
    graphql_response_media_type,
    request_ids_and_metrics,
    metrics_method_label_is_bounded
);
both_backends_with!(
    cost_limit_at_its_bound,
    HttpConfig { limits: Limits { max_cost: 1000, ..Limits::default() }, ..test_config() }
);

/// Production switches: no introspection, no GraphiQL, no metrics.
async fn switched_off(app: &TestApp) {
    let e = app.error("{ __schema { types { name } } }", json!({})).await;
    assert_eq!(e["extensions"]["limit"], "introspection", "{e}");
    let e = app.error(r#"{ __type(name: "Project") { name } }"#, json!({})).await;
    assert_eq!(e["extensions"]["limit"], "introspection", "{e}");
    let v = app.data("{ __typename apiVersion }", json!({})).await;
    assert_eq!(v["__typename"], "Query");
    for path in ["/graphiql", "/graphiql/graphiql.min.js", "/graphiql/start.js", "/metrics"] {
        let r = app.client.get(format!("{}{path}", app.addr)).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
    }
}

both_backends_with!(
    switched_off,
    HttpConfig {
        limits: Limits { introspection: false, ..Limits::default() },
        graphiql: false,
        metrics: false,
        ..test_config()
    }
);

/// Five requests a minute per address: the sixth is 429 with Retry-After; health checks are not
/// limited.
async fn rate_limit_per_address(app: &TestApp) {
    for i in 0..5 {
        let r = app.post_with(r#"{"query": "{ apiVersion }"}"#, "application/json", None).await;
        assert_eq!(r.status(), 200, "request {i}");
    }
    let r = app.post_with(r#"{"query": "{ apiVersion }"}"#, "application/json", None).await;
    assert_eq!(r.status(), 429);
    let wait: u64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=12).contains(&wait), "{wait}");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "RATE_LIMITED");
    let r = app.client.get(format!("{}/healthz", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

both_backends_with!(
    rate_limit_per_address,
    HttpConfig {
        rate_per_address: Some(Rate { requests: 5, per: Duration::from_secs(60) }),
        rate_per_token: None,
        ..test_config()
    }
);

/// Three requests a minute per token: the fourth with the same token is 429, other callers go on.
async fn rate_limit_per_token(app: &TestApp) {
    let admin = format!("Bearer {}", app.admin);
    for _ in 0..3 {
        let r = app.post_with(r#"{"query": "{ apiVersion }"}"#, "application/json", Some(&admin)).await;
        assert_eq!(r.status(), 200);
    }
    let r = app.post_with(r#"{"query": "{ apiVersion }"}"#, "application/json", Some(&admin)).await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    let r = app.post_with(r#"{"query": "{ apiVersion }"}"#, "application/json", None).await;
    assert_eq!(r.status(), 200, "anonymous callers have their own budget");
}

both_backends_with!(
    rate_limit_per_token,
    HttpConfig {
        rate_per_address: None,
        rate_per_token: Some(Rate { requests: 3, per: Duration::from_secs(60) }),
        ..test_config()
    }
);

/// A request that outlives the request timeout is answered 503 TIMEOUT with Retry-After.
async fn request_timeout(app: &TestApp) {
    let q = "{ projects(first: 100) { edges { node { title participations { organisation { name } } } } } }";
    let r = app.post_with(json!({ "query": q }).to_string(), "application/json", None).await;
    assert_eq!(r.status(), 503);
    assert_eq!(r.headers()["retry-after"], "1");
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "TIMEOUT", "{v}");
}

// A zero timeout: every request that reaches the database outlives it (a 1 ms timeout was not
// always beaten by a small query on SQLite).
both_backends_with!(request_timeout, HttpConfig { request_timeout: Duration::ZERO, ..test_config() });

/// The introspection query GraphiQL and client generators send (graphql-js `getIntrospectionQuery`).
const INTROSPECTION: &str = r#"
query IntrospectionQuery {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types { ...FullType }
    directives { name description locations args { ...InputValue } }
  }
}
fragment FullType on __Type {
  kind name description
  fields(includeDeprecated: true) { name description args { ...InputValue } type { ...TypeRef } isDeprecated deprecationReason }
  inputFields { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
  possibleTypes { ...TypeRef }
}
fragment InputValue on __InputValue { name description type { ...TypeRef } defaultValue }
fragment TypeRef on __Type {
  kind name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name
    ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}
"#;
