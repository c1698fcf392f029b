//! Loads the seed folder: reference data (CSV, copied from its sources) and the facts of the KDN
//! newsletter (TOML files a coordinator can edit). Idempotent: records that exist are left alone,
//! so a second run writes nothing. Every inserted record is recorded in the change log, in the same
//! transaction (reference tables as one IMPORT entry each).

mod files;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde_json::json;

use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::service::{Actor, Change, Diff, record};
use crate::store::{Db, read, write, write_tx};
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
        project: Option<i32>,
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

    fn lands(&mut self, lands: &LandsFile) -> AppResult<()> {
        let have: Vec<String> = read::lands(self.conn)?.into_iter().map(|l| l.code).collect();
        let mut n = 0;
        for l in &lands.land {
            if !have.contains(&l.code) {
                write::insert_land(self.conn, &l.code, &l.short, &l.ags_prefix, &l.name)?;
                n += 1;
            }
        }
        self.import_entry("Land", n, "lands.toml")?;
        self.report.add("lands", n);
        // Each Land is also an organisation (it leads projects, declares reuse, issues calls).
        let mut orgs = 0;
        for l in &lands.land {
            if read::land_organisation(self.conn, &l.code)?.is_none() {
                let slug = format!("land-{}", l.short.to_lowercase());
                let ts = self.at.to_db();
                write::insert_organisation(
                    self.conn,
                    &write::NewOrganisation {
                        slug: &slug,
                        name: &format!("Land {}", l.name),
                        short_name: Some(&l.short),
                        kind: OrganisationKind::Land.code(),
                        land_code: Some(&l.code),
                        ags: None,
                        ars: None,
                        district_key: None,
                        parent_id: None,
                        note: None,
                        created_at: &ts,
                        updated_at: &ts,
                    },
                )?;
                orgs += 1;
            }
        }
        self.import_entry("Organisation", orgs, "lands.toml (Länder als Organisationen)")?;
        self.report.add("land organisations", orgs);
        Ok(())
    }

    fn topic_fields(&mut self, t: &TopicFieldsFile) -> AppResult<()> {
        let have: Vec<String> = read::topic_fields(self.conn)?.into_iter().map(|t| t.slug).collect();
        let mut n = 0;
        for (i, tf) in t.topic_field.iter().enumerate() {
            if !have.contains(&tf.slug) {
                write::insert_topic_field(self.conn, &tf.slug, &tf.name, i as i32 + 1)?;
                n += 1;
            }
        }
        self.import_entry("TopicField", n, "reference/ozg-themenfelder.csv")?;
        self.report.add("topic fields", n);
        Ok(())
    }

    fn services(&mut self, rows: &[ServiceCsv]) -> AppResult<()> {
        let topics: HashMap<String, String> =
            read::topic_fields(self.conn)?.into_iter().map(|t| (t.name, t.slug)).collect();
        let existing: std::collections::HashSet<String> = {
            let f = read::ServiceFilter::default();
            read::ozg_services_rows(self.conn, &f, 0, i64::MAX)?.into_iter().map(|r| r.ozg_id).collect()
        };
        let slugs: Vec<String> = topics.values().cloned().collect();
        let mut situations: HashMap<(String, String), i32> = read::life_situations_by_topic(self.conn, &slugs)?
            .into_iter()
            .map(|l| ((l.topic_field_slug, l.name), l.id))
            .collect();
        let file = self.dir.join("reference/ozg-leistungen.csv");
        let (mut n, mut ls) = (0, 0);
        for r in rows {
            if existing.contains(r.ozg_id.as_str()) {
                continue;
            }
            let id = OzgId::parse(&r.ozg_id).map_err(|e| seed_error(&file, e))?;
            let topic = topics
                .get(r.themenfeld.trim())
                .ok_or_else(|| seed_error(&file, format!("unknown Themenfeld {:?}", r.themenfeld)))?;
            let key = (topic.clone(), r.lage.trim().to_owned());
            let situation = match situations.get(&key) {
                Some(id) => *id,
                None => {
                    let id = write::insert_life_situation(self.conn, topic, &key.1)?;
                    situations.insert(key, id);
                    ls += 1;
                    id
                }
            };
            write::insert_ozg_service(self.conn, id.as_str(), r.name.trim(), topic, situation)?;
            n += 1;
        }
        self.import_entry("LifeSituation", ls, "reference/ozg-leistungen.csv")?;
        self.import_entry("OzgService", n, "reference/ozg-leistungen.csv")?;
        self.report.add("life situations", ls);
        self.report.add("OZG services", n);
        Ok(())
    }

    fn leika(&mut self, rows: &[LeikaCsv]) -> AppResult<()> {
        let file = self.dir.join("reference/leika-leistungen.csv");
        // Reference rows are immutable here: import the file once, when the table is empty.
        if read::leika_count(self.conn)? > 0 {
            self.report.add("LeiKa services", 0);
            return Ok(());
        }
        // `OzgService.leikaServices` returns at most this many (its cost is priced by it).
        let max = crate::graphql::limits::MAX_LEIKA_PER_SERVICE as usize;
        let mut per_service: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
        for r in rows.iter().filter(|r| !r.ozg_id.trim().is_empty()) {
            let n = per_service.entry(r.ozg_id.trim()).or_default();
            *n += 1;
            if *n > max {
                return Err(seed_error(
                    &file,
                    format!(
                        "OZG-ID {} has more than {max} LeiKa-Leistungen; at most {max} are allowed",
                        r.ozg_id.trim()
                    ),
                ));
            }
        }
        let (mut n, mut skipped) = (0, 0);
        for r in rows {
            let key = match r.leika_key.trim() {
                "nicht im LeiKa" => None,
                k => match LeikaKey::parse(k) {
                    Ok(k) => Some(k),
                    Err(e) => {
                        // The source dump holds a few test rows ("Test 124") with malformed keys.
                        log::warn!("seed {}: skipped {:?}: {e}", file.display(), r.name);
                        skipped += 1;
                        continue;
                    }
                },
            };
            let ozg = r.ozg_id.trim();
            let ozg = if ozg.is_empty() { None } else { Some(ozg) };
            let typ = r.typisierung.trim();
            write::insert_leika_service(
                self.conn,
                key.as_ref().map(|k| k.as_str()),
                r.name.trim(),
                ozg,
                (!typ.is_empty()).then_some(typ),
            )?;
            n += 1;
        }
        self.import_entry("LeikaService", n, "reference/leika-leistungen.csv")?;
        self.report.add("LeiKa services", n);
        self.report.add("LeiKa rows skipped as malformed", skipped);
        Ok(())
    }

    fn districts(&mut self, rows: &[DistrictCsv]) -> AppResult<()> {
        let file = self.dir.join("reference/de-districts-2018.csv");
        let lands = read::lands(self.conn)?;
        let mut n = 0;
        let mut slugs_taken = std::collections::HashSet::new();
        for r in rows {
            let key = DistrictKey::parse(r.ags.trim()).map_err(|e| seed_error(&file, e))?;
            let land = lands
                .iter()
                .find(|l| l.ags_prefix == key.land_prefix())
                .ok_or_else(|| seed_error(&file, format!("no Land for {key}")))?;
            let city = matches!(r.kind.trim(), "Kreisfreie Stadt" | "Stadtkreis");
            let (kind, ags, ars) = if city {
                (OrganisationKind::Municipality, Some(format!("{key}000")), Some(format!("{key}0000000")))
            } else {
                (OrganisationKind::District, None, None)
            };
            let base = r.name.split(',').next().unwrap_or(&r.name).trim();
            let name = match (city, r.kind.trim()) {
                (true, _) => format!("Stadt {base}"),
                (false, "Kreis") if !base.contains("Kreis") && !base.starts_with("Städteregion") => {
                    format!("Kreis {base}")
                }
                (false, "Landkreis") => format!("Landkreis {base}"),
                _ => base.to_owned(),
            };
            let mut slug = Slug::from_text(&name).to_string();
            if !slugs_taken.insert(slug.clone())
                || read::organisation_by_slug(self.conn, &slug)?
                    .is_some_and(|o| o.district_key.as_deref() != Some(key.as_str()))
            {
                slug = format!("{slug}-{key}");
                slugs_taken.insert(slug.clone());
            }
            if read::district_by_key(self.conn, key.as_str())?.is_some() {
                continue;
            }
            let ts = self.at.to_db();
            write::insert_organisation(
                self.conn,
                &write::NewOrganisation {
                    slug: &slug,
                    name: &name,
                    short_name: None,
                    kind: kind.code(),
                    land_code: Some(&land.code),
                    ags: ags.as_deref(),
                    ars: ars.as_deref(),
                    district_key: Some(key.as_str()),
                    parent_id: None,
                    note: None,
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?;
            n += 1;
        }
        self.import_entry("Organisation", n, "reference/de-districts-2018.csv")?;
        self.report.add("districts", n);
        Ok(())
    }

    fn leads(&mut self, f: &LeadsFile) -> AppResult<()> {
        let file = self.dir.join("topic-field-leads.toml");
        let topics = read::topic_fields(self.conn)?;
        let slugs: Vec<String> = topics.iter().map(|t| t.slug.clone()).collect();
        let existing = read::topic_field_leads(self.conn, &slugs)?;
        let mut n = 0;
        for l in &f.lead {
            let t = topics
                .iter()
                .find(|t| t.name == l.topic_field)
                .ok_or_else(|| seed_error(&file, format!("unknown topic field {:?}", l.topic_field)))?;
            if existing.iter().any(|e| {
                e.topic_field_slug == t.slug && e.land_code == l.land && e.federal_ministry == l.federal_ministry
            }) {
                continue;
            }
            write::insert_topic_field_lead(
                self.conn,
                &t.slug,
                l.land.as_deref(),
                l.federal_ministry.as_deref(),
                &l.source,
            )?;
            n += 1;
        }
        self.import_entry("TopicFieldLead", n, "topic-field-leads.toml")?;
        self.report.add("topic field leads", n);
        Ok(())
    }

    fn priorities(&mut self, f: &PrioritiesFile) -> AppResult<()> {
        let file = self.dir.join("service-priorities.toml");
        let mut n = 0;
        for s in &f.service {
            let p: FederalPriority = parse(&file, &s.federal_priority)?;
            let current = read::ozg_services_by_ids(self.conn, std::slice::from_ref(&s.ozg_id))?;
            let cur = current.first().ok_or_else(|| seed_error(&file, format!("unknown OZG-ID {}", s.ozg_id)))?;
            if cur.federal_priority == p.code() && cur.priority_note == s.note {
                continue;
            }
            write::set_service_priority(self.conn, &s.ozg_id, p.code(), s.note.as_deref())?;
            let mut diff = Diff::default();
            diff.set("federalPriority", cur.federal_priority.clone(), p.code());
            diff.set("priorityNote", cur.priority_note.clone(), s.note.clone());
            record(
                self.conn,
                self.actor,
                &self.at,
                Change {
                    action: ChangeAction::Update,
                    entity_type: "OzgService",
                    entity_id: s.ozg_id.clone(),
                    project_id: None,
                    summary: format!("OZG-Leistung „{}“: {}", cur.name, p.label()),
                    diff,
                },
            )?;
            n += 1;
        }
        self.report.add("service priorities", n);
        Ok(())
    }

    /// Resolves an organisation reference of the seed files (see seed/FORMAT.md).
    fn org(&mut self, file: &Path, r: &str) -> AppResult<i32> {
        let found = if let Some(a) = r.strip_prefix("ags:") {
            read::organisation_by_ags(self.conn, a)?
        } else if let Some(d) = r.strip_prefix("district:") {
            read::district_by_key(self.conn, d)?
        } else if let Some(l) = r.strip_prefix("land:") {
            read::land_organisation(self.conn, &format!("DE-{l}"))?
        } else {
            read::organisation_by_slug(self.conn, r)?
        };
        found.map(|o| o.id).ok_or_else(|| seed_error(file, format!("unknown organisation {r:?}")))
    }

    fn organisations(&mut self, f: &OrganisationsFile) -> AppResult<()> {
        let file = self.dir.join("organisations.toml");
        let mut n = 0;
        for o in &f.organisation {
            if read::organisation_by_slug(self.conn, &o.slug)?.is_some() {
                continue;
            }
            Slug::parse(&o.slug).map_err(|e| seed_error(&file, e))?;
            let kind: OrganisationKind = parse(&file, &o.kind)?;
            let parent = o.parent.as_deref().map(|p| self.org(&file, p)).transpose()?;
            if let Some(a) = &o.ags {
                let ags = Ags::parse(a).map_err(|e| seed_error(&file, e))?;
                let land =
                    o.land.as_deref().ok_or_else(|| seed_error(&file, format!("{}: an AGS needs a land", o.slug)))?;
                crate::service::ags_in_land(self.conn, &ags, land, "ags").map_err(|e| seed_error(&file, e))?;
                if let Some(r) = &o.ars {
                    let ars = Ars::parse(r).map_err(|e| seed_error(&file, e))?;
                    if !ars.matches(&ags) {
                        return Err(seed_error(&file, format!("{}: ARS {ars} does not match AGS {ags}", o.slug)));
                    }
                }
            }
            let ts = self.at.to_db();
            let id = write::insert_organisation(
                self.conn,
                &write::NewOrganisation {
                    slug: &o.slug,
                    name: &o.name,
                    short_name: o.short_name.as_deref(),
                    kind: kind.code(),
                    land_code: o.land.as_deref(),
                    ags: o.ags.as_deref(),
                    ars: o.ars.as_deref(),
                    district_key: o.district_key.as_deref(),
                    parent_id: parent,
                    note: o.note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?;
            self.created(
                "Organisation",
                o.slug.clone(),
                None,
                format!("Organisation „{}“ angelegt", o.name),
                &[
                    ("slug", json!(o.slug)),
                    ("name", json!(o.name)),
                    ("kind", json!(kind.code())),
                    ("land", json!(o.land)),
                    ("ags", json!(o.ags)),
                    ("parent", json!(parent)),
                    ("id", json!(id)),
                ],
            )?;
            n += 1;
        }
        self.report.add("organisations", n);
        Ok(())
    }

    fn platforms(&mut self, f: &PlatformsFile) -> AppResult<()> {
        let file = self.dir.join("platforms.toml");
        let mut n = 0;
        for p in &f.platform {
            if read::platform_by_slug(self.conn, &p.slug)?.is_some() {
                continue;
            }
            let kind: PlatformKind = parse(&file, &p.kind)?;
            let operator = p.operator.as_deref().map(|o| self.org(&file, o)).transpose()?;
            write::insert_platform(
                self.conn,
                &write::NewPlatform {
                    slug: &p.slug,
                    name: &p.name,
                    kind: kind.code(),
                    operator_id: operator,
                    note: p.note.as_deref(),
                },
            )?;
            self.created(
                "Platform",
                p.slug.clone(),
                None,
                format!("Plattform „{}“ angelegt", p.name),
                &[("slug", json!(p.slug)), ("name", json!(p.name)), ("kind", json!(kind.code()))],
            )?;
            n += 1;
        }
        self.report.add("platforms", n);
        Ok(())
    }

    fn projects(&mut self, projects: &[(PathBuf, ProjectFile)]) -> AppResult<()> {
        let mut n = 0;
        let mut created = Vec::new();
        for (file, p) in projects {
            if read::project_by_slug(self.conn, &p.slug)?.is_some() {
                continue;
            }
            Slug::parse(&p.slug).map_err(|e| seed_error(file, e))?;
            let model: DeliveryModel = parse(file, &p.delivery_model)?;
            let phase: Phase = parse(file, &p.phase)?;
            let ts = self.at.to_db();
            let id = write::insert_project(
                self.conn,
                &write::NewProject {
                    slug: &p.slug,
                    title: &p.title,
                    summary: p.summary.as_deref(),
                    lead_land_code: p.lead_land.as_deref(),
                    delivery_model: model.code(),
                    phase: phase.code(),
                    status_note: p.status_note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?;
            self.created(
                "Project",
                p.slug.clone(),
                Some(id),
                format!("Projekt „{}“ angelegt", p.title),
                &[
                    ("slug", json!(p.slug)),
                    ("title", json!(p.title)),
                    ("leadLand", json!(p.lead_land)),
                    ("deliveryModel", json!(model.code())),
                    ("phase", json!(phase.code())),
                    ("statusNote", json!(p.status_note)),
                ],
            )?;
            self.project_details(file, id, p)?;
            created.push((file.clone(), id, p));
            n += 1;
        }
        // Relations last: they may point at projects of later files.
        for (file, id, p) in created {
            for r in &p.relation {
                let kind: RelationKind = parse(&file, &r.kind)?;
                let to = read::project_by_slug(self.conn, &r.to)?
                    .ok_or_else(|| seed_error(&file, format!("unknown project {:?}", r.to)))?;
                write::insert_relation(self.conn, id, to.id, kind.code(), r.note.as_deref())?;
                self.created(
                    "ProjectRelation",
                    format!("{}→{}", p.slug, r.to),
                    Some(id),
                    format!("Projekt „{}“ {} „{}“", p.title, kind.label(), to.title),
                    &[
                        ("from", json!(p.slug)),
                        ("to", json!(r.to)),
                        ("kind", json!(kind.code())),
                        ("note", json!(r.note)),
                    ],
                )?;
            }
        }
        self.report.add("projects", n);
        Ok(())
    }

    fn project_details(&mut self, file: &Path, id: i32, p: &ProjectFile) -> AppResult<()> {
        for (i, s) in p.service.iter().enumerate() {
            OzgId::parse(&s.ozg_id).map_err(|e| seed_error(file, e))?;
            if read::ozg_services_by_ids(self.conn, std::slice::from_ref(&s.ozg_id))?.is_empty() {
                return Err(seed_error(file, format!("unknown OZG-ID {}", s.ozg_id)));
            }
            write::insert_project_service(self.conn, id, &s.ozg_id, i as i32 + 1, s.note.as_deref())?;
        }
        for u in &p.platform {
            let usage: PlatformUsage = parse(file, &u.usage)?;
            let platform = read::platform_by_slug(self.conn, &u.platform)?
                .ok_or_else(|| seed_error(file, format!("unknown platform {:?}", u.platform)))?;
            write::insert_project_platform(self.conn, id, platform.id, usage.code(), u.note.as_deref())?;
        }
        for f in &p.funding {
            let status: FundingStatus = parse(file, &f.status)?;
            let funder = f.funder.as_deref().map(|o| self.org(file, o)).transpose()?;
            write::insert_funding(
                self.conn,
                &write::NewFunding {
                    project_id: id,
                    source: &f.source,
                    instrument: f.instrument.as_deref(),
                    status: status.code(),
                    funder_id: funder,
                    note: f.note.as_deref(),
                },
            )?;
        }
        for s in &p.step {
            let status: StepStatus = parse(file, &s.status)?;
            write::insert_step(
                self.conn,
                &write::NewStep {
                    project_id: id,
                    position: s.position,
                    title: &s.title,
                    description: s.description.as_deref(),
                    status: status.code(),
                },
            )?;
        }
        for m in &p.milestone {
            let phase = m.phase.as_deref().map(|ph| parse::<Phase>(file, ph)).transpose()?;
            let (planned, actual) = (date(file, &m.planned)?, date(file, &m.actual)?);
            write::insert_milestone(
                self.conn,
                &write::NewMilestone {
                    project_id: id,
                    title: &m.title,
                    phase: phase.map(|ph| ph.code()),
                    planned: planned.as_deref(),
                    actual: actual.as_deref(),
                    note: m.note.as_deref(),
                },
            )?;
        }
        for pa in &p.participation {
            let role: ParticipationRole = parse(file, &pa.role)?;
            let status: ParticipationStatus = parse(file, &pa.status)?;
            let org = self.org(file, &pa.organisation)?;
            let ts = self.at.to_db();
            let (since, until) = (date(file, &pa.since)?, date(file, &pa.until)?);
            let pid = write::insert_participation(
                self.conn,
                &write::NewParticipation {
                    project_id: id,
                    organisation_id: org,
                    role: role.code(),
                    status: status.code(),
                    since: since.as_deref(),
                    until: until.as_deref(),
                    note: pa.note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?;
            self.created(
                "Participation",
                pid.to_string(),
                Some(id),
                format!("{}: {} ({})", p.title, pa.organisation, role.label()),
                &[
                    ("organisation", json!(pa.organisation)),
                    ("role", json!(role.code())),
                    ("status", json!(status.code())),
                ],
            )?;
        }
        for c in &p.call {
            let status: CallStatus = parse(file, &c.status)?;
            let roles = c.roles.iter().map(|r| parse::<ParticipationRole>(file, r)).collect::<AppResult<Vec<_>>>()?;
            let issuer = self.org(file, &c.issuer)?;
            let opened = date(file, &Some(c.opened_on.clone()))?.unwrap_or_default();
            let closes = date(file, &c.closes_on)?;
            let codes: Vec<&str> = roles.iter().map(|r| r.code()).collect();
            let cid = write::insert_call(
                self.conn,
                &write::NewCall {
                    project_id: id,
                    issuer_id: issuer,
                    title: &c.title,
                    body: &c.body,
                    invites_reuse: c.invites_reuse,
                    opened_on: &opened,
                    closes_on: closes.as_deref(),
                    status: status.code(),
                },
                &codes,
            )?;
            self.created(
                "Call",
                cid.to_string(),
                Some(id),
                format!("Aufruf „{}“ zu „{}“", c.title, p.title),
                &[("title", json!(c.title)), ("rolesSought", json!(codes)), ("status", json!(status.code()))],
            )?;
        }
        for r in &p.reuse {
            let status: ReuseStatus = parse(file, &r.status)?;
            let org = self.org(file, &r.organisation)?;
            let ts = self.at.to_db();
            let (declared, planned, actual) =
                (date(file, &r.declared_on)?, date(file, &r.planned_live)?, date(file, &r.actual_live)?);
            let rid = write::insert_reuse(
                self.conn,
                &write::NewReuse {
                    project_id: id,
                    organisation_id: org,
                    status: status.code(),
                    declared_on: declared.as_deref(),
                    planned_live: planned.as_deref(),
                    actual_live: actual.as_deref(),
                    note: r.note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?;
            self.created(
                "ReuseDeclaration",
                rid.to_string(),
                Some(id),
                format!("Nachnutzung von „{}“ durch {}: {}", p.title, r.organisation, status.label()),
                &[("organisation", json!(r.organisation)), ("status", json!(status.code()))],
            )?;
        }
        Ok(())
    }

    fn events(&mut self, f: &EventsFile) -> AppResult<()> {
        let file = self.dir.join("events.toml");
        let existing: Vec<String> = read::events_all(self.conn)?.into_iter().map(|e| e.slug).collect();
        let mut n = 0;
        for e in &f.event {
            if existing.contains(&e.slug) {
                continue;
            }
            let kind: EventKind = parse(&file, &e.kind)?;
            let held = date(&file, &Some(e.held_on.clone()))?.unwrap_or_default();
            let location = e.location.as_deref().map(|o| self.org(&file, o)).transpose()?;
            let organiser = e.organiser.as_deref().map(|o| self.org(&file, o)).transpose()?;
            let id = write::insert_event(
                self.conn,
                &write::NewEvent {
                    slug: &e.slug,
                    title: &e.title,
                    kind: kind.code(),
                    held_on: &held,
                    location_id: location,
                    organiser_id: organiser,
                    note: e.note.as_deref(),
                },
            )?;
            let mut first_project = None;
            for p in &e.project {
                let pr = read::project_by_slug(self.conn, &p.slug)?
                    .ok_or_else(|| seed_error(&file, format!("unknown project {:?}", p.slug)))?;
                first_project.get_or_insert(pr.id);
                write::insert_event_project(self.conn, id, pr.id, p.outcome.as_deref())?;
            }
            self.created(
                "Event",
                e.slug.clone(),
                first_project,
                format!("{} ({})", e.title, PartialDate::parse(&held).map(|d| d.label()).unwrap_or_default()),
                &[("title", json!(e.title)), ("kind", json!(kind.code())), ("heldOn", json!(held))],
            )?;
            n += 1;
        }
        self.report.add("events", n);
        Ok(())
    }
}
