//! Loads the seed folder: reference data (CSV, copied from its sources) and the facts of the KDN
//! newsletter (TOML files a coordinator can edit). Idempotent: records that exist are left alone,
//! so a second run writes nothing. Every inserted record is recorded in the change log, in the same
//! transaction (reference tables as one IMPORT entry each).

mod files;
mod records;
mod reference;

use std::path::{Path, PathBuf};

use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::service::{Actor, Change, Diff, record};
use crate::store::{Db, read, write_tx};
use files::*;

/// What one seed run inserted, per kind of record.
#[derive(Debug, Default)]
pub struct SeedReport {
    pub inserted: Vec<(&'static str, usize)>,
}

impl SeedReport {
    fn add(&mut self, what: &'static str, n: usize) {
        self.inserted.push((what, n));
    }
    pub fn total(&self) -> usize {
        self.inserted.iter().map(|(_, n)| n).sum()
    }
}

impl std::fmt::Display for SeedReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.inserted.iter().map(|(w, n)| format!("{w}: {n}")).collect();
        write!(f, "inserted {} records ({})", self.total(), parts.join(", "))
    }
}

fn seed_error(file: &Path, msg: impl std::fmt::Display) -> AppError {
    AppError::Internal(format!("seed {}: {msg}", file.display()))
}

/// Whether the database holds no reference data yet.
pub fn is_empty(conn: &mut Db) -> AppResult<bool> {
    Ok(read::topic_fields(conn)?.is_empty())
}

/// Loads everything under `dir` in one transaction.
pub fn run(conn: &mut Db, dir: &Path) -> AppResult<SeedReport> {
    run_scoped(conn, dir, true)
}

/// Like [`run`]; without `projects`, only the reference data (Länder, topic fields, the OZG and
/// LeiKa catalogues, districts, organisations, platforms): for a registry whose projects come from
/// its own users and its peers.
pub fn run_scoped(conn: &mut Db, dir: &Path, projects: bool) -> AppResult<SeedReport> {
    let files = SeedFiles::load(dir)?;
    let actor = Actor::system("seed");
    write_tx(conn, |conn| {
        let mut s =
            Seeder { conn, actor: &actor, at: Timestamp::now(), report: SeedReport::default(), dir: dir.to_owned() };
        s.lands(&files.lands)?;
        s.topic_fields(&files.topic_fields)?;
        s.services(&files.services)?;
        s.leika(&files.leika)?;
        s.districts(&files.districts)?;
        s.leads(&files.leads)?;
        s.priorities(&files.priorities)?;
        s.organisations(&files.organisations)?;
        s.platforms(&files.platforms)?;
        if projects {
            s.projects(&files.projects)?;
            s.events(&files.events)?;
        }
        Ok(s.report)
    })
}

struct Seeder<'a> {
    conn: &'a mut Db,
    actor: &'a Actor,
    at: Timestamp,
    report: SeedReport,
    dir: PathBuf,
}

fn parse<T: Vocabulary>(file: &Path, code: &str) -> AppResult<T> {
    T::parse(code).map_err(|e| seed_error(file, e))
}

fn date(file: &Path, d: &Option<String>) -> AppResult<Option<String>> {
    d.as_deref().map(|d| PartialDate::parse(d).map(|p| p.to_string()).map_err(|e| seed_error(file, e))).transpose()
}

impl Seeder<'_> {
    fn import_entry(&mut self, entity_type: &str, n: usize, source: &str) -> AppResult<()> {
        if n == 0 {
            return Ok(());
        }
        record(
            self.conn,
            self.actor,
            &self.at,
            Change {
                action: ChangeAction::Import,
                entity_type,
                entity_id: source.to_owned(),
                project_id: None,
                summary: format!("{n} Datensätze ({entity_type}) aus {source} importiert"),
                diff: Diff::default(),
            },
        )
    }

    fn created(
        &mut self,
        entity_type: &str,
        id: String,
        project: Option<crate::domain::ProjectId>,
        summary: String,
        fields: &[(&str, serde_json::Value)],
    ) -> AppResult<()> {
        record(
            self.conn,
            self.actor,
            &self.at,
            Change {
                action: ChangeAction::Create,
                entity_type,
                entity_id: id,
                project_id: project,
                summary,
                diff: Diff::created(fields),
            },
        )
    }
}
