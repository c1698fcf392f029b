//! The limits' pure rules: every list bounded, cycles priced, realistic queries passing.

use juniper::meta::MetaType;

use super::*;

fn cost_of(query: &str) -> Result<u64, LimitError> {
    let schema = crate::graphql::schema();
    measure(&schema, &Limits::default(), query, None, &serde_json::Map::new()).map(|m| m.expect("parses").cost)
}

/// Every list field is bounded: it is a connection's edges, inside a newsletter, or in
/// `list_bound`; a `First` field has a `first` argument whose default is the table's.
#[test]
fn every_list_field_has_a_bound() {
    let schema = crate::graphql::schema();
    let mut missing = Vec::new();
    for t in schema.schema.concrete_type_list() {
        let MetaType::Object(o) = t else { continue };
        let name: &str = o.name.as_ref();
        if name.starts_with("__") || name.ends_with("Connection") || is_newsletter_type(name) {
            continue;
        }
        for f in &o.fields {
            if !f.field_type.to_string().starts_with('[') {
                continue;
            }
            let field: &str = f.name.as_ref();
            match list_bound(name, field) {
                None => missing.push(format!("{name}.{field}")),
                Some(ListBound::First { default, max }) => {
                    let arg = f.arguments.iter().flatten().find(|a| a.name.as_str() == "first");
                    let arg = arg.unwrap_or_else(|| panic!("{name}.{field} has no `first` argument"));
                    let d = arg.default_value.as_ref().and_then(|v| v.as_scalar()).and_then(|s| match s {
                        juniper::DefaultScalarValue::Int(i) => Some(*i),
                        _ => None,
                    });
                    assert_eq!(d.map(|d| d as u64), Some(default), "{name}.{field}(first:) default");
                    assert!(default <= max);
                }
                Some(ListBound::Fixed(_)) => {}
            }
        }
    }
    assert!(missing.is_empty(), "list fields without a bound: {missing:?}");
}

/// The fan-out of issue 14: 165 LeiKa-Leistungen, four times over, passed as 5⁴ before.
#[test]
fn cycles_back_up_the_graph_are_priced_as_products() {
    let q = r#"{ ozgService(ozgId: "10255") { leikaServices { ozgService { leikaServices { ozgService {
        leikaServices { ozgService { leikaServices { ozgService { __typename } } } } } } } } } }"#;
    let e = cost_of(q).unwrap_err();
    assert_eq!((e.code, e.limit), ("LIMIT_EXCEEDED", "cost"));
    // Two levels are 400 × 400 objects: refused.
    let q = r#"{ ozgService(ozgId: "10255") { leikaServices { ozgService { leikaServices { name } } } } }"#;
    assert_eq!(cost_of(q).unwrap_err().limit, "cost");
    // One level, or two with small pages, is fine.
    let q = r#"{ ozgService(ozgId: "10255") { leikaServices { key name ozgService { name } } } }"#;
    assert_eq!(cost_of(q).unwrap(), 1 + 1 + 400 * (1 + 1 + (1 + 1)));
    let q = r#"{ ozgService(ozgId: "10255") { leikaServices(first: 10) { ozgService { leikaServices(first: 10) { name } } } } }"#;
    assert!(cost_of(q).is_ok());
}

#[test]
fn lists_are_priced_by_their_first_or_their_default() {
    let base = cost_of(r#"{ project(slug: "x") { participations { role } } }"#).unwrap();
    assert_eq!(base, 1 + 1 + LIST_DEFAULT as u64);
    let small = cost_of(r#"{ project(slug: "x") { participations(first: 5) { role } } }"#).unwrap();
    assert_eq!(small, 1 + 1 + 5);
    let e = cost_of(r#"{ project(slug: "x") { participations(first: 1001) { role } } }"#).unwrap_err();
    assert_eq!((e.limit, e.max), ("first", LIST_MAX));
    assert!(e.message.contains("participations(first: 1001)"), "{}", e.message);
    let e = cost_of(r#"{ calls(first: 0) { title } }"#).unwrap_err();
    assert_eq!(e.limit, "first");
    // Wide and deep: organisations → participations → project → participations.
    let q = r#"{ organisations(first: 100) { edges { node { participations { project {
        participations { organisation { name } } } } } } } }"#;
    assert_eq!(cost_of(q).unwrap_err().limit, "cost");
}

/// What the benchmark's nested read and the newsletter ask stays within the default limit.
#[test]
fn realistic_queries_pass() {
    let q = r#"{ projects(first: 50, filter: {leadLand: "DE-NW"}) { edges { node { slug title phase
        leadLand { name } services { ozgId service { name } }
        participations(first: 20) { role status organisation { name ags } }
        calls(open: true, first: 5) { title rolesSought } } } } }"#;
    let c = cost_of(q).unwrap();
    assert!(c <= DEFAULT_MAX_COST, "{c}");
    let q = r#"{ newsletter(topicField: "ein_auswanderung") { body issue { sections { title roles { role organisations } } } } }"#;
    assert!(cost_of(q).unwrap() > NEWSLETTER_COST);
}
