//! The command line: migrate, seed (idempotent), schema.

use std::process::Command;

use crate::helpers::*;

fn cli(db: &TestDb, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_ozg-registry"))
        .args(args)
        .env("DATABASE_URL", &db.url)
        .env("OZG_REGISTRY_SEED_DIR", seed_dir())
        .env("RUST_LOG", "error")
        .output()
        .expect("run the binary");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap()
}

fn seeding_is_idempotent(backend: Backend) {
    let db = TestDb::empty(backend);
    assert!(cli(&db, &["migrate"]).contains("applied 11 migration"));
    assert!(cli(&db, &["migrate"]).contains("applied 0 migration"));
    // The first seed of a fresh database warns about nothing (the upstream test rows are not in
    // seed/reference; see its ATTRIBUTION.md).
    let out = Command::new(env!("CARGO_BIN_EXE_ozg-registry"))
        .arg("seed")
        .env("DATABASE_URL", &db.url)
        .env("OZG_REGISTRY_SEED_DIR", seed_dir())
        .env("RUST_LOG", "warn")
        .output()
        .expect("run the binary");
    assert!(out.status.success(), "seed failed: {}", String::from_utf8_lossy(&out.stderr));
    let warnings = String::from_utf8_lossy(&out.stderr);
    assert!(!warnings.contains("WARN"), "the first seed warns:\n{warnings}");
    let first = String::from_utf8(out.stdout).unwrap();
    assert!(first.contains("OZG services: 557"), "{first}");
    assert!(first.contains("LeiKa services: 5249"), "{first}");
    assert!(first.contains("LeiKa rows skipped as malformed: 0"), "{first}");
    assert!(first.contains("districts: 401"), "{first}");
    assert!(first.contains("topic fields: 14"), "{first}");
    assert!(first.contains("projects: 9"), "{first}");
    let second = cli(&db, &["seed"]);
    assert!(second.starts_with("inserted 0 records"), "{second}");
}

#[test]
fn seeding_is_idempotent_sqlite() {
    seeding_is_idempotent(Backend::Sqlite);
}

#[test]
fn seeding_is_idempotent_postgres() {
    seeding_is_idempotent(Backend::Postgres);
}

#[test]
fn schema_command_prints_the_sdl() {
    let db = TestDb::empty(Backend::Sqlite);
    let sdl = cli(&db, &["schema"]);
    assert_eq!(sdl, ozg_registry::graphql::sdl());
    assert!(sdl.contains("scalar OzgId"));
}

async fn backup_and_check(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    app.data(
        "mutation { signUp(input: {projectSlug: \"einbuergerung\", organisation: {ags: \"05913000\"}, role: PILOT}) { userErrors { code } } }",
        serde_json::json!({}),
    )
    .await;
    let url = app.db_url();
    tokio::task::spawn_blocking(move || {
        let (ok, out) = run_cli(&url, &["check"]);
        assert!(ok && out.contains("database sound"), "{out}");
        let (_, original) = run_cli(&url, &["audit", "verify"]);

        // A consistent copy while the service runs, and the copy holds the same chain.
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let tmp = TempPath::new("ozg-backup");
        let file = tmp.0.clone();
        let (ok, out) = run_cli(&url, &["backup", file.to_str().unwrap()]);
        assert!(ok, "{out}");
        let (ok, out) = run_cli(&url, &["backup", file.to_str().unwrap()]);
        assert!(!ok && out.contains("exists already"), "{out}");
        let restored = match backend {
            Backend::Sqlite => file.to_str().unwrap().to_owned(),
            Backend::Postgres => {
                let db = format!("ozg_restore_{n}");
                let admin = pg_admin_url();
                let base = admin.rsplit_once('/').unwrap().0.to_owned();
                let mut c = <diesel::PgConnection as diesel::Connection>::establish(&admin).unwrap();
                diesel::RunQueryDsl::execute(diesel::sql_query(format!("CREATE DATABASE {db}")), &mut c).unwrap();
                let status = std::process::Command::new("pg_restore")
                    .args(["--no-owner", "--dbname", &format!("{base}/{db}")])
                    .arg(&file)
                    .status()
                    .unwrap();
                assert!(status.success());
                format!("{base}/{db}")
            }
        };
        let (ok, copy) = run_cli(&restored, &["audit", "verify"]);
        assert!(ok, "{copy}");
        assert_eq!(copy, original, "the copy holds the same change log");

        // A record written behind the service's back is found.
        {
            let pool = ozg_registry::store::connect(&url, 1).unwrap();
            let mut conn = pool.get().unwrap();
            diesel::RunQueryDsl::execute(
                diesel::sql_query(
                    "INSERT INTO projects (slug, title, delivery_model, phase, version, created_at, updated_at) \
                     VALUES ('schatten', 'Schattenprojekt', 'UNDECIDED', 'PREPARATION', 1, '2026-01-01T00:00:00Z', '2026-01-01T00:00:00Z')",
                ),
                &mut *conn,
            )
            .unwrap();
        }
        let (ok, out) = run_cli(&url, &["check"]);
        assert!(!ok, "{out}");
        assert!(out.contains("1 projects without their change-log entry"), "{out}");
        drop(tmp);
        if backend == Backend::Postgres {
            let db = restored.rsplit_once('/').unwrap().1.to_owned();
            let mut c = <diesel::PgConnection as diesel::Connection>::establish(&pg_admin_url()).unwrap();
            diesel::RunQueryDsl::execute(diesel::sql_query(format!("DROP DATABASE {db} WITH (FORCE)")), &mut c).unwrap();
        }
    })
    .await
    .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_check_sqlite() {
    backup_and_check(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn backup_and_check_postgres() {
    backup_and_check(Backend::Postgres).await;
}

/// The bounds the query cost relies on are kept when data comes in: the seed refuses an
/// OZG-Leistung with more LeiKa-Leistungen than `OzgService.leikaServices` returns (400), and
/// `federation peer add` refuses a peer beyond the 100 that `federationStatus.peers` is priced at.
fn bounds_are_kept_when_data_comes_in(backend: Backend) {
    use diesel::RunQueryDsl;
    // A copy of the seed with 401 LeiKa-Leistungen for OZG-ID 10255.
    let tmp = TempPath::new("ozg-registry-seed");
    let dir = tmp.0.clone();
    let copy = Command::new("cp").arg("-r").arg(seed_dir()).arg(&dir).status().unwrap();
    assert!(copy.success());
    let csv = dir.join("reference/leika-leistungen.csv");
    let mut text = std::fs::read_to_string(&csv).unwrap();
    for i in 0..401 {
        text.push_str(&format!("nicht im LeiKa,Zusatzleistung {i},10255,\n"));
    }
    std::fs::write(&csv, text).unwrap();
    let db = TestDb::empty(backend);
    let (ok, out) = run_cli_env(&db.url, &["seed"], &[("OZG_REGISTRY_SEED_DIR", dir.to_str().unwrap())]);
    drop(tmp);
    assert!(!dir.exists());
    assert!(!ok, "{out}");
    assert!(out.contains("OZG-ID 10255 has more than 400 LeiKa-Leistungen"), "{out}");

    // 100 peers registered: the 101st is refused before it is even asked for its identity.
    let db = TestDb::new(backend);
    let pool = ozg_registry::store::connect(&db.url, 1).unwrap();
    let mut conn = pool.get().unwrap();
    for i in 0..100 {
        diesel::sql_query(format!(
            "INSERT INTO peers (instance_id, base_url, public_key, feed_cursor, consecutive_failures, imported, \
             rejected_pages, created_at) VALUES ('p{i}.test', 'http://127.0.0.1:9/{i}', 'k', 0, 0, 0, 0, \
             '2026-12-01T00:00:00.000000Z')"
        ))
        .execute(&mut *conn)
        .unwrap();
    }
    drop(conn);
    let (ok, out) = run_cli(
        &db.url,
        &["federation", "peer", "add", "--url", "http://127.0.0.1:9", "--instance-id", "x.test", "--trust-fetched-key"],
    );
    assert!(!ok && out.contains("a registry replicates from at most 100"), "{out}");
}

#[test]
fn bounds_are_kept_when_data_comes_in_sqlite() {
    bounds_are_kept_when_data_comes_in(Backend::Sqlite);
}

#[test]
fn bounds_are_kept_when_data_comes_in_postgres() {
    bounds_are_kept_when_data_comes_in(Backend::Postgres);
}

/// Runs `serve` on port 0 with the given variables (and none of the developer's `OZG_REGISTRY_*`);
/// returns whether it failed, and its stderr. A server that starts is stopped at once and counts as
/// not failed.
fn serve_with(db: &TestDb, vars: &[(&str, &str)]) -> (bool, String) {
    use std::io::{BufRead, Read};
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_ozg-registry"));
    for (name, _) in std::env::vars_os() {
        if name.to_string_lossy().starts_with("OZG_REGISTRY_") {
            cmd.env_remove(name);
        }
    }
    let mut child = cmd
        .args(["serve", "--no-seed", "--listen", "127.0.0.1:0"])
        .env("DATABASE_URL", &db.url)
        .env("RUST_LOG", "error")
        .envs(vars.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run the binary");
    // A server that started prints its address; one that refused to start closes its output.
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    let listening = loop {
        line.clear();
        if out.read_line(&mut line).unwrap_or(0) == 0 {
            break false;
        }
        if line.contains("listening on") {
            break true;
        }
    };
    if listening {
        child.kill().unwrap();
    }
    let status = child.wait().unwrap();
    let mut err = String::new();
    child.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    (!listening && !status.success(), err)
}

/// The one rule for settings at start: a malformed variable stops `serve` before it touches the
/// database, with a message naming the variable and what it allows; an empty or blank one is the
/// default.
#[test]
fn serve_refuses_a_malformed_variable_and_takes_empty_ones_as_the_default() {
    let db = TestDb::empty(Backend::Sqlite);
    let (failed, err) = serve_with(&db, &[("OZG_REGISTRY_JWKS_REFRESH_SECS", "abc")]);
    assert!(failed, "serve started with OZG_REGISTRY_JWKS_REFRESH_SECS=abc");
    assert!(
        err.contains("OZG_REGISTRY_JWKS_REFRESH_SECS: \"abc\" is not a number of seconds from 0 to 86400"),
        "{err}"
    );
    assert!(!std::path::Path::new(&db.url).exists(), "the database was opened before the settings were checked");
    let (failed, err) = serve_with(&db, &[("OZG_REGISTRY_WORKERS", " "), ("OZG_REGISTRY_GRAPHIQL", "maybe")]);
    assert!(failed && err.contains("OZG_REGISTRY_GRAPHIQL: \"maybe\" is not on or off"), "{err}");
    let blank = [
        ("OZG_REGISTRY_WORKERS", " "),
        ("OZG_REGISTRY_POOL_SIZE", ""),
        ("OZG_REGISTRY_JWKS_REFRESH_SECS", "  "),
        ("OZG_REGISTRY_GRAPHIQL", ""),
        ("OZG_REGISTRY_RATE_LIMIT_ADDRESS", " "),
    ];
    let (failed, err) = serve_with(&db, &blank);
    assert!(!failed, "serve refused empty variables: {err}");
}
