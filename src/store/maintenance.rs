//! Backups and consistency checks of the database.

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

use diesel::{PgConnection, SqliteConnection};

use super::{Db, changes};

#[derive(QueryableByName)]
struct Line {
    #[diesel(sql_type = Text)]
    line: String,
}

#[derive(QueryableByName)]
struct Count {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// Takes a consistent copy while the service runs: `VACUUM INTO` on SQLite, `pg_dump` (custom
/// format, for `pg_restore`) on PostgreSQL.
pub fn backup(conn: &mut Db, database_url: &str, target: &Path) -> Result<String, String> {
    if target.exists() {
        return Err(format!("{} exists already; choose a new file", target.display()));
    }
    match conn {
        Db::Sqlite(c) => {
            let path = target.to_str().ok_or("the backup path must be valid UTF-8")?;
            diesel::sql_query("VACUUM INTO ?")
                .bind::<Text, _>(path)
                .execute(c)
                .map_err(|e| format!("VACUUM INTO failed: {e}"))?;
            Ok(format!("SQLite copy written to {path}; restore it with `ozg-registry restore {path}`"))
        }
        Db::Pg(_) => {
            let status = std::process::Command::new("pg_dump")
                .args(["--format=custom", "--no-owner", "--file"])
                .arg(target)
                .arg(database_url)
                .status()
                .map_err(|e| format!("pg_dump could not be started ({e}); install the PostgreSQL client tools"))?;
            if !status.success() {
                return Err(format!("pg_dump failed ({status})"));
            }
            Ok(format!(
                "PostgreSQL dump written to {}; restore it with `ozg-registry restore {}`",
                target.display(),
                target.display()
            ))
        }
    }
}

/// Puts a backup in place of the database `database_url` names, then checks the result. A database
/// that holds data is replaced only with `force` (and with the service stopped). SQLite: the backup is
/// checked first, copied beside the database, synced and renamed over it (a stale WAL is removed);
/// PostgreSQL: `pg_restore --clean --if-exists --single-transaction`.
pub fn restore(database_url: &str, source: &Path, force: bool) -> Result<String, String> {
    if !source.is_file() {
        return Err(format!("{}: no such backup file", source.display()));
    }
    let (backend, target) = super::parse_url(database_url);
    let refuse = || {
        Err(format!(
            "the database {target} holds data; stop the service and pass --force to replace it with {}",
            source.display()
        ))
    };
    match backend {
        super::Backend::Sqlite => {
            let src = source.to_str().ok_or("the backup path must be valid UTF-8")?;
            let mut backup =
                Db::Sqlite(SqliteConnection::establish(src).map_err(|e| format!("cannot open {src} as SQLite: {e}"))?);
            let problems = check(&mut backup).map_err(|e| format!("{src} is not a registry backup: {e}"))?;
            if !problems.is_empty() {
                return Err(format!("the backup fails its check:\n{}", problems.join("\n")));
            }
            drop(backup);
            let target_path = Path::new(&target);
            if target_path.exists() && std::fs::metadata(target_path).map(|m| m.len() > 0).unwrap_or(true) && !force {
                return refuse();
            }
            let staging = format!("{target}.restoring");
            std::fs::copy(source, &staging).map_err(|e| format!("cannot copy to {staging}: {e}"))?;
            std::fs::File::open(&staging).and_then(|f| f.sync_all()).map_err(|e| format!("sync {staging}: {e}"))?;
            for stale in [format!("{target}-wal"), format!("{target}-shm")] {
                match std::fs::remove_file(&stale) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => return Err(format!("cannot remove {stale}: {e}")),
                }
            }
            std::fs::rename(&staging, target_path).map_err(|e| format!("cannot move {staging} to {target}: {e}"))?;
            if let Some(dir) = target_path.parent().filter(|d| !d.as_os_str().is_empty()) {
                // The rename is durable once the directory is synced.
                let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
            }
        }
        super::Backend::Postgres => {
            let mut conn =
                PgConnection::establish(&target).map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
            let tables = diesel::sql_query(
                "SELECT COUNT(*) AS n FROM information_schema.tables WHERE table_schema = 'public' AND table_name = 'projects'",
            )
            .get_result::<Count>(&mut conn)
            .map_err(|e| format!("cannot inspect the database: {e}"))?
            .n;
            if tables > 0 && !force {
                return refuse();
            }
            drop(conn);
            let out = std::process::Command::new("pg_restore")
                .args(["--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error", "--dbname"])
                .arg(&target)
                .arg(source)
                .output()
                .map_err(|e| format!("pg_restore could not be started ({e}); install the PostgreSQL client tools"))?;
            if !out.status.success() {
                return Err(format!(
                    "pg_restore failed ({}): {}",
                    out.status,
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    let mut conn = super::connect(database_url, 1)?.get().map_err(|e| e.to_string())?;
    let problems = check(&mut conn).map_err(|e| format!("checking the restored database: {e}"))?;
    if problems.is_empty() {
        Ok(format!("restored {} into {target}; check passed", source.display()))
    } else {
        Err(format!("restored, but the check found {} problem(s):\n{}", problems.len(), problems.join("\n")))
    }
}

/// Problems found by `check`; empty when the database is sound.
pub fn check(conn: &mut Db) -> QueryResult<Vec<String>> {
    let mut problems = Vec::new();
    if let Db::Sqlite(c) = conn {
        let rows: Vec<Line> =
            diesel::sql_query("SELECT integrity_check AS line FROM pragma_integrity_check").load(c)?;
        problems.extend(rows.into_iter().map(|r| r.line).filter(|l| l != "ok").map(|l| format!("integrity: {l}")));
        let fk: Vec<Line> = diesel::sql_query(
            "SELECT \"table\" || ' row ' || rowid || ' points to a missing ' || parent AS line FROM pragma_foreign_key_check",
        )
        .load(c)?;
        problems.extend(fk.into_iter().map(|r| format!("foreign key: {}", r.line)));
    }
    // Every record the registry holds was written with its change-log entry: created here
    // (CREATE), or replicated from its home (IMPORT).
    for (what, sql) in [
        (
            "projects",
            "SELECT COUNT(*) AS n FROM projects p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'Project' AND c.entity_id = p.slug \
             AND c.action = CASE WHEN p.origin IS NULL THEN 'CREATE' ELSE 'IMPORT' END)",
        ),
        (
            "participations",
            "SELECT COUNT(*) AS n FROM participations p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'Participation' AND c.entity_id = CAST(p.id AS TEXT) \
             AND c.action = CASE WHEN p.origin IS NULL THEN 'CREATE' ELSE 'IMPORT' END)",
        ),
        (
            "calls",
            "SELECT COUNT(*) AS n FROM calls p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'Call' AND c.entity_id = CAST(p.id AS TEXT) \
             AND c.action = CASE WHEN p.origin IS NULL THEN 'CREATE' ELSE 'IMPORT' END)",
        ),
        (
            "reuse declarations",
            "SELECT COUNT(*) AS n FROM reuse_declarations p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'ReuseDeclaration' AND c.entity_id = CAST(p.id AS TEXT) \
             AND c.action = CASE WHEN p.origin IS NULL THEN 'CREATE' ELSE 'IMPORT' END)",
        ),
        (
            "projects without an OZG-Leistung",
            // Replicated projects hold the OZG-Leistungen of their home that are known here.
            "SELECT COUNT(*) AS n FROM projects p WHERE p.origin IS NULL \
             AND NOT EXISTS (SELECT 1 FROM project_services s WHERE s.project_id = p.id)",
        ),
    ] {
        let n = diesel::sql_query(sql).get_result::<Count>(conn)?.n;
        if n > 0 {
            if what.starts_with("projects without") {
                problems.push(format!("{n} {what}"));
            } else {
                problems.push(format!("{n} {what} without their change-log entry"));
            }
        }
    }
    if let changes::Verification::Broken { entry_id, reason } = changes::verify(conn)? {
        problems.push(format!("audit chain broken at entry {entry_id}: {reason}"));
    }
    Ok(problems)
}
