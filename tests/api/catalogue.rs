//! Reference data: Themenfelder, Länder, OZG-Leistungen, LeiKa, organisations.

use serde_json::json;

use crate::helpers::*;

async fn topic_fields_and_lands(app: &TestApp) {
    let d = app
        .data(
            "{ topicFields { slug name leads { land { code } federalMinistry source } } lands { code agsPrefix name } }",
            json!({}),
        )
        .await;
    let topics = d["topicFields"].as_array().unwrap();
    assert_eq!(topics.len(), 14);
    let ea = topics.iter().find(|t| t["slug"] == "ein_auswanderung").unwrap();
    assert_eq!(ea["name"], "Ein- & Auswanderung");
    assert!(ea["leads"].as_array().unwrap().iter().any(|l| l["land"]["code"] == "DE-BB"));
    assert!(ea["leads"].as_array().unwrap().iter().all(|l| !l["source"].as_str().unwrap().is_empty()));
    let lands = d["lands"].as_array().unwrap();
    assert_eq!(lands.len(), 16);
    assert!(lands.iter().any(|l| l["code"] == "DE-NW" && l["agsPrefix"] == "05"));

    let d = app
        .data(r#"{ topicField(slug: "gesundheit") { name leads { land { code } } lifeSituations } }"#, json!({}))
        .await;
    assert_eq!(d["topicField"]["leads"][0]["land"]["code"], "DE-NI");
    assert!(!d["topicField"]["lifeSituations"].as_array().unwrap().is_empty());
    let d = app.data(r#"{ topicField(slug: "nope") { name } }"#, json!({})).await;
    assert!(d["topicField"].is_null());
}

async fn ozg_services_with_leika(app: &TestApp) {
    let d = app
        .data(
            r#"{ ozgService(ozgId: "10257") { name lifeSituation topicField { slug } federalPriority
                 leikaServices { key inLeika name typisierung } projects { slug } } }"#,
            json!({}),
        )
        .await;
    let s = &d["ozgService"];
    assert_eq!(s["name"], "Einbürgerung");
    assert_eq!(s["lifeSituation"], "Einwanderung");
    assert_eq!(s["topicField"]["slug"], "ein_auswanderung");
    assert!(s["leikaServices"].as_array().unwrap().iter().any(|l| l["key"] == "99099002000000"));
    assert_eq!(s["projects"][0]["slug"], "einbuergerung");

    let d = app
        .data(r#"{ ozgService(ozgId: "10268") { federalPriority federalPriorityLabel priorityNote } }"#, json!({}))
        .await;
    assert_eq!(d["ozgService"]["federalPriority"], "DEPRIORITISED");
    assert!(d["ozgService"]["priorityNote"].as_str().unwrap().contains("Bund"));
    let d = app.data(r#"{ ozgService(ozgId: "99999") { name } }"#, json!({})).await;
    assert!(d["ozgService"].is_null());

    let d = app.data(r#"{ leikaService(key: "99099002000000") { name ozgService { ozgId } } }"#, json!({})).await;
    assert_eq!(d["leikaService"]["ozgService"]["ozgId"], "10257");
}

async fn ozg_service_pages(app: &TestApp) {
    let d = app.data("{ ozgServices(first: 20) { totalCount } }", json!({})).await;
    assert_eq!(d["ozgServices"]["totalCount"], 557);

    let q = r#"query($f: OzgServiceFilter, $after: String) {
        ozgServices(filter: $f, first: 10, after: $after) {
          totalCount pageInfo { hasNextPage hasPreviousPage endCursor } edges { cursor node { ozgId name } } } }"#;
    let f = json!({ "topicField": "ein_auswanderung" });
    let p1 = app.data(q, json!({ "f": f })).await["ozgServices"].clone();
    let total = p1["totalCount"].as_i64().unwrap();
    assert!(total > 10 && total < 40, "{total}");
    assert_eq!(p1["edges"].as_array().unwrap().len(), 10);
    assert_eq!(p1["pageInfo"]["hasNextPage"], true);
    let p2 = app.data(q, json!({ "f": f, "after": p1["pageInfo"]["endCursor"] })).await["ozgServices"].clone();
    assert_eq!(p2["pageInfo"]["hasPreviousPage"], true);
    let first_ids: Vec<&str> =
        p1["edges"].as_array().unwrap().iter().map(|e| e["node"]["ozgId"].as_str().unwrap()).collect();
    let second_ids: Vec<&str> =
        p2["edges"].as_array().unwrap().iter().map(|e| e["node"]["ozgId"].as_str().unwrap()).collect();
    assert!(first_ids.iter().all(|i| !second_ids.contains(i)));
    assert!(first_ids.last() < second_ids.first());

    let d = app.data(q, json!({ "f": { "nameContains": "einbürg" } })).await;
    assert!(d["ozgServices"]["edges"].as_array().unwrap().iter().any(|e| e["node"]["ozgId"] == "10257"));
    let d = app.data(q, json!({ "f": { "nameContains": "100%_" } })).await;
    assert_eq!(d["ozgServices"]["totalCount"], 0);

    let e = app.error("{ ozgServices(first: 101) { totalCount } }", json!({})).await;
    assert_eq!(e["extensions"]["code"], "LIMIT_EXCEEDED");
    assert_eq!(e["extensions"]["limit"], "first");
    assert!(e["message"].as_str().unwrap().contains("100"));
    let e = app.error(r#"{ ozgServices(first: 20, after: "zz") { totalCount } }"#, json!({})).await;
    assert_eq!(e["extensions"]["field"], "after");
    let e = app.error(r#"{ ozgServices(first: 20, filter: {topicField: "sport"}) { totalCount } }"#, json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("ein_auswanderung"), "{e}");
}

async fn organisation_lookups(app: &TestApp) {
    let q = "query($id: ID, $ags: Ags, $ars: Ars, $slug: String) {
        organisation(id: $id, ags: $ags, ars: $ars, slug: $slug) {
          id slug name kind kindLabel land { code } ags ars districtKey parent { name } children { name } } }";
    let koeln = app.data(q, json!({ "ags": "05315000" })).await["organisation"].clone();
    assert_eq!(koeln["name"], "Stadt Köln");
    assert_eq!(koeln["kind"], "MUNICIPALITY");
    assert_eq!(koeln["kindLabel"], "Kommune");
    assert_eq!(koeln["ars"], "053150000000");
    assert_eq!(koeln["land"]["code"], "DE-NW");
    let children: Vec<&str> =
        koeln["children"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap()).collect();
    assert!(children.iter().any(|c| c.contains("Ausländerbehörde")), "{children:?}");

    let by_id = app.data(q, json!({ "id": koeln["id"] })).await;
    assert_eq!(by_id["organisation"]["slug"], koeln["slug"]);
    let by_ars = app.data(q, json!({ "ars": "053150000000" })).await;
    assert_eq!(by_ars["organisation"]["slug"], koeln["slug"]);
    let by_slug = app.data(q, json!({ "slug": koeln["slug"] })).await;
    assert_eq!(by_slug["organisation"]["id"], koeln["id"]);
    let unna = app.data(q, json!({ "ags": "05978036" })).await;
    assert_eq!(unna["organisation"]["parent"]["name"], "Kreis Unna");
    let none = app.data(q, json!({ "ags": "05999999" })).await;
    assert!(none["organisation"].is_null());

    let e = app.error(q, json!({})).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");
    let e = app.error(q, json!({ "ags": "05315000", "slug": "x" })).await;
    assert!(e["message"].as_str().unwrap().contains("exactly one"));
    let e = app.error(q, json!({ "id": "abc" })).await;
    assert_eq!(e["extensions"]["code"], "BAD_USER_INPUT");

    let d = app
        .data(
            r#"{ organisations(filter: {kind: DISTRICT, land: "DE-BB"}, first: 100) { totalCount edges { node { name districtKey } } } }"#,
            json!({}),
        )
        .await;
    assert_eq!(d["organisations"]["totalCount"], 14);
    assert!(d["organisations"]["edges"].as_array().unwrap().iter().any(|e| e["node"]["districtKey"] == "12062"));
    let e = app.error(r#"{ organisations(first: 20, filter: {land: "NRW"}) { totalCount } }"#, json!({})).await;
    assert!(e["message"].as_str().unwrap().contains("DE-NW"));
    let d = app.data("{ organisations(first: 5) { totalCount edges { node { name } } } }", json!({})).await;
    assert!(d["organisations"]["totalCount"].as_i64().unwrap() > 430);
}

async fn vocabularies_have_german_labels(app: &TestApp) {
    let d = app.data("{ vocabularies { name values { code label } } }", json!({})).await;
    let vs = d["vocabularies"].as_array().unwrap();
    let phase = vs.iter().find(|v| v["name"] == "Phase").unwrap();
    assert!(
        phase["values"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["code"] == "DIGITALISATION_LAB" && v["label"] == "Digitalisierungslabor")
    );
    assert!(
        vs.iter().all(|v| v["values"].as_array().unwrap().iter().all(|x| !x["label"].as_str().unwrap().is_empty()))
    );
}

async fn admin_registers_organisations(app: &TestApp) {
    let m = "mutation($i: CreateOrganisationInput!) { createOrganisation(input: $i) {
        organisation { slug name ags ars land { code } parent { name } } userErrors { code field message } } }";
    let ok = json!({ "slug": "stadt-unna-2", "name": "Stadt Werl", "kind": "MUNICIPALITY", "land": "DE-NW", "ags": "05974044", "ars": "059745044044", "parent": { "slug": "kreis-soest" } });
    let cases = vec![
        (json!({ "land": "DE-BY" }), "ags", "BAD_USER_INPUT"),
        (json!({ "land": null }), "land", "BAD_USER_INPUT"),
        (json!({ "ars": "059745044999" }), "ars", "BAD_USER_INPUT"),
        (json!({ "ags": "05978036", "ars": null }), "ags", "ALREADY_EXISTS"),
        (json!({ "slug": "kdn" }), "slug", "ALREADY_EXISTS"),
        (json!({ "parent": { "slug": "nope" } }), "parent", "NOT_FOUND"),
        (json!({ "districtKey": "05978" }), "districtKey", "BAD_USER_INPUT"),
    ];
    for (patch, field, code) in cases {
        let mut i = ok.clone();
        for (k, v) in patch.as_object().unwrap() {
            i[k] = v.clone();
        }
        let d = app.data(m, json!({ "i": i })).await;
        let e = user_error(&d, "createOrganisation");
        assert_eq!((e["field"].as_str().unwrap(), e["code"].as_str().unwrap()), (field, code), "{patch}: {e}");
    }
    let d = app.data(m, json!({ "i": ok })).await;
    let o = &d["createOrganisation"]["organisation"];
    assert_eq!(o["parent"]["name"], "Kreis Soest");
    assert_eq!(o["land"]["code"], "DE-NW");
    let d = app.data(r#"{ organisation(ags: "05974044") { slug } }"#, json!({})).await;
    assert_eq!(d["organisation"]["slug"], "stadt-unna-2");
}

both_backends!(
    admin_registers_organisations,
    topic_fields_and_lands,
    ozg_services_with_leika,
    ozg_service_pages,
    organisation_lookups,
    vocabularies_have_german_labels
);
