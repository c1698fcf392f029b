//! The newsletter generated from the data: every fact of the source, what changed, the Atom feed.

use serde_json::json;

use crate::helpers::*;

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
    let (status, _, _) = get(app, "/newsletter/sport").await;
    assert_eq!(status, 404);
    let (status, _, _) = get(app, "/newsletter/ein_auswanderung?since=gestern").await;
    assert_eq!(status, 400);
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
