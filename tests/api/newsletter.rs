//! The questions a coordinator asks of the seeded newsletter, and the newsletter's facts as data.

use serde_json::json;

use crate::helpers::*;

/// "Which projects of Ein- & Auswanderung seek pilot Kommunen, who leads them, in which phase are they?"
async fn projects_seeking_pilots(app: &TestApp) {
    let d = app
        .data(
            r#"{ projects(first: 20, filter: {topicField: "ein_auswanderung", hasOpenCall: true}) {
                   totalCount edges { node { slug phase phaseLabel leadLand { code name }
                   calls(open: true) { rolesSought issuer { name } }
                   participations(role: [PROJECT_LEAD, CLIENT]) { organisation { name } role } } } } }"#,
            json!({}),
        )
        .await;
    let nodes: Vec<&serde_json::Value> =
        d["projects"]["edges"].as_array().unwrap().iter().map(|e| &e["node"]).collect();
    let seeking_pilots: Vec<&str> = nodes
        .iter()
        .filter(|n| {
            n["calls"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["rolesSought"].as_array().unwrap().contains(&json!("PILOT")))
        })
        .map(|n| n["slug"].as_str().unwrap())
        .collect();
    assert!(seeking_pilots.contains(&"verpflichtungserklaerung-nrw"), "{seeking_pilots:?}");
    for n in &nodes {
        assert!(n["leadLand"]["name"].is_string(), "{n}");
        assert!(n["phaseLabel"].is_string());
    }
    let reise = nodes.iter().find(|n| n["slug"] == "reiseausweis").expect("Reiseausweis seeks a second perspective");
    assert_eq!(reise["phase"], "CONCEPTION");
}

/// "What does Solingen take part in?"
async fn what_solingen_takes_part_in(app: &TestApp) {
    let d = app
        .data(
            r#"{ organisation(ags: "05122000") { name participations { role roleLabel status project { slug title } } } }"#,
            json!({}),
        )
        .await;
    let o = &d["organisation"];
    assert_eq!(o["name"], "Stadt Solingen");
    let slugs: Vec<&str> =
        o["participations"].as_array().unwrap().iter().map(|p| p["project"]["slug"].as_str().unwrap()).collect();
    for s in ["einbuergerung", "verpflichtungserklaerung-nrw", "beschaeftigungserlaubnis"] {
        assert!(slugs.contains(&s), "{slugs:?}");
    }
    assert!(o["participations"].as_array().unwrap().iter().all(|p| p["role"] == "MODEL_REGION"));

    let d = app
        .data(r#"{ projects(first: 20, filter: {participant: {ags: "05122000"}}) { totalCount } }"#, json!({}))
        .await;
    assert_eq!(d["projects"]["totalCount"], 3);
}

async fn einbuergerung_as_in_the_newsletter(app: &TestApp) {
    let d = app
        .data(
            r#"{ project(slug: "einbuergerung") {
                 title leadLand { code } deliveryModel deliveryModelLabel phase statusNote
                 services { ozgId service { name } }
                 steps { position title status }
                 milestones { title phase reached }
                 platforms { usage platform { name kind } }
                 participations { role status organisation { name } } } }"#,
            json!({}),
        )
        .await;
    let p = &d["project"];
    assert_eq!(p["leadLand"]["code"], "DE-NW");
    assert_eq!(p["deliveryModel"], "EFA_DEVELOPED_HERE");
    assert_eq!(p["phase"], "IMPLEMENTATION");
    assert_eq!(p["services"][0]["ozgId"], "10257");
    assert_eq!(p["steps"].as_array().unwrap().len(), 2);
    assert_eq!(p["steps"][0]["position"], 1);
    assert!(
        p["platforms"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["platform"]["name"] == "Kommunalportal.NRW" && u["usage"] == "HOSTS_APPLICATION")
    );
    assert!(p["platforms"].as_array().unwrap().iter().any(|u| u["platform"]["kind"] == "STANDARDISATION_FORMAT"));
    let roles: Vec<(String, String)> = p["participations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["organisation"]["name"].as_str().unwrap().to_owned(), x["role"].as_str().unwrap().to_owned()))
        .collect();
    for (org, role) in [("Stadt Solingen", "MODEL_REGION"), ("Stadt Bielefeld", "CORE_TEAM")] {
        assert!(roles.iter().any(|(o, r)| o == org && r == role), "{roles:?}");
    }
    assert!(roles.iter().any(|(o, r)| o.contains("regio") && r == "DEVELOPMENT_PARTNER"), "{roles:?}");
    assert!(roles.iter().any(|(o, r)| o.contains("KDN") && r == "IMPLEMENTER"), "{roles:?}");
}

async fn reuse_decisions_and_merge(app: &TestApp) {
    let d = app
        .data(
            r#"{ reuseDeclarations { status project { slug leadLand { code } } organisation { kind land { code } } } }"#,
            json!({}),
        )
        .await;
    let rs = d["reuseDeclarations"].as_array().unwrap();
    let has = |slug: &str, land: &str| {
        rs.iter().any(|r| r["project"]["slug"] == slug && r["organisation"]["land"]["code"] == land)
    };
    assert!(has("aufenthaltstitel-bb", "DE-NW"), "NRW joins Brandenburg's Aufenthaltstitel");
    assert!(has("verpflichtungserklaerung-he", "DE-NW"), "NRW joins Hessen's Verpflichtungserklärung");
    assert!(has("hilfe-zum-lebensunterhalt", "DE-BB"), "Brandenburg's interest in HLU");

    let d = app
        .data(
            r#"{ project(slug: "aufenthaltskarten") { phase allowedNextPhases relations { kind project { slug } } }
                 target: project(slug: "aufenthaltstitel-nrw") { relatedFrom { kind project { slug } } services { ozgId } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["project"]["phase"], "MERGED");
    assert_eq!(d["project"]["allowedNextPhases"], json!([]));
    assert!(
        d["project"]["relations"]
            .as_array()
            .unwrap()
            .iter()
            .any(|r| r["kind"] == "MERGED_INTO" && r["project"]["slug"] == "aufenthaltstitel-nrw")
    );
    assert!(d["target"]["relatedFrom"].as_array().unwrap().iter().any(|r| r["project"]["slug"] == "aufenthaltskarten"));

    let d = app
        .data(
            r#"{ events { title kind heldOn heldOnLabel location { name } projects { project { slug } outcome } } }"#,
            json!({}),
        )
        .await;
    let w = &d["events"][0];
    assert_eq!(w["heldOn"], "2019-11");
    assert_eq!(w["heldOnLabel"], "November 2019");
    assert_eq!(w["location"]["name"], "Stadt Bielefeld");
    assert_eq!(w["projects"][0]["project"]["slug"], "reiseausweis");

    let d = app
        .data(r#"{ project(slug: "reiseausweis") { milestones { title planned plannedLabel reached } participations(role: [VENDOR]) { organisation { kind } } } }"#, json!({}))
        .await;
    let fim = d["project"]["milestones"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["planned"] == "2021-Q1")
        .expect("FIM spec planned for early 2021");
    assert_eq!(fim["plannedLabel"], "1. Quartal 2021");
    assert_eq!(fim["reached"], false);
    assert_eq!(d["project"]["participations"][0]["organisation"]["kind"], "VENDOR");

    let d = app
        .data(
            r#"{ project(slug: "hilfe-zum-lebensunterhalt") { fundings { instrument status } services { ozgId } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["project"]["fundings"][0]["instrument"], "Fördersteckbrief");
    let ids: Vec<&str> =
        d["project"]["services"].as_array().unwrap().iter().map(|s| s["ozgId"].as_str().unwrap()).collect();
    assert_eq!(ids, ["10086", "10266"]);
}

async fn seed_is_in_the_change_log(app: &TestApp) {
    let d = app
        .data(
            r#"{ changes(first: 100, entityType: "Project") { totalCount edges { node { actor action entityId summary } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["changes"]["totalCount"], 9);
    assert!(
        d["changes"]["edges"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["node"]["actor"] == "seed" && e["node"]["action"] == "CREATE")
    );
    let d = app
        .data(r#"{ changes(first: 5, entityType: "LeikaService") { edges { node { action summary } } } }"#, json!({}))
        .await;
    assert_eq!(d["changes"]["edges"][0]["node"]["action"], "IMPORT");
}

both_backends!(
    projects_seeking_pilots,
    what_solingen_takes_part_in,
    einbuergerung_as_in_the_newsletter,
    reuse_decisions_and_merge,
    seed_is_in_the_change_log
);
