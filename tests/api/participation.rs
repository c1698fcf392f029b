//! Participation (coordinators add, Kommunen sign up) and calls for participation.

use serde_json::json;

use crate::helpers::*;

const ADD: &str = "mutation($i: AddParticipationInput!) { addParticipation(input: $i) {
    participation { id role status version organisation { name } project { slug } }
    userErrors { code field message currentVersion } } }";
const SIGN_UP: &str = "mutation($i: SignUpInput!) { signUp(input: $i) {
    participation { id role status since version organisation { name } project { slug } }
    userErrors { code field message currentVersion } } }";
const CONFIRM: &str = "mutation($i: ParticipationStatusInput!) { confirmParticipation(input: $i) {
    participation { status version } userErrors { code field message currentVersion } } }";
const WITHDRAW: &str = "mutation($i: ParticipationStatusInput!) { withdrawParticipation(input: $i) {
    participation { status version note } userErrors { code field message currentVersion } } }";

async fn kommune_signs_up_as_pilot(app: &TestApp) {
    let before = app.change_count().await;
    let d = app
        .data(SIGN_UP, json!({ "i": { "projectSlug": "verpflichtungserklaerung-nrw", "organisation": { "ags": "05913000" }, "role": "PILOT", "note": "Ausländerbehörde Dortmund" } }))
        .await;
    assert_eq!(d["signUp"]["userErrors"], json!([]));
    let p = d["signUp"]["participation"].clone();
    assert_eq!(p["status"], "REQUESTED");
    assert_eq!(p["organisation"]["name"], "Stadt Dortmund");
    assert!(p["since"].is_string());
    assert_eq!(app.change_count().await, before + 1);

    // The same sign-up again is ALREADY_EXISTS and writes nothing.
    let d = app
        .data(SIGN_UP, json!({ "i": { "projectSlug": "verpflichtungserklaerung-nrw", "organisation": { "ags": "05913000" }, "role": "PILOT" } }))
        .await;
    assert_eq!(user_error(&d, "signUp")["code"], "ALREADY_EXISTS");
    assert_eq!(app.change_count().await, before + 1);

    // A coordinator confirms; the Kommune shows it; then it is withdrawn and can sign up again.
    let d = app.data(CONFIRM, json!({ "i": { "id": p["id"], "expectedVersion": 1 } })).await;
    assert_eq!(d["confirmParticipation"]["participation"]["status"], "CONFIRMED");
    let d = app.data(CONFIRM, json!({ "i": { "id": p["id"], "expectedVersion": 1 } })).await;
    assert_eq!(user_error(&d, "confirmParticipation")["currentVersion"], 2);
    let d = app.data(CONFIRM, json!({ "i": { "id": p["id"], "expectedVersion": 2 } })).await;
    let e = user_error(&d, "confirmParticipation");
    assert_eq!(e["code"], "ILLEGAL_TRANSITION");
    assert!(e["message"].as_str().unwrap().contains("WITHDRAWN"));
    let d = app
        .data(r#"{ organisation(ags: "05913000") { participations { role status project { slug } } } }"#, json!({}))
        .await;
    assert!(
        d["organisation"]["participations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["project"]["slug"] == "verpflichtungserklaerung-nrw" && x["status"] == "CONFIRMED")
    );

    let d =
        app.data(WITHDRAW, json!({ "i": { "id": p["id"], "expectedVersion": 2, "note": "keine Kapazität" } })).await;
    assert_eq!(d["withdrawParticipation"]["participation"]["status"], "WITHDRAWN");
    let d = app.data(CONFIRM, json!({ "i": { "id": p["id"], "expectedVersion": 3 } })).await;
    assert_eq!(user_error(&d, "confirmParticipation")["code"], "ILLEGAL_TRANSITION");
    let d = app
        .data(SIGN_UP, json!({ "i": { "projectSlug": "verpflichtungserklaerung-nrw", "organisation": { "ags": "05913000" }, "role": "PILOT" } }))
        .await;
    assert_eq!(d["signUp"]["participation"]["status"], "REQUESTED");
    assert_eq!(d["signUp"]["participation"]["id"], p["id"]);
    assert_eq!(d["signUp"]["participation"]["version"], 4);

    let d = app
        .data(r#"{ project(slug: "verpflichtungserklaerung-nrw") { participations(role: [PILOT], status: [REQUESTED]) { organisation { ags } } } }"#, json!({}))
        .await;
    assert_eq!(d["project"]["participations"][0]["organisation"]["ags"], "05913000");
}

async fn sign_up_rules(app: &TestApp) {
    let before = app.change_count().await;
    let cases = vec![
        (
            json!({ "projectSlug": "einbuergerung", "organisation": { "ags": "05913000" }, "role": "PROJECT_LEAD" }),
            "BAD_USER_INPUT",
            "role",
        ),
        (
            json!({ "projectSlug": "einbuergerung", "organisation": { "slug": "land-nw" }, "role": "PILOT" }),
            "BAD_USER_INPUT",
            "organisation",
        ),
        (
            json!({ "projectSlug": "einbuergerung", "organisation": { "ags": "05999999" }, "role": "PILOT" }),
            "NOT_FOUND",
            "organisation",
        ),
        (
            json!({ "projectSlug": "einbuergerung", "organisation": { "ags": "05913000", "slug": "x" }, "role": "PILOT" }),
            "BAD_USER_INPUT",
            "organisation",
        ),
        (
            json!({ "projectSlug": "einbuergerung", "organisation": {}, "role": "PILOT" }),
            "BAD_USER_INPUT",
            "organisation",
        ),
        (
            json!({ "projectSlug": "nope", "organisation": { "ags": "05913000" }, "role": "PILOT" }),
            "NOT_FOUND",
            "projectSlug",
        ),
        (
            json!({ "projectSlug": "aufenthaltskarten", "organisation": { "ags": "05913000" }, "role": "PILOT" }),
            "BAD_USER_INPUT",
            "projectSlug",
        ),
        (
            json!({ "projectSlug": "einbuergerung", "organisation": { "id": "0" }, "role": "PILOT" }),
            "BAD_USER_INPUT",
            "organisation.id",
        ),
    ];
    for (input, code, field) in cases {
        let d = app.data(SIGN_UP, json!({ "i": input })).await;
        let e = user_error(&d, "signUp");
        assert_eq!(e["code"], code, "{input}: {e}");
        assert_eq!(e["field"], field, "{input}: {e}");
    }
    // An office of a city signs up too (Ausländerbehörde).
    let d = app
        .data(SIGN_UP, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "slug": "auslaenderbehoerde-koeln" }, "role": "EXTENDED_TEAM" } }))
        .await;
    assert_eq!(d["signUp"]["participation"]["status"], "REQUESTED");
    assert_eq!(app.change_count().await, before + 1);
}

async fn coordinator_adds_participation(app: &TestApp) {
    let d = app
        .data(ADD, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05124000" }, "role": "CORE_TEAM", "since": "2021-03" } }))
        .await;
    assert_eq!(d["addParticipation"]["participation"]["status"], "CONFIRMED");
    let d = app
        .data(ADD, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05124000" }, "role": "CORE_TEAM" } }))
        .await;
    assert_eq!(user_error(&d, "addParticipation")["code"], "ALREADY_EXISTS");
    let d = app
        .data(ADD, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "slug": "form-solutions" }, "role": "VENDOR", "confirmed": false } }))
        .await;
    assert_eq!(d["addParticipation"]["participation"]["status"], "REQUESTED");
    let d = app.data(WITHDRAW, json!({ "i": { "id": "424242", "expectedVersion": 1 } })).await;
    assert_eq!(user_error(&d, "withdrawParticipation")["code"], "NOT_FOUND");
}

async fn calls_open_and_close(app: &TestApp) {
    let open = "mutation($i: OpenCallInput!) { openCall(input: $i) { call { id title rolesSought isOpen status version openedOn issuer { name } project { slug hasOpenCall } } userErrors { code field message } } }";
    let close = "mutation($i: CloseCallInput!) { closeCall(input: $i) { call { status isOpen version project { hasOpenCall } } userErrors { code field message currentVersion } } }";
    let d = app.data(r#"{ projects(first: 20, filter: {hasOpenCall: true}) { totalCount } }"#, json!({})).await;
    let open_before = d["projects"]["totalCount"].as_i64().unwrap();

    let d = app
        .data(open, json!({ "i": { "projectSlug": "einbuergerung", "issuer": { "slug": "kdn" }, "title": "Pilotkommunen gesucht", "body": "Für die Pilotierung des Onlineantrags suchen wir Kommunen.", "rolesSought": ["PILOT", "PILOT"], "closesOn": "2030-06" } }))
        .await;
    let c = d["openCall"]["call"].clone();
    assert_eq!(c["rolesSought"], json!(["PILOT"]));
    assert_eq!(c["isOpen"], true);
    assert_eq!(c["project"]["hasOpenCall"], true);
    let d = app.data("{ calls(open: true) { title } }", json!({})).await;
    assert!(d["calls"].as_array().unwrap().iter().any(|x| x["title"] == "Pilotkommunen gesucht"));
    let d = app.data(r#"{ projects(first: 20, filter: {hasOpenCall: true}) { totalCount } }"#, json!({})).await;
    assert_eq!(d["projects"]["totalCount"], open_before + 1);

    let bad = vec![
        (json!({ "rolesSought": [] }), "rolesSought"),
        (json!({ "body": "" }), "body"),
        (json!({ "closesOn": "2019" }), "closesOn"),
        (json!({ "title": "Pilotkommunen gesucht" }), "title"),
        (json!({ "issuer": { "slug": "unbekannt" } }), "issuer"),
    ];
    for (patch, field) in bad {
        let mut i = json!({ "projectSlug": "einbuergerung", "issuer": { "slug": "kdn" }, "title": "Noch ein Aufruf", "body": "Text", "rolesSought": ["PILOT"], "openedOn": "2020-12" });
        for (k, v) in patch.as_object().unwrap() {
            i[k] = v.clone();
        }
        let d = app.data(open, json!({ "i": i })).await;
        assert_eq!(user_error(&d, "openCall")["field"], field, "{d}");
    }

    let d = app.data(close, json!({ "i": { "id": c["id"], "expectedVersion": 2 } })).await;
    assert_eq!(user_error(&d, "closeCall")["code"], "CONFLICT");
    let d = app.data(close, json!({ "i": { "id": c["id"], "expectedVersion": 1 } })).await;
    assert_eq!(d["closeCall"]["call"]["isOpen"], false);
    assert_eq!(d["closeCall"]["call"]["project"]["hasOpenCall"], false);
    let d = app.data(close, json!({ "i": { "id": c["id"], "expectedVersion": 2 } })).await;
    assert_eq!(user_error(&d, "closeCall")["code"], "ILLEGAL_TRANSITION");
    let d = app.data("{ calls(open: false) { title } }", json!({})).await;
    assert!(d["calls"].as_array().unwrap().iter().any(|x| x["title"] == "Pilotkommunen gesucht"));
}

both_backends!(kommune_signs_up_as_pilot, sign_up_rules, coordinator_adds_participation, calls_open_and_close);

async fn withdrawn_participation_is_requested_again(app: &TestApp) {
    let d = app
        .data(ADD, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05124000" }, "role": "CORE_TEAM" } }))
        .await;
    let p = d["addParticipation"]["participation"].clone();
    app.data(WITHDRAW, json!({ "i": { "id": p["id"], "expectedVersion": 1 } })).await;
    let d = app
        .data(ADD, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05124000" }, "role": "CORE_TEAM", "since": "2030-01" } }))
        .await;
    assert_eq!(d["addParticipation"]["participation"]["status"], "REQUESTED");
    let d = app.data(r#"{ project(slug: "einbuergerung") { participations(role: [CORE_TEAM], status: [REQUESTED]) { since } } }"#, json!({})).await;
    assert_eq!(d["project"]["participations"][0]["since"], "2030-01");
}

both_backends!(withdrawn_participation_is_requested_again);
