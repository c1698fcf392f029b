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
    assert!(cli(&db, &["migrate"]).contains("applied 3 migration"));
    assert!(cli(&db, &["migrate"]).contains("applied 0 migration"));
    let first = cli(&db, &["seed"]);
    assert!(first.contains("OZG services: 557"), "{first}");
    assert!(first.contains("LeiKa services: 5249"), "{first}");
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
