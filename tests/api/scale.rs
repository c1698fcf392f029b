//! Scale: the generator's data passes `check`, and the newsletter-shaped query costs the same
//! number of SQL statements on the seed (9 projects) and with 1,000 generated projects on top.

use serde_json::{Value, json};

use crate::helpers::*;

const NEWSLETTER_SHAPED: &str = "query($t: String!) { projects(first: 50, filter: {topicField: $t}) { totalCount
    edges { node { slug title phase phaseLabel leadLand { name }
      services(first: 10) { service { ozgId name topicField { name } } }
      participations(first: 50) { role status organisation { name ags } }
      calls(open: true, first: 10) { title rolesSought issuer { name } } } } } }";

/// The statements one request ran, and how many projects it returned.
async fn statements(app: &TestApp) -> (usize, usize) {
    let body = json!({ "query": NEWSLETTER_SHAPED, "variables": { "t": "ein_auswanderung" } }).to_string();
    let r = app.post_raw(body, "application/json").await;
    let n: usize = r.headers()["x-db-queries"].to_str().unwrap().parse().unwrap();
    let v: Value = r.json().await.unwrap();
    assert!(v.get("errors").is_none(), "{v}");
    (n, v["data"]["projects"]["edges"].as_array().unwrap().len())
}

async fn statements_do_not_grow_with_data(app: &TestApp) {
    // The first request also reads the reference data (Länder, Themenfelder) and counts; the
    // next one finds both remembered (no write in between). Compare like with like.
    let (seed_cold, _) = statements(app).await;
    let (seed_statements, seed_rows) = statements(app).await;
    assert!(seed_statements < seed_cold, "{seed_statements} statements warm, {seed_cold} cold");
    let url = app.db_url();
    let (ok, out) = tokio::task::spawn_blocking(move || {
        let generated = run_cli(&url, &["generate", "--scale", "small", "--seed", "7"]);
        assert!(generated.0, "{}", generated.1);
        // The same scale again is refused, not doubled.
        let again = run_cli(&url, &["generate", "--scale", "small"]);
        assert!(!again.0 && again.1.contains("generated data already"), "{}", again.1);
        run_cli(&url, &["check"])
    })
    .await
    .unwrap();
    assert!(ok, "{out}");
    // After the generator's writes the count is stale: counted again once.
    let (big_cold, _) = statements(app).await;
    let (big_statements, big_rows) = statements(app).await;
    assert!(seed_rows < 50 && big_rows == 50, "{seed_rows} → {big_rows} projects");
    assert_eq!(seed_statements, big_statements, "statements grew with the data");
    assert_eq!(big_cold, big_statements + 1, "the count is not taken again after writes");
    // Warm: the change log's head, the projects page, services, OZG-Leistungen, participations,
    // organisations, calls, call roles: one statement per level at most.
    assert!(big_statements <= 9, "{big_statements} statements");
    assert!(seed_cold <= 12, "{seed_cold} statements");
}

both_backends!(statements_do_not_grow_with_data);

#[derive(diesel::QueryableByName)]
struct Unindexed {
    #[diesel(sql_type = diesel::sql_types::Text)]
    tbl: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    col: String,
}

/// Every foreign key leads an index (so joins and `… = ANY(…)` by parent, and deletes of parents,
/// never scan a child table), and so does every column the project list filters or orders by.
fn every_foreign_key_is_indexed(backend: Backend) {
    use diesel::{Connection, RunQueryDsl};
    let db = TestDb::new(backend);
    let unindexed: Vec<Unindexed> = match backend {
        Backend::Postgres => {
            let mut c = diesel::PgConnection::establish(&db.url).unwrap();
            diesel::sql_query(
                "SELECT c.conrelid::regclass::text AS tbl, a.attname::text AS col
                 FROM pg_constraint c JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
                 WHERE c.contype = 'f' AND NOT EXISTS (
                   SELECT 1 FROM pg_index i WHERE i.indrelid = c.conrelid AND i.indkey[0] = c.conkey[1])
                 ORDER BY 1, 2",
            )
            .load(&mut c)
            .unwrap()
        }
        Backend::Sqlite => {
            let mut c = diesel::SqliteConnection::establish(&db.url).unwrap();
            diesel::sql_query(
                "SELECT m.name AS tbl, f.\"from\" AS col
                 FROM sqlite_master m, pragma_foreign_key_list(m.name) f
                 WHERE m.type = 'table' AND f.seq = 0 AND NOT EXISTS (
                   SELECT 1 FROM pragma_index_list(m.name) il, pragma_index_info(il.name) ii
                   WHERE ii.seqno = 0 AND ii.name = f.\"from\")
                 ORDER BY 1, 2",
            )
            .load(&mut c)
            .unwrap()
        }
    };
    let names: Vec<String> = unindexed.iter().map(|u| format!("{}.{}", u.tbl, u.col)).collect();
    assert!(names.is_empty(), "foreign keys without an index: {}", names.join(", "));
}

#[test]
fn every_foreign_key_is_indexed_sqlite() {
    every_foreign_key_is_indexed(Backend::Sqlite);
}

#[test]
fn every_foreign_key_is_indexed_postgres() {
    every_foreign_key_is_indexed(Backend::Postgres);
}

#[derive(diesel::QueryableByName)]
struct ColumnInfo {
    #[diesel(sql_type = diesel::sql_types::Text)]
    tbl: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    col: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    ty: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    nullable: bool,
}

/// A column's type as `store/schema.rs` names it, from either backend's catalogue.
fn diesel_type(backend: Backend, ty: &str) -> String {
    let t = ty.to_ascii_lowercase();
    match (backend, t.as_str()) {
        (_, "text" | "character varying") => "Text",
        (Backend::Postgres, "integer") | (Backend::Sqlite, "integer" | "int") => "Integer",
        (Backend::Postgres, "bigint") | (Backend::Sqlite, "bigint") => "BigInt",
        (Backend::Postgres, "boolean") | (Backend::Sqlite, "boolean" | "bool") => "Bool",
        (_, "bytea" | "blob") => "Binary",
        (_, "double precision" | "real" | "double") => "Double",
        _ => return format!("?{ty}"),
    }
    .to_owned()
}

/// The tables and columns `store/schema.rs` declares: `table (…) { column -> Type, … }`.
fn declared() -> std::collections::BTreeMap<String, String> {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/src/store/schema.rs")).unwrap();
    let mut out = std::collections::BTreeMap::new();
    let mut table: Option<String> = None;
    for line in text.lines().map(str::trim) {
        if let Some(rest) = line.strip_suffix('{').map(str::trim)
            && let Some((name, _)) = rest.split_once(' ')
            && rest.contains('(')
        {
            table = Some(name.to_owned());
        } else if line == "}" {
            table = None;
        } else if let (Some(t), Some((col, ty))) = (&table, line.trim_end_matches(',').split_once(" -> ")) {
            let col = col.trim().trim_start_matches("r#");
            out.insert(format!("{t}.{col}"), ty.trim().to_owned());
        }
    }
    out
}

/// SQLite's and PostgreSQL's migrations build the same tables with the same columns, types and
/// nullability, and `store/schema.rs` (which diesel checks the queries against) declares exactly
/// those.
#[test]
fn both_backends_and_the_schema_agree() {
    use diesel::{Connection, RunQueryDsl};
    let catalogue = |backend: Backend| -> std::collections::BTreeMap<String, String> {
        let db = TestDb::new(backend);
        let rows: Vec<ColumnInfo> = match backend {
            Backend::Postgres => {
                let mut c = diesel::PgConnection::establish(&db.url).unwrap();
                diesel::sql_query(
                    "SELECT table_name::text AS tbl, column_name::text AS col, data_type::text AS ty,
                            is_nullable = 'YES' AS nullable
                     FROM information_schema.columns WHERE table_schema = 'public'
                       AND table_name <> '__diesel_schema_migrations'",
                )
                .load(&mut c)
                .unwrap()
            }
            Backend::Sqlite => {
                let mut c = diesel::SqliteConnection::establish(&db.url).unwrap();
                diesel::sql_query(
                    "SELECT m.name AS tbl, p.name AS col, p.type AS ty, (p.\"notnull\" = 0 AND p.pk = 0) AS nullable
                     FROM sqlite_master m, pragma_table_info(m.name) p
                     WHERE m.type = 'table' AND m.name NOT LIKE 'sqlite_%' AND m.name <> '__diesel_schema_migrations'",
                )
                .load(&mut c)
                .unwrap()
            }
        };
        rows.into_iter()
            .map(|r| {
                let ty = diesel_type(backend, &r.ty);
                (format!("{}.{}", r.tbl, r.col), if r.nullable { format!("Nullable<{ty}>") } else { ty })
            })
            .collect()
    };
    let (sqlite, postgres) = (catalogue(Backend::Sqlite), catalogue(Backend::Postgres));
    let declared = declared();
    // SQLite's INTEGER holds 64 bits (an INTEGER PRIMARY KEY is the rowid): it stands for BigInt too.
    let same = |sqlite: &str, pg: &str| sqlite == pg || (sqlite, pg) == ("Integer", "BigInt");
    let differ = |a: &std::collections::BTreeMap<String, String>,
                  b: &std::collections::BTreeMap<String, String>,
                  same: &dyn Fn(&str, &str) -> bool| {
        let mut d: Vec<String> = Vec::new();
        for (k, v) in a {
            match b.get(k) {
                Some(w) if same(v, w) => {}
                Some(w) => d.push(format!("{k}: {v} vs {w}")),
                None => d.push(format!("{k}: {v} vs (missing)")),
            }
        }
        for k in b.keys().filter(|k| !a.contains_key(*k)) {
            d.push(format!("{k}: (missing) vs {}", b[k]));
        }
        d
    };
    assert!(!declared.is_empty());
    let d = differ(&sqlite, &postgres, &same);
    assert!(d.is_empty(), "SQLite vs PostgreSQL:\n{}", d.join("\n"));
    let d = differ(&declared, &postgres, &|a, b| a == b);
    assert!(d.is_empty(), "store/schema.rs vs the migrations:\n{}", d.join("\n"));
}
