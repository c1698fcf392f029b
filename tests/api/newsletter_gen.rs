//! The newsletter generated from the data: every fact of the source, what changed, the Atom feed.

use std::time::Duration;

use ozg_registry::http::HttpConfig;
use serde_json::json;

use crate::helpers::*;
use crate::web::{Browser, LOCKED, assert_unavailable_in_german};

async fn get(app: &TestApp, path: &str) -> (u16, String, String) {
    let r = app.client.get(format!("{}{path}", app.addr)).send().await.unwrap();
    let status = r.status().as_u16();
    let ct = r.headers().get("content-type").map(|v| v.to_str().unwrap().to_owned()).unwrap_or_default();
    (status, ct, r.text().await.unwrap())
}

/// Every service, project, organisation, phase, call and reuse decision of the source newsletter.
async fn newsletter_names_every_fact(app: &TestApp) {
    let d = app
        .data(
            r#"{ newsletter(topicField: "ein_auswanderung", format: TEXT) { body issue { title sections { slug phaseLabel } openCalls { title } } } }"#,
            json!({}),
        )
        .await;
    let body = d["newsletter"]["body"].as_str().unwrap();
    for fact in [
        // services
        "Einbürgerung",
        "Reiseausweise für Ausländer, Flüchtlinge und Staatenlose",
        "Hilfe zum Lebensunterhalt",
        "Leistungen nach Asylbewerberleistungsgesetz",
        "Aufenthaltstitel",
        "Aufenthaltskarten und aufenthaltsrelevante Bescheinigungen",
        "Beschäftigungserlaubnis",
        "Verpflichtungserklärung",
        // organisations
        "Ministerium für Kinder, Familie, Flüchtlinge und Integration",
        "KDN",
        "Stadt Solingen",
        "regio iT",
        "Stadt Bielefeld",
        "Stadt Essen",
        "Essener Systemhaus",
        "Form-Solutions",
        "Stadt Münster",
        "citeq",
        "Stadt Unna",
        "Stadt Dortmund",
        "Stadt Köln",
        "Stadt Troisdorf",
        "Land Brandenburg",
        "Brandenburgischer IT-Dienstleister",
        "Anstalt für kommunale Datenverarbeitung in Bayern",
        "Datenschutz",
        "Stadt Potsdam",
        "Ausländerbehörde der Stadt Köln",
        "Amt für Informationsverarbeitung der Stadt Köln",
        "Land Nordrhein-Westfalen",
        // phases, platforms, milestones, events
        "Phase: Umsetzung",
        "Phase: Konzeption",
        "Phase: Pilotierung",
        "Kommunalportal.NRW",
        "Standardschmiede",
        "OSCI",
        "1. Quartal 2021",
        "Dezember 2020",
        "November 2019",
        "Bielefeld",
        "Auf Bund-Länder-Ebene depriorisiert",
        "Fördersteckbrief",
        // reuse decisions and calls
        "Nachnutzung durch Land Nordrhein-Westfalen: Vereinbart",
        "Nachnutzung durch Land Brandenburg: Interesse bekundet",
        "Überführt in",
        "zweite Perspektive",
        "Pilotkommune",
        "Juli 2020",
    ] {
        assert!(body.contains(fact), "the newsletter does not name {fact:?}");
    }
    let issue = &d["newsletter"]["issue"];
    assert_eq!(issue["title"], "OZG-Newsletter Ein- & Auswanderung");
    assert!(issue["sections"].as_array().unwrap().len() >= 8);
    assert!(
        issue["openCalls"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["title"].as_str().unwrap().contains("Ausländerbehörden"))
    );
    let e = app.error(r#"{ newsletter(topicField: "sport") { body } }"#, json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
}

/// A change after a point in time appears under "what changed" since then, and not since later.
async fn what_changed_since(app: &TestApp) {
    let before = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    app.data(
        "mutation { signUp(input: {projectSlug: \"verpflichtungserklaerung-nrw\", organisation: {ags: \"05913000\"}, role: PILOT}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    let after = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let q = "query($s: DateTime) { newsletter(topicField: \"ein_auswanderung\", since: $s, format: MARKDOWN) { body issue { changes { summary } } } }";
    let d = app.data(q, json!({ "s": before })).await;
    let changes = d["newsletter"]["issue"]["changes"].as_array().unwrap().clone();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0]["summary"].as_str().unwrap().contains("Stadt Dortmund"));
    assert!(d["newsletter"]["body"].as_str().unwrap().contains("geändert hat"));
    let d = app.data(q, json!({ "s": after })).await;
    assert_eq!(d["newsletter"]["issue"]["changes"], json!([]));

    let (status, ct, html) =
        get(app, &format!("/newsletter/ein_auswanderung?since={}", before.replace('+', "%2B"))).await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/html"));
    assert!(html.contains("Was sich seit dem") && html.contains("Stadt Dortmund meldet sich"), "{html}");
    let (status, ct, md) = get(app, "/newsletter/ein_auswanderung.md").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("text/markdown"));
    assert!(md.starts_with("# OZG"));
    // A person following a wrong link reads German, without slugs or field names.
    let (status, _, text) = get(app, "/newsletter/sport").await;
    assert_eq!(status, 404);
    assert!(
        text.contains("Themenfeld") && !text.contains("ein_auswanderung") && !text.contains("topicField"),
        "{text}"
    );
    let (status, _, text) = get(app, "/newsletter/ein_auswanderung?since=gestern").await;
    assert_eq!(status, 400);
    assert!(text.contains("Zeitpunkt") && !text.contains("RFC"), "{text}");
}

/// The feed is well-formed Atom with the required elements, and shows a new change.
async fn atom_feed_of_changes(app: &TestApp) {
    app.data(
        "mutation { signUp(input: {projectSlug: \"einbuergerung\", organisation: {ags: \"05913000\"}, role: PILOT}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    let (status, ct, xml) = get(app, "/feeds/ein_auswanderung.atom").await;
    assert_eq!(status, 200);
    assert!(ct.starts_with("application/atom+xml"));
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let atom = "http://www.w3.org/2005/Atom";
    let feed = doc.root_element();
    assert_eq!(feed.tag_name().name(), "feed");
    assert_eq!(feed.tag_name().namespace(), Some(atom));
    for required in ["id", "title", "updated"] {
        assert!(feed.children().any(|c| c.tag_name().name() == required), "feed lacks {required}");
    }
    let entries: Vec<_> = feed.children().filter(|c| c.tag_name().name() == "entry").collect();
    assert!(!entries.is_empty());
    for e in &entries {
        for required in ["id", "title", "updated"] {
            assert!(e.children().any(|c| c.tag_name().name() == required), "entry lacks {required}");
        }
        let updated = e.children().find(|c| c.tag_name().name() == "updated").unwrap().text().unwrap();
        assert!(chrono::DateTime::parse_from_rfc3339(updated).is_ok(), "{updated}");
    }
    let first_title = entries[0].children().find(|c| c.tag_name().name() == "title").unwrap().text().unwrap();
    assert!(first_title.contains("Stadt Dortmund"), "newest first: {first_title}");
    let (status, _, _) = get(app, "/feeds/ein_auswanderung.rss").await;
    assert_eq!(status, 404);
}

/// Hostile text is harmless in every format.
async fn newsletter_escapes_hostile_text(app: &TestApp) {
    app.data(
        "mutation($i: CreateProjectInput!) { createProject(input: $i) { userErrors { code } } }",
        json!({ "i": { "slug": "xss", "title": "<script>alert(1)</script> & <b>", "deliveryModel": "UNDECIDED", "ozgIds": ["10274"] } }),
    )
    .await;
    let (_, _, html) = get(app, "/newsletter/ein_auswanderung").await;
    assert!(!html.contains("<script>alert"), "unescaped script in HTML");
    assert!(
        html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;")
            || html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "{html}"
    );
    let (_, _, md) = get(app, "/newsletter/ein_auswanderung.md").await;
    assert!(md.contains("\\<script\\>"), "markdown must escape markup characters");
    let (_, _, xml) = get(app, "/feeds/ein_auswanderung.atom").await;
    roxmltree::Document::parse(&xml).expect("still well-formed");
}

both_backends!(newsletter_names_every_fact, what_changed_since, atom_feed_of_changes, newsletter_escapes_hostile_text);

const SAVE: &str = "mutation($i: SaveNewsletterDefinitionInput!) { saveNewsletterDefinition(input: $i) { definition { slug } userErrors { code field } } }";
const PUBLISH: &str = "mutation($i: PublishEditionInput!) { publishNewsletterEdition(input: $i) {
    edition { number publishedAt since body(format: TEXT) issue { changes { summary } } } userErrors { code field } } }";

async fn define(app: &TestApp) {
    let d = app
        .data(SAVE, json!({ "i": { "slug": "ea-nrw", "title": "OZG-Newsletter Ein- & Auswanderung", "topicField": "ein_auswanderung", "audience": "Kommunen in NRW" } }))
        .await;
    assert_eq!(d["saveNewsletterDefinition"]["definition"]["slug"], "ea-nrw", "{d}");
}

/// Editions are stored unchanged; "what changed" of each covers exactly the time since the previous.
async fn editions_are_exact_and_idempotent(app: &TestApp) {
    define(app).await;
    let d = app
        .data(
            SAVE,
            json!({ "i": { "slug": "ea-nrw", "title": "x", "topicField": "ein_auswanderung", "audience": "x" } }),
        )
        .await;
    assert_eq!(user_error(&d, "saveNewsletterDefinition")["code"], "ALREADY_EXISTS");
    let d =
        app.data(SAVE, json!({ "i": { "slug": "sport", "title": "x", "topicField": "sport", "audience": "x" } })).await;
    assert_eq!(user_error(&d, "saveNewsletterDefinition")["field"], "topicField");

    let coordinator = app.token(&["--role", "coordinator", "--org", "kdn", "--scope", "topic:ein_auswanderung"]).await;
    let kommune = app.token(&["--role", "municipality", "--org", "ags:05913000"]).await;
    let publish = |key: &'static str, token: String| async move {
        app.gql_as(Some(&token), PUBLISH, json!({ "i": { "definition": "ea-nrw", "idempotencyKey": key } })).await
    };
    let v = publish("2026-11-a", kommune.clone()).await;
    assert_eq!(v["data"]["publishNewsletterEdition"]["userErrors"][0]["code"], "FORBIDDEN");

    let first = publish("2026-11-a", coordinator.clone()).await["data"]["publishNewsletterEdition"]["edition"].clone();
    assert_eq!(first["number"], 1);
    assert!(first["since"].is_null());
    let again = publish("2026-11-a", coordinator.clone()).await["data"]["publishNewsletterEdition"]["edition"].clone();
    assert_eq!(again["number"], 1, "the same key publishes once");
    assert_eq!(again["publishedAt"], first["publishedAt"]);

    app.data(
        "mutation { signUp(input: {projectSlug: \"verpflichtungserklaerung-nrw\", organisation: {ags: \"05913000\"}, role: PILOT}) { userErrors { code } } }",
        json!({}),
    )
    .await;
    let second = publish("2026-12-a", coordinator.clone()).await["data"]["publishNewsletterEdition"]["edition"].clone();
    assert_eq!(second["number"], 2);
    assert_eq!(second["since"], first["publishedAt"]);
    let changes = second["issue"]["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert!(changes[0]["summary"].as_str().unwrap().contains("Stadt Dortmund meldet sich"));
    assert!(second["body"].as_str().unwrap().contains("Stadt Dortmund meldet sich"));
    let third = publish("2026-12-b", coordinator).await["data"]["publishNewsletterEdition"]["edition"].clone();
    assert_eq!(third["issue"]["changes"], json!([]), "a change appears in the next edition and nowhere else");

    let d = app.data(r#"{ newsletterDefinitions { slug editions { number body } } }"#, json!({})).await;
    let eds = d["newsletterDefinitions"][0]["editions"].as_array().unwrap();
    assert_eq!(eds.len(), 3);
    assert!(!eds[0]["body"].as_str().unwrap().contains("Stadt Dortmund meldet sich"), "editions are stored unchanged");
}

fn token_after<'a>(text: &'a str, marker: &str) -> &'a str {
    let start = text.find(marker).unwrap_or_else(|| panic!("no {marker} in {text}")) + marker.len();
    let rest = &text[start..];
    &rest[..rest.find(|c: char| !c.is_ascii_hexdigit()).unwrap_or(rest.len())]
}

/// Double opt-in, what one subscriber receives, and the unsubscribe link in it.
async fn subscribers_double_opt_in(app: &TestApp) {
    define(app).await;
    app.data(PUBLISH, json!({ "i": { "definition": "ea-nrw", "idempotencyKey": "k1" } })).await;
    let sub = "mutation($i: SubscribeInput!) { subscribeNewsletter(input: $i) { code field } }";
    let v =
        app.gql_as(None, sub, json!({ "i": { "definition": "ea-nrw", "email": "Poststelle@Stadt.example" } })).await;
    assert_eq!(v["data"]["subscribeNewsletter"], json!([]), "{v}");
    let v = app.gql_as(None, sub, json!({ "i": { "definition": "ea-nrw", "email": "kein-mail" } })).await;
    assert_eq!(v["data"]["subscribeNewsletter"][0]["field"], "email");

    let url = app.db_url();
    let run = move |args: Vec<&'static str>| {
        let url = url.clone();
        async move { tokio::task::spawn_blocking(move || run_cli(&url, &args)).await.unwrap() }
    };
    let (ok, list) = run(vec!["newsletter", "subscribers", "--definition", "ea-nrw"]).await;
    assert!(ok && list.contains("poststelle@stadt.example\tPENDING"), "{list}");
    let (ok, out) =
        run(vec!["newsletter", "render-for", "--definition", "ea-nrw", "--email", "poststelle@stadt.example"]).await;
    assert!(!ok, "an unconfirmed address receives nothing: {out}");

    let confirm = token_after(&list, "/newsletter/confirm?token=").to_owned();
    let r = app.client.get(format!("{}/newsletter/confirm?token={confirm}", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = app.client.get(format!("{}/newsletter/confirm?token=ffff", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 404);

    let (ok, mail) =
        run(vec!["newsletter", "render-for", "--definition", "ea-nrw", "--email", "poststelle@stadt.example"]).await;
    assert!(ok, "{mail}");
    assert!(mail.contains("To: poststelle@stadt.example") && mail.contains("Einbürgerung"), "{mail}");
    let unsubscribe = token_after(&mail, "/newsletter/unsubscribe?token=").to_owned();
    assert!(!unsubscribe.is_empty());
    let r = app.client.get(format!("{}/newsletter/unsubscribe?token={unsubscribe}", app.addr)).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let (_, list) = run(vec!["newsletter", "subscribers", "--definition", "ea-nrw"]).await;
    assert!(list.contains("UNSUBSCRIBED"), "{list}");

    // The public change log never shows the address.
    let v = app.gql_as(None, r#"{ changes(first: 20, entityType: "NewsletterSubscription") { totalCount edges { node { summary fields { after } } } } }"#, json!({})).await;
    assert_eq!(v["data"]["changes"]["totalCount"], 3);
    assert!(!v.to_string().contains("stadt.example"), "{v}");
}

both_backends!(editions_are_exact_and_idempotent, subscribers_double_opt_in);

/// While the database does not answer in time, the newsletter's documents are 503 with
/// `Retry-After` in their own format and in German: plain text for Markdown, text and the feed,
/// the site's page for the HTML edition and the subscribers' links.
async fn documents_answer_503_in_german(app: &TestApp) {
    let mut b = Browser::new(app);
    for path in ["/newsletter/ein_auswanderung.txt", "/newsletter/ein_auswanderung.md", "/feeds/ein_auswanderung.atom"]
    {
        let doc = b.get(path).await;
        assert_unavailable_in_german(&doc, "text/plain; charset=utf-8");
        assert!(!doc.body.contains('<'), "plain text: {}", doc.body);
    }
    for path in [
        "/newsletter/ein_auswanderung",
        "/newsletter/confirm?token=7PfxSNUkFp_ymQurrg_ZzHyuN9y2ts2fUXCMnBZ3aW8",
        "/newsletter/unsubscribe?token=7PfxSNUkFp_ymQurrg_ZzHyuN9y2ts2fUXCMnBZ3aW8",
    ] {
        let page = b.get(path).await;
        assert_unavailable_in_german(&page, "text/html; charset=utf-8");
        assert!(page.body.contains("<h1>Vorübergehend nicht erreichbar</h1>"), "{}", page.body);
    }
}

/// On PostgreSQL, where the test can hold a lock the server's statements wait for (an embedded
/// SQLite database is not stuck from outside; a zero timeout is beaten by quick pages there).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn documents_answer_503_in_german_postgres() {
    let config = HttpConfig { request_timeout: Duration::from_millis(500), ..test_config() };
    let app = TestApp::spawn_with(Backend::Postgres, config).await;
    let lock = lock_tables(&app, LOCKED).await;
    documents_answer_503_in_german(&app).await;
    tokio::task::spawn_blocking(move || drop(lock)).await.unwrap();
}
