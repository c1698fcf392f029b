//! Backups and consistency checks of the database.

use std::path::Path;

use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};

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
            Ok(format!(
                "SQLite copy written to {path}; restore by stopping the service and replacing the database file"
            ))
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
                "PostgreSQL dump written to {}; restore with pg_restore --clean --dbname <url> {}",
                target.display(),
                target.display()
            ))
        }
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
    // Every record the registry holds was written with its change-log entry.
    for (what, sql) in [
        (
            "projects",
            "SELECT COUNT(*) AS n FROM projects p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'Project' AND c.entity_id = p.slug AND c.action = 'CREATE')",
        ),
        (
            "participations",
            "SELECT COUNT(*) AS n FROM participations p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'Participation' AND c.entity_id = CAST(p.id AS TEXT) AND c.action = 'CREATE')",
        ),
        (
            "calls",
            "SELECT COUNT(*) AS n FROM calls p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'Call' AND c.entity_id = CAST(p.id AS TEXT) AND c.action = 'CREATE')",
        ),
        (
            "reuse declarations",
            "SELECT COUNT(*) AS n FROM reuse_declarations p WHERE NOT EXISTS (SELECT 1 FROM change_log c \
             WHERE c.entity_type = 'ReuseDeclaration' AND c.entity_id = CAST(p.id AS TEXT) AND c.action = 'CREATE')",
        ),
        (
            "projects without an OZG-Leistung",
            "SELECT COUNT(*) AS n FROM projects p WHERE NOT EXISTS (SELECT 1 FROM project_services s WHERE s.project_id = p.id)",
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
