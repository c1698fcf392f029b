//! Synthetic but plausible data on top of the real reference data, for benchmarks and scale tests:
//! Kommunen with valid AGS and ARS in the real Kreise, projects implementing real OZG-Leistungen,
//! participations, reuse declarations, calls, milestones, and a change-log entry (hash-chained) for
//! every record, as `check` demands. Deterministic: the same scale and seed give the same data.
//! Rows go in with batched inserts, all in one transaction.

use std::time::Instant;

use crate::error::{AppError, AppResult};
use crate::store::bulk::{self, Change};
use crate::store::changes::{self, NewChange};
use crate::store::{Db, write_tx};

/// How much to generate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Scale {
    pub kommunen: usize,
    pub projects: usize,
    pub participations_per_project: usize,
    pub reuse_per_project: usize,
}

impl Scale {
    pub fn parse(s: &str) -> Result<Scale, String> {
        match s {
            "small" => {
                Ok(Scale { kommunen: 1_100, projects: 1_000, participations_per_project: 7, reuse_per_project: 3 })
            }
            "medium" => {
                Ok(Scale { kommunen: 5_500, projects: 10_000, participations_per_project: 7, reuse_per_project: 3 })
            }
            "nationwide" => {
                Ok(Scale { kommunen: 11_000, projects: 100_000, participations_per_project: 7, reuse_per_project: 3 })
            }
            _ => Err(format!("scale: {s:?} is not one of small, medium, nationwide")),
        }
    }
}

/// SplitMix64: small, fast, and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
    fn pick<'a, T>(&mut self, v: &'a [T]) -> &'a T {
        &v[self.below(v.len())]
    }
}

const PREFIXES: [&str; 12] =
    ["Alt", "Neu", "Ober", "Nieder", "Groß", "Klein", "Bad", "Hohen", "Mittel", "Unter", "Wester", "Oster"];
const STEMS: [&str; 16] = [
    "berg", "feld", "bach", "dorf", "hausen", "heim", "stedt", "rode", "kirchen", "born", "brück", "hagen", "au",
    "wald", "ingen", "tal",
];
const ROOTS: [&str; 14] = [
    "Linden", "Eichen", "Buchen", "Sonnen", "Wiesen", "Mühl", "Stein", "Rosen", "Birken", "Falken", "Kirch", "Hasel",
    "Fichten", "Erlen",
];
const PHASES: [&str; 8] = [
    "PREPARATION",
    "DIGITALISATION_LAB",
    "CONCEPTION",
    "IMPLEMENTATION",
    "PILOT",
    "ROLLOUT_STATE",
    "ROLLOUT_NATIONWIDE",
    "OPERATION",
];
const MODELS: [&str; 4] = ["EFA_DEVELOPED_HERE", "REUSE_OF_OTHER_EFA", "LAND_SOLUTION", "MUNICIPAL_SOLUTION"];
const ROLES: [&str; 4] = ["PILOT", "CORE_TEAM", "EXTENDED_TEAM", "PILOT"];
const PARTICIPATION_STATUS: [&str; 3] = ["CONFIRMED", "REQUESTED", "CONFIRMED"];
const REUSE_STATUS: [&str; 5] = ["INTEREST", "NEGOTIATING", "AGREED", "ONBOARDING", "LIVE"];

/// What was generated, with the time it took.
#[derive(Debug, Default)]
pub struct Report {
    pub kommunen: usize,
    pub projects: usize,
    pub participations: usize,
    pub reuse: usize,
    pub calls: usize,
    pub milestones: usize,
    pub changes: usize,
    pub seconds: f64,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "generated {} Kommunen, {} projects, {} participations, {} reuse declarations, {} calls, {} milestones, {} change-log entries in {:.1} s",
            self.kommunen,
            self.projects,
            self.participations,
            self.reuse,
            self.calls,
            self.milestones,
            self.changes,
            self.seconds
        )
    }
}

struct Log {
    rows: Vec<Change>,
    prev: String,
    next_id: i64,
}

impl Log {
    fn add(
        &mut self,
        at: &str,
        entity_type: &'static str,
        entity_id: String,
        project: Option<crate::domain::ProjectId>,
        summary: String,
    ) {
        let changes = "{}".to_owned();
        let c = NewChange {
            at,
            actor: "generator",
            actor_role: "system",
            actor_organisation_id: None,
            actor_issuer: None,
            action: crate::domain::ChangeAction::Create,
            outcome: crate::domain::ChangeOutcome::Applied,
            entity_type,
            entity_id: &entity_id,
            project_id: project,
            summary: &summary,
            changes: &changes,
            personal: false,
        };
        let hash = changes::hash_after(&self.prev, &c);
        self.next_id += 1;
        self.rows.push(Change {
            id: self.next_id,
            at: at.to_owned(),
            actor: "generator",
            actor_role: "system",
            action: "CREATE",
            outcome: "APPLIED",
            entity_type,
            entity_id,
            project_id: project.map(crate::domain::RecordId::get),
            summary,
            changes,
            personal: false,
            prev_hash: std::mem::replace(&mut self.prev, hash.clone()),
            hash,
        });
    }
}

/// A date in the two years before 2026-11-30, as day precision text.
fn day(rng: &mut Rng) -> String {
    let d = chrono::NaiveDate::from_ymd_opt(2024, 12, 1).unwrap_or_default() + chrono::Days::new(rng.below(730) as u64);
    d.format("%Y-%m-%d").to_string()
}

pub fn generate(conn: &mut Db, scale: Scale, seed: u64) -> AppResult<Report> {
    let started = Instant::now();
    let mut rng = Rng(seed);
    write_tx(conn, |conn| {
        if crate::store::read::project_by_slug(conn, "gen-1")?.is_some() {
            return Err(AppError::bad_input("scale", "this database holds generated data already"));
        }
        let ids = bulk::max_ids(conn)?;
        let districts = bulk::districts(conn)?;
        let services = bulk::ozg_ids(conn)?;
        let lands = bulk::land_codes(conn)?;
        if districts.is_empty() || services.is_empty() {
            return Err(AppError::bad_input("scale", "seed the reference data first (ozg-registry seed)"));
        }
        let head = changes::head(conn)?;
        let mut log = Log { rows: Vec::new(), prev: head, next_id: ids.change };
        let now = "2026-11-30T00:00:00.000000Z".to_owned();
        let mut report = Report::default();

        // Kommunen: spread over the Kreise, numbered within each (AGS = Kreis + 3 digits).
        let taken: std::collections::HashSet<String> = bulk::taken_ags(conn)?.into_iter().collect();
        let mut orgs = Vec::with_capacity(scale.kommunen);
        let mut per_district = vec![0usize; districts.len()];
        for i in 0..scale.kommunen {
            let di = i % districts.len();
            let d = &districts[di];
            per_district[di] += 1;
            while taken.contains(&format!("{}{:03}", d.district_key, per_district[di])) {
                per_district[di] += 1;
            }
            let number = per_district[di];
            if number > 999 {
                break;
            }
            let ags = format!("{}{number:03}", d.district_key);
            let ars = format!("{}0000{number:03}", d.district_key);
            let name = format!("{}{}{}", rng.pick(&PREFIXES), if rng.below(2) == 0 { "-" } else { " " }, {
                let root = rng.pick(&ROOTS);
                format!("{root}{}", rng.pick(&STEMS))
            });
            let id = ids.organisation + 1 + orgs.len() as i32;
            orgs.push(bulk::Org {
                id,
                slug: format!("gemeinde-{ags}"),
                name: format!("Gemeinde {name}"),
                kind: "MUNICIPALITY",
                land_code: Some(d.land_code.clone()),
                ags: Some(ags.clone()),
                ars: Some(ars),
                district_key: Some(d.district_key.clone()),
                parent_id: Some(d.id),
                created_at: now.clone(),
                updated_at: now.clone(),
            });
        }
        report.kommunen = orgs.len();
        bulk::orgs(conn, &orgs)?;
        let kommune_ids: Vec<i32> = orgs.iter().map(|o| o.id).collect();
        drop(orgs);

        let mut projects = Vec::with_capacity(scale.projects);
        let mut links = Vec::with_capacity(scale.projects * 2);
        let mut milestones = Vec::with_capacity(scale.projects * 2);
        let mut participations = Vec::with_capacity(scale.projects * scale.participations_per_project);
        let mut reuse = Vec::with_capacity(scale.projects * scale.reuse_per_project);
        let mut calls = Vec::new();
        let mut call_roles = Vec::new();
        let (mut milestone_id, mut participation_id, mut reuse_id, mut call_id) =
            (ids.milestone, ids.participation, ids.reuse, ids.call);
        for n in 1..=scale.projects {
            let id = ids.project + n as i32;
            let (ozg, service_name) = rng.pick(&services).clone();
            let land = rng.pick(&lands).clone();
            let created = format!("{}T08:00:00.000000Z", day(&mut rng));
            let title = format!("{service_name} ({land}, {n})");
            let phase = PHASES[rng.below(PHASES.len())];
            projects.push(bulk::Project {
                id,
                slug: format!("gen-{n}"),
                title: title.clone(),
                summary: Some(format!("Digitalisierung der OZG-Leistung {ozg} für {land}.")),
                lead_land_code: Some(land),
                delivery_model: MODELS[rng.below(MODELS.len())],
                phase,
                created_at: created.clone(),
                updated_at: created.clone(),
            });
            log.add(&created, "Project", format!("gen-{n}"), Some(id.into()), format!("Projekt „{title}“ angelegt"));
            links.push(bulk::ProjectService { project_id: id, ozg_id: ozg.clone(), position: 1 });
            let (second, _) = rng.pick(&services);
            if second != &ozg && rng.below(3) == 0 {
                links.push(bulk::ProjectService { project_id: id, ozg_id: second.clone(), position: 2 });
            }
            for (title, phase) in [("Konzept abgeschlossen", "CONCEPTION"), ("Pilotbetrieb", "PILOT")] {
                milestone_id += 1;
                let planned = Some(format!("{}-Q{}", 2025 + rng.below(3), 1 + rng.below(4)));
                milestones.push(bulk::Milestone {
                    id: milestone_id,
                    project_id: id,
                    title: title.into(),
                    phase: Some(phase),
                    planned,
                    actual: None,
                });
            }
            // Distinct Kommunen per project: a stride through the list from a random start.
            let k = kommune_ids.len();
            let start = rng.below(k);
            let stride = 1 + rng.below(97);
            let wanted = scale.participations_per_project + scale.reuse_per_project;
            let mut chosen = Vec::with_capacity(wanted);
            let mut pos = start;
            while chosen.len() < wanted.min(k) {
                let org = kommune_ids[pos % k];
                if !chosen.contains(&org) {
                    chosen.push(org);
                }
                pos += stride;
            }
            for (i, org) in chosen.iter().enumerate() {
                let at = format!("{}T10:00:00.000000Z", day(&mut rng));
                if i < scale.participations_per_project {
                    participation_id += 1;
                    let role = ROLES[rng.below(ROLES.len())];
                    participations.push(bulk::Participation {
                        id: participation_id,
                        project_id: id,
                        organisation_id: *org,
                        role,
                        status: PARTICIPATION_STATUS[rng.below(PARTICIPATION_STATUS.len())],
                        since: Some(at[..10].to_owned()),
                        created_at: at.clone(),
                        updated_at: at.clone(),
                    });
                    log.add(
                        &at,
                        "Participation",
                        participation_id.to_string(),
                        Some(id.into()),
                        format!("Beteiligung ({role}) an „{title}“"),
                    );
                } else {
                    reuse_id += 1;
                    reuse.push(bulk::Reuse {
                        id: reuse_id,
                        project_id: id,
                        organisation_id: *org,
                        status: REUSE_STATUS[rng.below(REUSE_STATUS.len())],
                        declared_on: Some(at[..10].to_owned()),
                        planned_live: Some(format!("{}", 2026 + rng.below(3))),
                        created_at: at.clone(),
                        updated_at: at.clone(),
                    });
                    log.add(
                        &at,
                        "ReuseDeclaration",
                        reuse_id.to_string(),
                        Some(id.into()),
                        format!("Nachnutzung von „{title}“ bekundet"),
                    );
                }
            }
            if n % 5 == 0 {
                call_id += 1;
                let opened = day(&mut rng);
                calls.push(bulk::Call {
                    id: call_id,
                    project_id: id,
                    issuer_id: chosen[0],
                    title: "Pilotkommunen gesucht".into(),
                    body: format!("Für „{title}“ suchen wir Kommunen, die die Lösung erproben."),
                    invites_reuse: rng.below(2) == 0,
                    opened_on: opened.clone(),
                    closes_on: None,
                    status: if rng.below(3) == 0 { "CLOSED" } else { "OPEN" },
                });
                call_roles.push(bulk::CallRole { call_id, role: "PILOT" });
                log.add(
                    &format!("{opened}T09:00:00.000000Z"),
                    "Call",
                    call_id.to_string(),
                    Some(id.into()),
                    format!("Aufruf zu „{title}“"),
                );
            }
        }
        report.projects = projects.len();
        report.participations = participations.len();
        report.reuse = reuse.len();
        report.calls = calls.len();
        report.milestones = milestones.len();
        report.changes = log.rows.len();
        bulk::projects(conn, &projects)?;
        drop(projects);
        bulk::project_services(conn, &links)?;
        bulk::milestones(conn, &milestones)?;
        bulk::participations(conn, &participations)?;
        drop(participations);
        bulk::reuse(conn, &reuse)?;
        bulk::calls(conn, &calls)?;
        bulk::call_roles(conn, &call_roles)?;
        bulk::changes(conn, &log.rows)?;
        changes::set_head(conn, &log.prev)?;
        Ok(report)
    })
    .and_then(|mut report| {
        bulk::fix_sequences(conn)?;
        report.seconds = started.elapsed().as_secs_f64();
        Ok(report)
    })
}
