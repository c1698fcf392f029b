//! Reuse declarations (Nachnutzung) and their lifecycle.

use serde_json::json;

use crate::helpers::*;

const DECLARE: &str = "mutation($i: DeclareReuseInput!) { declareReuseInterest(input: $i) {
    reuseDeclaration { id status statusLabel version declaredOn plannedLive allowedNextStatuses organisation { name } }
    userErrors { code field message currentVersion } } }";
const ADVANCE: &str = "mutation($i: AdvanceReuseInput!) { advanceReuseDeclaration(input: $i) {
    reuseDeclaration { status version plannedLive actualLive } userErrors { code field message currentVersion } } }";
const WITHDRAW: &str = "mutation($i: WithdrawReuseInput!) { withdrawReuseDeclaration(input: $i) {
    reuseDeclaration { status version } userErrors { code field message currentVersion } } }";

async fn reuse_lifecycle(app: &TestApp) {
    let d = app
        .data(DECLARE, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05315000" }, "plannedLive": "2021-Q3" } }))
        .await;
    let r = d["declareReuseInterest"]["reuseDeclaration"].clone();
    assert_eq!(r["status"], "INTEREST");
    assert_eq!(r["statusLabel"], "Interesse bekundet");
    assert_eq!(r["allowedNextStatuses"], json!(["NEGOTIATING", "DECLINED", "WITHDRAWN"]));
    let id = r["id"].clone();

    let d = app
        .data(DECLARE, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05315000" } } }))
        .await;
    assert_eq!(user_error(&d, "declareReuseInterest")["code"], "ALREADY_EXISTS");

    let d = app.data(ADVANCE, json!({ "i": { "id": id, "expectedVersion": 1, "status": "LIVE" } })).await;
    let e = user_error(&d, "advanceReuseDeclaration");
    assert_eq!(e["code"], "ILLEGAL_TRANSITION");
    assert!(e["message"].as_str().unwrap().contains("NEGOTIATING"), "{e}");

    let mut v = 1;
    for status in ["NEGOTIATING", "AGREED", "ONBOARDING", "LIVE"] {
        let d = app.data(ADVANCE, json!({ "i": { "id": id, "expectedVersion": v, "status": status } })).await;
        assert_eq!(d["advanceReuseDeclaration"]["userErrors"], json!([]), "{status}: {d}");
        v += 1;
    }
    let d = app.data(ADVANCE, json!({ "i": { "id": id, "expectedVersion": 1, "status": "LIVE" } })).await;
    assert_eq!(user_error(&d, "advanceReuseDeclaration")["currentVersion"], v);
    let d = app.data(r#"{ reuseDeclarations(filter: {projectSlug: "einbuergerung", status: [LIVE]}) { actualLive organisation { ags } } }"#, json!({})).await;
    assert_eq!(d["reuseDeclarations"][0]["organisation"]["ags"], "05315000");
    assert!(d["reuseDeclarations"][0]["actualLive"].is_string());

    let d = app.data(WITHDRAW, json!({ "i": { "id": id, "expectedVersion": v } })).await;
    assert_eq!(d["withdrawReuseDeclaration"]["reuseDeclaration"]["status"], "WITHDRAWN");
    let d = app.data(ADVANCE, json!({ "i": { "id": id, "expectedVersion": v + 1, "status": "NEGOTIATING" } })).await;
    assert_eq!(user_error(&d, "advanceReuseDeclaration")["code"], "ILLEGAL_TRANSITION");
    // Declaring again reopens it.
    let d = app
        .data(DECLARE, json!({ "i": { "projectSlug": "einbuergerung", "organisation": { "ags": "05315000" } } }))
        .await;
    assert_eq!(d["declareReuseInterest"]["reuseDeclaration"]["status"], "INTEREST");
    assert_eq!(d["declareReuseInterest"]["reuseDeclaration"]["id"], id);

    let d = app
        .data(r#"{ changes(entityType: "ReuseDeclaration", first: 100, projectSlug: "einbuergerung") { totalCount edges { node { summary } } } }"#, json!({}))
        .await;
    assert_eq!(d["changes"]["totalCount"], 7);
}

async fn reuse_rules(app: &TestApp) {
    let d = app
        .data(DECLARE, json!({ "i": { "projectSlug": "aufenthaltstitel-bb", "organisation": { "slug": "land-he" } } }))
        .await;
    let id = d["declareReuseInterest"]["reuseDeclaration"]["id"].clone();
    let d = app.data(ADVANCE, json!({ "i": { "id": id, "expectedVersion": 1, "status": "WITHDRAWN" } })).await;
    assert_eq!(user_error(&d, "advanceReuseDeclaration")["field"], "status");
    let d = app
        .data(
            ADVANCE,
            json!({ "i": { "id": id, "expectedVersion": 1, "status": "NEGOTIATING", "actualLive": "2021" } }),
        )
        .await;
    assert_eq!(user_error(&d, "advanceReuseDeclaration")["field"], "actualLive");
    let d = app.data(ADVANCE, json!({ "i": { "id": "99999", "expectedVersion": 1, "status": "NEGOTIATING" } })).await;
    assert_eq!(user_error(&d, "advanceReuseDeclaration")["code"], "NOT_FOUND");
    let d = app.data(DECLARE, json!({ "i": { "projectSlug": "nope", "organisation": { "slug": "land-he" } } })).await;
    assert_eq!(user_error(&d, "declareReuseInterest")["code"], "NOT_FOUND");
    let d = app.data(WITHDRAW, json!({ "i": { "id": id, "expectedVersion": 7 } })).await;
    assert_eq!(user_error(&d, "withdrawReuseDeclaration")["code"], "CONFLICT");

    let d = app
        .data(
            r#"{ reuseDeclarations(filter: {organisation: {slug: "land-he"}}) { status project { slug } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["reuseDeclarations"].as_array().unwrap().len(), 1);
    let e = app.error(r#"{ reuseDeclarations(filter: {projectSlug: "nope"}) { status } }"#, json!({})).await;
    assert_eq!(e["extensions"]["code"], "NOT_FOUND");
}

both_backends!(reuse_lifecycle, reuse_rules);

async fn who_may_declare_reuse(app: &TestApp) {
    for (project, org, field) in [
        ("einbuergerung", json!({ "slug": "form-solutions" }), "organisation"),
        ("aufenthaltstitel-bb", json!({ "slug": "land-bb" }), "organisation"),
        ("aufenthaltskarten", json!({ "ags": "05913000" }), "projectSlug"),
    ] {
        let d = app.data(DECLARE, json!({ "i": { "projectSlug": project, "organisation": org } })).await;
        assert_eq!(user_error(&d, "declareReuseInterest")["field"], field, "{project} {org}");
    }
}

both_backends!(who_may_declare_reuse);
