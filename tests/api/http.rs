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
    let r = app.client.get(format!("{}/readyz", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
}

/// GraphiQL comes from this server alone: the page and every script and style sheet it references
/// are served by us, with their content types and a CSP that allows nothing from elsewhere, and
/// the page names no other host.
async fn graphiql_is_served_without_a_cdn(app: &TestApp) {
    let csp = |r: &reqwest::Response| -> String {
        r.headers().get("content-security-policy").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default()
    };
    let strict = |policy: &str, what: &str| {
        for directive in ["default-src 'none'", "script-src 'self'", "style-src 'self'", "connect-src 'self'"] {
            assert!(policy.split(';').any(|d| d.trim() == directive), "{what}: no {directive:?} in {policy:?}");
        }
        assert!(!policy.contains("unsafe-inline") && !policy.contains("unsafe-eval") && !policy.contains("http"));
    };
    let r = app.client.get(format!("{}/graphiql", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "text/html; charset=utf-8");
    strict(&csp(&r), "/graphiql");
    let html = r.text().await.unwrap();
    assert!(!html.contains("http://") && !html.contains("https://") && !html.contains("//cdn"), "{html}");
    assert!(!html.contains("<script>") && !html.contains("<style"), "no inline script or style: {html}");
    assert!(html.contains("lang=\"de\""), "{html}");
    let refs: Vec<&str> = ["src=\"", "href=\""]
        .iter()
        .flat_map(|attr| html.split(attr).skip(1).map(|rest| rest.split('"').next().unwrap()))
        .collect();
    for expected in [
        "/graphiql/graphiql.min.js",
        "/graphiql/graphiql.min.css",
        "/graphiql/react.production.min.js",
        "/graphiql/react-dom.production.min.js",
        "/graphiql/start.js",
    ] {
        assert!(refs.contains(&expected), "the page loads {expected}: {refs:?}");
    }
    for path in &refs {
        assert!(path.starts_with('/') && !path.starts_with("//"), "{path} is not on this server");
        let r = app.client.get(format!("{}{path}", app.addr)).send().await.unwrap();
        assert_eq!(r.status(), 200, "{path}");
        let content_type = r.headers()["content-type"].to_str().unwrap().to_owned();
        let expected = if path.ends_with(".js") { "text/javascript; charset=utf-8" } else { "text/css; charset=utf-8" };
        assert_eq!(content_type, expected, "{path}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff", "{path}");
        strict(&csp(&r), path);
        let body = r.bytes().await.unwrap();
        let file = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("assets").join(&path[1..]);
        assert_eq!(body, std::fs::read(&file).unwrap(), "{path} is served as committed in {}", file.display());
    }
    // The bootstrap talks to our own /graphql.
    let start = app.client.get(format!("{}/graphiql/start.js", app.addr)).send().await.unwrap().text().await.unwrap();
    assert!(start.contains("'/graphql'") && !start.contains("http"), "{start}");
    let r = app.client.get(format!("{}/graphiql/nope.js", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 404);
}

/// `HEAD` is answered for every `GET` route: the same status and headers, no body.
async fn head_is_answered_like_get(app: &TestApp) {
    for path in [
        "/",
        "/graphql?query=%7BapiVersion%7D",
        "/healthz",
        "/graphiql",
        "/graphiql/start.js",
        "/projekte/aufenthaltstitel-nrw",
        "/feeds/ein_auswanderung.atom",
        "/projekte/gibt-es-nicht",
    ] {
        let url = format!("{}{path}", app.addr);
        let get = app.client.get(&url).send().await.unwrap();
        let (status, content_type) = (get.status(), get.headers()["content-type"].clone());
        let get_body = get.bytes().await.unwrap();
        let head = app.client.head(&url).send().await.unwrap();
        assert_eq!(head.status(), status, "HEAD {path}");
        assert_eq!(head.headers()["content-type"], content_type, "HEAD {path}");
        assert_eq!(
            head.headers()["content-length"].to_str().unwrap(),
            get_body.len().to_string(),
            "HEAD {path} announces the GET's length"
        );
        assert!(head.headers().contains_key("x-request-id"), "HEAD {path}");
        assert!(head.bytes().await.unwrap().is_empty(), "HEAD {path} has no body");
    }
    // HEAD goes where GET goes: /graphql without a query is refused as GET is.
    let r = app.client.head(format!("{}/graphql", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 400, "HEAD /graphql without a query");
}

async fn request_envelope_errors(app: &TestApp) {
    // GET runs queries, never mutations.
    let r = app.client.get(format!("{}/graphql?query=%7BapiVersion%7D", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<serde_json::Value>().await.unwrap()["data"]["apiVersion"].is_string());
    let r = app
        .client
        .get(format!("{}/graphql", app.addr))
        .query(&[
            ("query", "query($s: String!) { project(slug: $s) { title } }"),
            ("variables", r#"{"s": "einbuergerung"}"#),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["data"]["project"]["title"], "Einbürgerung");
    let before = app.change_count().await;
    let mutation = r#"mutation { signUp(input: {projectSlug: "einbuergerung", organisation: {ags: "05913000"}, role: PILOT}) { userErrors { code } } }"#;
    let r = app
        .client
        .get(format!("{}/graphql", app.addr))
        .header("authorization", format!("Bearer {}", app.admin))
        .query(&[("query", mutation)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 405);
    assert_eq!(r.headers()["allow"], "POST");
    assert_eq!(app.change_count().await, before, "a mutation over GET writes nothing");
    let r = app.client.get(format!("{}/graphql?variables=%7B%7D", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = app.client.get(format!("{}/graphql?query=%7BapiVersion%7D&variables=nope", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 400);
    let r = app.client.put(format!("{}/graphql", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 405);

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

    let big = format!(r#"{{"query": "{{ apiVersion }}", "extensions": {{"pad": "{}"}}}}"#, "x".repeat(300 * 1024));
    let r = app.post_raw(big, "application/json").await;
    assert_eq!(r.status(), 413);

    // Syntax and validation errors are the client's, with a stable code.
    let e = app.error("{ projects(first: 1) { nope } }", json!({})).await;
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

both_backends!(
    health_and_graphiql,
    graphiql_is_served_without_a_cdn,
    head_is_answered_like_get,
    request_envelope_errors,
    malformed_identifiers_are_refused_by_validation
);

async fn hostile_input_is_refused_cleanly(app: &TestApp) {
    let before = app.change_count().await;
    // Cursors that are not ours, including ones that would overflow an offset.
    for after in ["aäa", "zz", "6f66667365743a39323233333732303336383534373735383037", "6f66667365743a2d31"] {
        for list in ["projects", "organisations", "ozgServices", "changes"] {
            let e = app
                .error(
                    &format!("query($a: String) {{ {list}(first: 20, after: $a) {{ totalCount }} }}"),
                    json!({ "a": after }),
                )
                .await;
            assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{list} {after}: {e}");
        }
    }
    // NUL characters never reach the database, neither in JSON nor escaped in the document.
    for q in [
        r#"mutation { confirmNewsletterSubscription(token: "a\u0000b") { status } }"#,
        r#"query($t: String = "\u0000") { project(slug: $t) { slug } }"#,
    ] {
        let e = app.error(q, json!({})).await;
        assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT", "{e}");
        assert!(e["message"].as_str().unwrap().contains("NUL"), "{e}");
    }
    let r = app.post_raw(r#"{"query": "{ project(slug: \"a\u0000b\") { slug } }"}"#, "application/json").await;
    assert_eq!(r.status(), 400);
    let r = app
        .post_raw(
            r#"{"query": "query($s: String!) { project(slug: $s) { slug } }", "variables": {"s": "x\u0000"}}"#,
            "application/json",
        )
        .await;
    assert_eq!(r.status(), 400);
    // Control and direction-override characters are refused in texts.
    for title in ["A\u{1b}[31mB", "abc\u{202e}def"] {
        let d = app
            .data(
                "mutation($i: CreateProjectInput!) { createProject(input: $i) { userErrors { code field } } }",
                json!({ "i": { "slug": "evil", "title": title, "deliveryModel": "UNDECIDED", "ozgIds": ["10274"] } }),
            )
            .await;
        assert_eq!(user_error(&d, "createProject")["field"], "title");
    }
    // Long search texts and long lists are refused instead of failing in the database.
    let long = "a".repeat(60_000);
    let e = app
        .error(
            "query($t: String) { projects(first: 20, filter: {titleContains: $t}) { totalCount } }",
            json!({ "t": long }),
        )
        .await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    let phases: Vec<&str> = std::iter::repeat_n("PILOT", 5_000).collect();
    let e = app
        .error(
            "query($p: [Phase!]) { projects(first: 20, filter: {phase: $p}) { totalCount } }",
            json!({ "p": phases }),
        )
        .await;
    assert_eq!(e["extensions"]["code"], "LIMIT_EXCEEDED");
    assert_eq!(e["extensions"]["limit"], "listItems");
    let e = app.error(r#"{ changes(first: 20, since: "9999-12-31T23:59:59-23:59") { totalCount } }"#, json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    let e = app.error(r#"{ organisation(id: "+3") { name } }"#, json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    // An oversized body is answered in the GraphQL error shape.
    let big = format!(r#"{{"query": "{{ apiVersion }}", "extensions": {{"pad": "{}"}}}}"#, "x".repeat(300 * 1024));
    let r = app.post_raw(big, "application/json").await;
    assert_eq!(r.status(), 413);
    let v: serde_json::Value = r.json().await.unwrap();
    assert_eq!(v["errors"][0]["extensions"]["code"], "BAD_REQUEST");
    assert_eq!(app.change_count().await, before);
}

async fn search_folds_umlauts_alike(app: &TestApp) {
    for (text, at_least) in [("übermittlung", 1), ("ÜBERMITTLUNG", 1), ("änderung", 7)] {
        let d = app
            .data(
                "query($t: String) { ozgServices(first: 20, filter: {nameContains: $t}) { totalCount } }",
                json!({ "t": text }),
            )
            .await;
        assert!(d["ozgServices"]["totalCount"].as_i64().unwrap() >= at_least, "{text}: {d}");
    }
}

/// Each nested level costs one query for all its records, however many rows a level has.
async fn queries_per_level_not_per_row(app: &TestApp) {
    let count = |q: &'static str, n: i64| {
        let body = json!({ "query": q, "variables": { "n": n } }).to_string();
        async move {
            let r = app.post_raw(body, "application/json").await;
            let n: usize = r.headers()["x-db-queries"].to_str().unwrap().parse().unwrap();
            let v = r.json::<serde_json::Value>().await.unwrap();
            assert!(v.get("errors").is_none(), "{v}");
            n
        }
    };
    // 100 organisations with their Land, parent, children, participations and those projects.
    let orgs = "query($n: Int!) { organisations(first: $n) { edges { node { name land { name } parent { name }
        children { name } participations { role project { title leadLand { code } } } reuseDeclarations { status } } } } }";
    // Reference data (Länder, Themenfelder) is read once per server: warm it first.
    count(orgs, 1).await;
    let few = count(orgs, 2).await;
    let many = count(orgs, 100).await;
    assert_eq!(few, many, "query count grows with the number of organisations");
    assert!(many <= 10, "{many} queries");
    // Every project with six nested levels.
    let projects = "query($n: Int!) { projects(first: $n) { edges { node { title leadLand { name }
        services(first: 3) { service { name topicField { name } leikaServices(first: 20) { name } } }
        participations(first: 10) { organisation { name parent { name } participations(first: 10) { project { title } } } }
        calls(first: 10) { issuer { name } rolesSought } reuseDeclarations(first: 10) { organisation { name } } } } } }";
    let all = count(projects, 50).await;
    assert!(all <= 16, "{all} queries for the project tree");
}

/// Deep, wide or alias-heavy queries are refused before they run; others report their cost.
async fn query_limits(app: &TestApp) {
    // The reviewer's 914-byte query that took 1.66 GB: fragments walking organisation → project → …
    let mut q = String::from(r#"{ organisation(slug: "stadt-solingen") { ...O0 } }"#);
    for i in 0..7 {
        q.push_str(&format!(
            " fragment O{i} on Organisation {{ name participations {{ project {{ title participations {{ organisation {{ ...O{} }} }} }} }} }}",
            i + 1
        ));
    }
    q.push_str(" fragment O7 on Organisation { name }");
    let e = app.error(&q, json!({})).await;
    assert_eq!(e["extensions"]["code"], "LIMIT_EXCEEDED");
    assert_eq!(e["extensions"]["limit"], "depth");
    assert!(e["message"].as_str().unwrap().contains("deeper than 10"), "{e}");

    let aliases: String = (0..16).map(|i| format!("a{i}: apiVersion ")).collect();
    let e = app.error(&format!("{{ {aliases} }}"), json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("15 aliases"), "{e}");

    let wide: String = (0..5).map(|i| format!("p{i}: projects(first: 100) {{ edges {{ node {{ participations {{ organisation {{ participations {{ project {{ title }} }} }} }} }} }} }} ")).collect();
    let e = app.error(&format!("{{ {wide} }}"), json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("cost exceeds"), "{e}");

    // The cost is an upper bound: a list without `first` counts its default of 100 items.
    let v = app
        .gql(r#"{ project(slug: "einbuergerung") { title participations { organisation { name } } } }"#, json!({}))
        .await;
    assert_eq!(v["extensions"]["cost"], 1 + (1 + (1 + 100 * 2)), "{v}");
    let v = app
        .gql(
            r#"{ project(slug: "einbuergerung") { title participations(first: 2) { organisation { name } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(v["extensions"]["cost"], 1 + (1 + (1 + 2 * 2)), "{v}");
    assert_eq!(v["data"]["project"]["participations"].as_array().unwrap().len(), 2, "{v}");
}

both_backends!(query_limits);

both_backends!(hostile_input_is_refused_cleanly, search_folds_umlauts_alike, queries_per_level_not_per_row);

/// `totalCount` is remembered between requests but never outlives a write: creating a project
/// (and a replayed page of the same filter) give the exact count each time.
async fn counts_follow_writes(app: &TestApp) {
    let total = |filter: serde_json::Value| async move {
        let q = "query($f: ProjectFilter) { projects(first: 1, filter: $f) { totalCount pageInfo { hasNextPage } } }";
        let d = app.data(q, json!({ "f": filter })).await;
        d["projects"]["totalCount"].as_i64().unwrap()
    };
    let all = total(json!(null)).await;
    assert_eq!(total(json!(null)).await, all);
    let nrw = total(json!({ "leadLand": "DE-NW" })).await;
    let create =
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { project { slug } userErrors { code } } }";
    let d = app
        .data(
            create,
            json!({ "i": { "slug": "zaehlen", "title": "Zählprobe", "leadLand": "DE-NW", "deliveryModel": "UNDECIDED", "ozgIds": ["10000"] } }),
        )
        .await;
    assert_eq!(d["createProject"]["userErrors"], json!([]), "{d}");
    assert_eq!(total(json!(null)).await, all + 1);
    assert_eq!(total(json!({ "leadLand": "DE-NW" })).await, nrw + 1);
    assert_eq!(total(json!({ "leadLand": "DE-BY" })).await, total(json!({ "leadLand": "DE-BY" })).await);
    // Without totalCount or pageInfo nothing is counted: one statement fewer.
    let statements = |q: &'static str| async move {
        let r = app.post_raw(json!({ "query": q }).to_string(), "application/json").await;
        r.headers()["x-db-queries"].to_str().unwrap().parse::<usize>().unwrap()
    };
    let with = statements("{ projects(first: 5) { totalCount edges { node { slug } } } }").await;
    let without = statements("{ projects(first: 5) { edges { node { slug } } } }").await;
    assert_eq!(without + 1, with, "{without} statements without totalCount, {with} with it");
}

/// Answers are gzip-compressed when the client accepts it, and only then.
async fn responses_are_compressed_on_request(app: &TestApp) {
    let body = json!({ "query": "{ ozgServices(first: 100) { edges { node { ozgId name } } } }" }).to_string();
    let send = |encoding: Option<&'static str>| {
        let mut r = app.client.post(format!("{}/graphql", app.addr)).header("content-type", "application/json");
        if let Some(e) = encoding {
            r = r.header("accept-encoding", e);
        }
        r.body(body.clone()).send()
    };
    let gz = send(Some("gzip")).await.unwrap();
    assert_eq!(gz.status(), 200);
    assert_eq!(gz.headers()["content-encoding"], "gzip");
    let zipped = gz.bytes().await.unwrap();
    assert_eq!(&zipped[..2], &[0x1f, 0x8b], "not gzip");
    let plain = send(None).await.unwrap();
    assert!(plain.headers().get("content-encoding").is_none());
    let plain = plain.bytes().await.unwrap();
    assert!(plain.starts_with(b"{\"data\""));
    assert!(zipped.len() * 3 < plain.len(), "{} bytes gzip vs {} plain", zipped.len(), plain.len());
}

both_backends!(counts_follow_writes, responses_are_compressed_on_request);

/// The other lists count the same way: only when asked, and exactly after a write.
async fn organisation_and_service_counts(app: &TestApp) {
    let orgs = |with_total: bool| {
        let q = if with_total {
            "{ organisations(first: 2, filter: {kind: MUNICIPALITY}) { totalCount edges { node { name } } } }"
        } else {
            "{ organisations(first: 2, filter: {kind: MUNICIPALITY}) { edges { node { name } } } }"
        };
        async move {
            let r = app.post_raw(json!({ "query": q }).to_string(), "application/json").await;
            let n: usize = r.headers()["x-db-queries"].to_str().unwrap().parse().unwrap();
            let v: serde_json::Value = r.json().await.unwrap();
            assert!(v.get("errors").is_none(), "{v}");
            (n, v["data"]["organisations"]["totalCount"].as_i64())
        }
    };
    let (with, total) = orgs(true).await;
    let (without, none) = orgs(false).await;
    assert!(none.is_none() && without < with, "{without} statements without totalCount, {with} with it");
    let create = "mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) { organisation { name } userErrors { code message } } }";
    let d = app
        .data(create, json!({ "i": { "slug": "zaehlhausen", "name": "Gemeinde Zählhausen", "kind": "MUNICIPALITY", "land": "DE-NW" } }))
        .await;
    assert_eq!(d["createOrganisation"]["userErrors"], json!([]), "{d}");
    assert_eq!(orgs(true).await.1, total.map(|t| t + 1));
    let services =
        "{ ozgServices(first: 1, filter: {topicField: \"ein_auswanderung\"}) { totalCount pageInfo { hasNextPage } } }";
    let a = app.data(services, json!({})).await;
    let b = app.data(services, json!({})).await;
    assert_eq!(a, b);
    assert!(a["ozgServices"]["totalCount"].as_i64().unwrap() > 1);
    assert_eq!(a["ozgServices"]["pageInfo"]["hasNextPage"], true);
}

both_backends!(organisation_and_service_counts);
