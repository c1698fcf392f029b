//! Coordinators' project mutations: create, update, phase changes, milestones.

use serde_json::{Value, json};

use crate::helpers::*;

const CREATE: &str = "mutation($i: CreateProjectInput!) { createProject(input: $i) {
    project { slug title phase version leadLand { code } services { ozgId } deliveryModel }
    userErrors { code field message currentVersion } } }";
const UPDATE: &str = "mutation($i: UpdateProjectInput!) { updateProject(input: $i) {
    project { slug title version statusNote leadLand { code } services { ozgId } }
    userErrors { code field message currentVersion } } }";
const PHASE: &str = "mutation($i: ChangePhaseInput!) { changeProjectPhase(input: $i) {
    project { slug phase version allowedNextPhases relations { kind project { slug } } }
    userErrors { code field message currentVersion } } }";

fn new_project(slug: &str) -> Value {
    json!({ "slug": slug, "title": "Visaerteilung", "leadLand": "DE-NW", "deliveryModel": "UNDECIDED", "ozgIds": ["10274"] })
}

async fn create_project_and_log_it(app: &TestApp) {
    let before = app.change_count().await;
    let d = app.data(CREATE, json!({ "i": new_project("visa") })).await;
    let p = &d["createProject"]["project"];
    assert_eq!(d["createProject"]["userErrors"], json!([]));
    assert_eq!(p["phase"], "PREPARATION");
    assert_eq!(p["version"], 1);
    assert_eq!(p["services"][0]["ozgId"], "10274");
    assert_eq!(app.change_count().await, before + 1);

    let d = app
        .data(r#"{ changes(first: 20, projectSlug: "visa") { edges { node { action entityType entityId actor summary fields { field before after } } } } }"#, json!({}))
        .await;
    let c = &d["changes"]["edges"][0]["node"];
    assert_eq!(c["action"], "CREATE");
    assert_eq!(c["entityType"], "Project");
    assert_eq!(c["actor"], "test-admin");
    assert!(
        c["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "title" && f["after"] == "\"Visaerteilung\"" && f["before"].is_null())
    );

    let d = app.data(r#"{ ozgService(ozgId: "10274") { projects { slug } } }"#, json!({})).await;
    assert_eq!(d["ozgService"]["projects"][0]["slug"], "visa");
    let d = app
        .data(
            r#"{ projects(first: 20, filter: {ozgId: "10274", leadLand: "DE-NW", phase: [PREPARATION]}) { totalCount } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["projects"]["totalCount"], 1);
}

async fn create_project_validation(app: &TestApp) {
    let before = app.change_count().await;
    let cases: Vec<(Value, &str, &str, &str)> = vec![
        (json!({ "slug": "Visa Projekt" }), "BAD_USER_INPUT", "slug", "lowercase"),
        (json!({ "title": "   " }), "BAD_USER_INPUT", "title", "empty"),
        (json!({ "title": "x".repeat(201) }), "BAD_USER_INPUT", "title", "200"),
        (json!({ "leadLand": "NRW" }), "BAD_USER_INPUT", "leadLand", "DE-NW"),
        (json!({ "ozgIds": [] }), "BAD_USER_INPUT", "ozgIds", "at least one"),
        (json!({ "ozgIds": ["99999"] }), "NOT_FOUND", "ozgIds", "99999"),
        (json!({ "phase": "MERGED" }), "BAD_USER_INPUT", "phase", "MERGED"),
        (json!({ "slug": "einbuergerung" }), "ALREADY_EXISTS", "slug", "einbuergerung"),
    ];
    for (patch, code, field, text) in cases {
        let mut input = new_project("visa-2");
        for (k, v) in patch.as_object().unwrap() {
            input[k] = v.clone();
        }
        let d = app.data(CREATE, json!({ "i": input })).await;
        assert!(d["createProject"]["project"].is_null());
        let e = user_error(&d, "createProject");
        assert_eq!(e["code"], code, "{e}");
        assert_eq!(e["field"], field, "{e}");
        assert!(e["message"].as_str().unwrap().contains(text), "{e} should mention {text}");
    }
    // An unknown enum value is refused by GraphQL validation.
    let mut input = new_project("visa-3");
    input["deliveryModel"] = json!("SOMETHING");
    let e = app.error(CREATE, json!({ "i": input })).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    assert_eq!(app.change_count().await, before, "refused writes must write nothing");
    let d = app.data(r#"{ project(slug: "visa-2") { slug } }"#, json!({})).await;
    assert!(d["project"].is_null());
}

async fn update_project_with_versions(app: &TestApp) {
    let v = app.project_version("einbuergerung").await;
    let d = app
        .data(
            UPDATE,
            json!({ "i": { "slug": "einbuergerung", "expectedVersion": v, "statusNote": "Projektstruktur steht.", "ozgIds": ["10257", "10258"] } }),
        )
        .await;
    assert_eq!(d["updateProject"]["userErrors"], json!([]));
    let p = &d["updateProject"]["project"];
    assert_eq!(p["version"], v + 1);
    assert_eq!(p["statusNote"], "Projektstruktur steht.");
    assert_eq!(p["services"].as_array().unwrap().len(), 2);

    let d = app
        .data(r#"{ changes(projectSlug: "einbuergerung", entityType: "Project", first: 100) { edges { node { action fields { field before after } } } } }"#, json!({}))
        .await;
    let last = &d["changes"]["edges"].as_array().unwrap().last().unwrap()["node"];
    assert_eq!(last["action"], "UPDATE");
    let fields: Vec<&str> = last["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert!(fields.contains(&"statusNote") && fields.contains(&"ozgIds"), "{fields:?}");
    let note = last["fields"].as_array().unwrap().iter().find(|f| f["field"] == "statusNote").unwrap();
    assert_eq!(note["before"], "\"Aktuell wird die Projektstruktur abgestimmt.\"");

    // A stale version is a CONFLICT that reports the current one, and changes nothing.
    let before = app.change_count().await;
    let d = app.data(UPDATE, json!({ "i": { "slug": "einbuergerung", "expectedVersion": v, "title": "X" } })).await;
    let e = user_error(&d, "updateProject");
    assert_eq!(e["code"], "CONFLICT");
    assert_eq!(e["currentVersion"], v + 1);
    assert_eq!(app.change_count().await, before);

    // Clearing a field with an empty string; an unchanged value writes nothing.
    let d =
        app.data(UPDATE, json!({ "i": { "slug": "einbuergerung", "expectedVersion": v + 1, "statusNote": "" } })).await;
    assert!(d["updateProject"]["project"]["statusNote"].is_null());
    let d = app
        .data(UPDATE, json!({ "i": { "slug": "einbuergerung", "expectedVersion": v + 2, "title": "Einbürgerung" } }))
        .await;
    assert_eq!(d["updateProject"]["project"]["version"], v + 2);
    assert_eq!(app.change_count().await, before + 1);

    let d = app.data(UPDATE, json!({ "i": { "slug": "nope", "expectedVersion": 1, "title": "X" } })).await;
    assert_eq!(user_error(&d, "updateProject")["code"], "NOT_FOUND");
    let d =
        app.data(UPDATE, json!({ "i": { "slug": "einbuergerung", "expectedVersion": v + 2, "leadLand": "XX" } })).await;
    assert_eq!(user_error(&d, "updateProject")["field"], "leadLand");
}

async fn phase_transitions(app: &TestApp) {
    app.data(CREATE, json!({ "i": new_project("visa") })).await;
    // PREPARATION → PILOT skips phases: refused, with the allowed ones named.
    let d = app.data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": 1, "phase": "PILOT" } })).await;
    let e = user_error(&d, "changeProjectPhase");
    assert_eq!(e["code"], "ILLEGAL_TRANSITION");
    let m = e["message"].as_str().unwrap();
    assert!(m.contains("DIGITALISATION_LAB") && m.contains("CONCEPTION"), "{m}");

    let mut v = 1;
    for phase in ["DIGITALISATION_LAB", "CONCEPTION", "IMPLEMENTATION", "ON_HOLD"] {
        let d = app.data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": v, "phase": phase } })).await;
        assert_eq!(d["changeProjectPhase"]["userErrors"], json!([]), "{phase}: {d}");
        v += 1;
        assert_eq!(d["changeProjectPhase"]["project"]["phase"], phase);
    }
    // On hold it can resume only where it stopped.
    let d = app.data(r#"{ project(slug: "visa") { allowedNextPhases } }"#, json!({})).await;
    assert_eq!(d["project"]["allowedNextPhases"], json!(["IMPLEMENTATION", "DISCONTINUED", "MERGED"]));
    let d = app.data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": v, "phase": "CONCEPTION" } })).await;
    assert_eq!(user_error(&d, "changeProjectPhase")["code"], "ILLEGAL_TRANSITION");
    let d =
        app.data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": v - 1, "phase": "IMPLEMENTATION" } })).await;
    assert_eq!(user_error(&d, "changeProjectPhase")["currentVersion"], v);

    // MERGED needs the target; the relation is recorded.
    let d = app.data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": v, "phase": "MERGED" } })).await;
    assert_eq!(user_error(&d, "changeProjectPhase")["field"], "mergedInto");
    let d = app
        .data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": v, "phase": "MERGED", "mergedInto": "nope" } }))
        .await;
    assert_eq!(user_error(&d, "changeProjectPhase")["code"], "NOT_FOUND");
    let d = app
        .data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": v, "phase": "MERGED", "mergedInto": "aufenthaltstitel-nrw" } }))
        .await;
    let p = &d["changeProjectPhase"]["project"];
    assert_eq!(p["phase"], "MERGED");
    assert_eq!(p["relations"][0]["kind"], "MERGED_INTO");
    assert_eq!(p["allowedNextPhases"], json!([]));
    let d = app.data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": v + 1, "phase": "OPERATION" } })).await;
    assert!(user_error(&d, "changeProjectPhase")["message"].as_str().unwrap().contains("final"));

    let d = app.data(r#"{ changes(projectSlug: "visa", first: 100) { edges { node { summary } } } }"#, json!({})).await;
    let summaries: Vec<&str> =
        d["changes"]["edges"].as_array().unwrap().iter().map(|e| e["node"]["summary"].as_str().unwrap()).collect();
    assert!(summaries.iter().any(|s| s.contains("Konzeption → Umsetzung")), "{summaries:?}");
    assert!(summaries.last().unwrap().contains("überführt"));
}

async fn milestones(app: &TestApp) {
    let add = "mutation($i: AddMilestoneInput!) { addMilestone(input: $i) { milestone { id title planned plannedLabel actual reached version project { slug } } userErrors { code field message currentVersion } } }";
    let done = "mutation($i: CompleteMilestoneInput!) { completeMilestone(input: $i) { milestone { actual actualLabel reached version } userErrors { code field message currentVersion } } }";
    let d = app
        .data(
            add,
            json!({ "i": { "projectSlug": "einbuergerung", "title": "Go-live Kommunalportal", "planned": "2021-Q2" } }),
        )
        .await;
    let m = d["addMilestone"]["milestone"].clone();
    assert_eq!(m["plannedLabel"], "2. Quartal 2021");
    assert_eq!(m["reached"], false);
    assert_eq!(m["project"]["slug"], "einbuergerung");

    let d = app
        .data(
            add,
            json!({ "i": { "projectSlug": "einbuergerung", "title": "Go-live Kommunalportal", "planned": "2021" } }),
        )
        .await;
    assert_eq!(user_error(&d, "addMilestone")["code"], "ALREADY_EXISTS");
    let d = app.data(add, json!({ "i": { "projectSlug": "einbuergerung", "title": "Ohne Datum" } })).await;
    assert_eq!(user_error(&d, "addMilestone")["field"], "planned");
    let d = app.data(add, json!({ "i": { "projectSlug": "nope", "title": "x", "planned": "2021" } })).await;
    assert_eq!(user_error(&d, "addMilestone")["code"], "NOT_FOUND");

    let d = app.data(done, json!({ "i": { "id": m["id"], "expectedVersion": 2, "actual": "2021-06" } })).await;
    assert_eq!(user_error(&d, "completeMilestone")["code"], "CONFLICT");
    let d = app.data(done, json!({ "i": { "id": m["id"], "expectedVersion": 1, "actual": "2021-06" } })).await;
    assert_eq!(d["completeMilestone"]["milestone"]["actualLabel"], "Juni 2021");
    assert_eq!(d["completeMilestone"]["milestone"]["reached"], true);
    let d = app.data(done, json!({ "i": { "id": m["id"], "expectedVersion": 2 } })).await;
    assert_eq!(user_error(&d, "completeMilestone")["code"], "ILLEGAL_TRANSITION");
    let d = app.data(done, json!({ "i": { "id": "999999", "expectedVersion": 1 } })).await;
    assert_eq!(user_error(&d, "completeMilestone")["code"], "NOT_FOUND");
    let d = app.data(done, json!({ "i": { "id": "x1", "expectedVersion": 1 } })).await;
    assert_eq!(user_error(&d, "completeMilestone")["field"], "id");
}

async fn changes_since_and_pages(app: &TestApp) {
    let t0 = app.data("{ changes(first: 1) { totalCount } }", json!({})).await;
    let total = t0["changes"]["totalCount"].as_i64().unwrap();
    let mark = "2099-01-01T00:00:00Z";
    let d =
        app.data("query($s: DateTime) { changes(first: 20, since: $s) { totalCount } }", json!({ "s": mark })).await;
    assert_eq!(d["changes"]["totalCount"], 0);

    let now = chrono_now();
    app.data(CREATE, json!({ "i": new_project("visa") })).await;
    app.data(PHASE, json!({ "i": { "slug": "visa", "expectedVersion": 1, "phase": "CONCEPTION" } })).await;
    let d = app
        .data("query($s: DateTime) { changes(since: $s, first: 1) { totalCount pageInfo { hasNextPage endCursor } edges { node { action } } } }", json!({ "s": now }))
        .await;
    assert_eq!(d["changes"]["totalCount"], 2);
    assert_eq!(d["changes"]["edges"][0]["node"]["action"], "CREATE");
    assert_eq!(d["changes"]["pageInfo"]["hasNextPage"], true);
    let d = app
        .data(
            "query($s: DateTime, $a: String) { changes(since: $s, first: 10, after: $a) { pageInfo { hasNextPage } edges { node { action } } } }",
            json!({ "s": now, "a": d["changes"]["pageInfo"]["endCursor"] }),
        )
        .await;
    assert_eq!(d["changes"]["edges"].as_array().unwrap().len(), 1);
    assert_eq!(d["changes"]["pageInfo"]["hasNextPage"], false);
    assert_eq!(app.change_count().await, total + 2);

    let e = app.error(r#"{ changes(first: 20, since: "yesterday") { totalCount } }"#, json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("RFC 3339"));
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

both_backends!(
    create_project_and_log_it,
    create_project_validation,
    update_project_with_versions,
    phase_transitions,
    milestones,
    changes_since_and_pages
);

async fn ended_projects_refuse_work(app: &TestApp) {
    // Merging into a merged project is refused.
    let v = app.project_version("beschaeftigungserlaubnis").await;
    let d = app
        .data(PHASE, json!({ "i": { "slug": "beschaeftigungserlaubnis", "expectedVersion": v, "phase": "MERGED", "mergedInto": "aufenthaltskarten" } }))
        .await;
    assert_eq!(user_error(&d, "changeProjectPhase")["field"], "mergedInto");
    // Discontinuing closes the project's open calls, each in the change log.
    let v = app.project_version("verpflichtungserklaerung-nrw").await;
    let d = app
        .data(
            PHASE,
            json!({ "i": { "slug": "verpflichtungserklaerung-nrw", "expectedVersion": v, "phase": "DISCONTINUED" } }),
        )
        .await;
    assert_eq!(d["changeProjectPhase"]["userErrors"], json!([]));
    let d = app
        .data(r#"{ project(slug: "verpflichtungserklaerung-nrw") { hasOpenCall calls { status isOpen } } }"#, json!({}))
        .await;
    assert_eq!(d["project"]["hasOpenCall"], false);
    let d = app.data(r#"{ changes(projectSlug: "verpflichtungserklaerung-nrw", entityType: "Call", first: 100) { edges { node { action summary } } } }"#, json!({})).await;
    assert!(d["changes"]["edges"].as_array().unwrap().iter().any(|e| e["node"]["action"] == "UPDATE"));
    let d = app
        .data(
            "mutation($i: AddMilestoneInput!) { addMilestone(input: $i) { userErrors { code field } } }",
            json!({ "i": { "projectSlug": "verpflichtungserklaerung-nrw", "title": "x", "planned": "2030" } }),
        )
        .await;
    assert_eq!(user_error(&d, "addMilestone")["field"], "projectSlug");
}

both_backends!(ended_projects_refuse_work);
