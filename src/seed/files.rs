//! The seed files as read from disk (see seed/FORMAT.md). Unknown keys are errors, so a typo in a
//! coordinator's edit is reported instead of silently ignored.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::seed_error;
use crate::error::AppResult;

#[derive(Deserialize)]
pub struct ServiceCsv {
    pub ozg_id: String,
    pub name: String,
    pub lage: String,
    pub themenfeld: String,
}

#[derive(Deserialize)]
pub struct LeikaCsv {
    pub leika_key: String,
    pub name: String,
    pub ozg_id: String,
    pub typisierung: String,
}

#[derive(Deserialize)]
pub struct DistrictCsv {
    #[serde(rename = "AGS")]
    pub ags: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandsFile {
    pub land: Vec<LandToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LandToml {
    pub code: String,
    pub short: String,
    pub ags_prefix: String,
    pub name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicFieldsFile {
    pub topic_field: Vec<TopicFieldToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TopicFieldToml {
    pub name: String,
    pub slug: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadsFile {
    pub lead: Vec<LeadToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LeadToml {
    pub topic_field: String,
    pub land: Option<String>,
    pub federal_ministry: Option<String>,
    pub source: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PrioritiesFile {
    pub service: Vec<PriorityToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PriorityToml {
    pub ozg_id: String,
    pub federal_priority: String,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationsFile {
    pub organisation: Vec<OrganisationToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrganisationToml {
    pub slug: String,
    pub name: String,
    pub short_name: Option<String>,
    pub kind: String,
    pub land: Option<String>,
    pub ags: Option<String>,
    pub ars: Option<String>,
    pub district_key: Option<String>,
    pub parent: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformsFile {
    pub platform: Vec<PlatformToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PlatformToml {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub operator: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectFile {
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub lead_land: Option<String>,
    pub delivery_model: String,
    pub phase: String,
    pub status_note: Option<String>,
    #[serde(default)]
    pub service: Vec<ProjectServiceToml>,
    #[serde(default)]
    pub platform: Vec<ProjectPlatformToml>,
    #[serde(default)]
    pub funding: Vec<FundingToml>,
    #[serde(default)]
    pub step: Vec<StepToml>,
    #[serde(default)]
    pub milestone: Vec<MilestoneToml>,
    #[serde(default)]
    pub participation: Vec<ParticipationToml>,
    #[serde(default)]
    pub call: Vec<CallToml>,
    #[serde(default)]
    pub reuse: Vec<ReuseToml>,
    #[serde(default)]
    pub relation: Vec<RelationToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectServiceToml {
    pub ozg_id: String,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProjectPlatformToml {
    pub platform: String,
    pub usage: String,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FundingToml {
    pub source: String,
    pub instrument: Option<String>,
    pub status: String,
    pub funder: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StepToml {
    pub position: i32,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MilestoneToml {
    pub title: String,
    pub phase: Option<String>,
    pub planned: Option<String>,
    pub actual: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipationToml {
    pub organisation: String,
    pub role: String,
    pub status: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CallToml {
    pub issuer: String,
    pub title: String,
    pub body: String,
    pub roles: Vec<String>,
    pub invites_reuse: bool,
    pub opened_on: String,
    pub closes_on: Option<String>,
    pub status: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReuseToml {
    pub organisation: String,
    pub status: String,
    pub declared_on: Option<String>,
    pub planned_live: Option<String>,
    pub actual_live: Option<String>,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RelationToml {
    pub to: String,
    pub kind: String,
    pub note: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventsFile {
    pub event: Vec<EventToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventToml {
    pub slug: String,
    pub title: String,
    pub kind: String,
    pub held_on: String,
    pub location: Option<String>,
    pub organiser: Option<String>,
    pub note: Option<String>,
    #[serde(default)]
    pub project: Vec<EventProjectToml>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventProjectToml {
    pub slug: String,
    pub outcome: Option<String>,
}

pub struct SeedFiles {
    pub lands: LandsFile,
    pub topic_fields: TopicFieldsFile,
    pub services: Vec<ServiceCsv>,
    pub leika: Vec<LeikaCsv>,
    pub districts: Vec<DistrictCsv>,
    pub leads: LeadsFile,
    pub priorities: PrioritiesFile,
    pub organisations: OrganisationsFile,
    pub platforms: PlatformsFile,
    pub projects: Vec<(PathBuf, ProjectFile)>,
    pub events: EventsFile,
}

fn toml_file<T: for<'de> Deserialize<'de>>(path: &Path) -> AppResult<T> {
    let text = std::fs::read_to_string(path).map_err(|e| seed_error(path, e))?;
    toml::from_str(&text).map_err(|e| seed_error(path, e))
}

fn csv_file<T: for<'de> Deserialize<'de>>(path: &Path, delimiter: u8) -> AppResult<Vec<T>> {
    let mut r = csv::ReaderBuilder::new().delimiter(delimiter).from_path(path).map_err(|e| seed_error(path, e))?;
    r.deserialize().collect::<Result<Vec<T>, _>>().map_err(|e| seed_error(path, e))
}

impl SeedFiles {
    /// Reads and parses every file first, so a broken file stops the seed before it writes anything.
    pub fn load(dir: &Path) -> AppResult<Self> {
        let mut projects = Vec::new();
        let pdir = dir.join("projects");
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&pdir)
            .map_err(|e| seed_error(&pdir, e))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        entries.sort();
        for p in entries {
            let f: ProjectFile = toml_file(&p)?;
            projects.push((p, f));
        }
        Ok(Self {
            lands: toml_file(&dir.join("lands.toml"))?,
            topic_fields: toml_file(&dir.join("topic-fields.toml"))?,
            services: csv_file(&dir.join("reference/ozg-leistungen.csv"), b',')?,
            leika: csv_file(&dir.join("reference/leika-leistungen.csv"), b',')?,
            districts: csv_file(&dir.join("reference/de-districts-2018.csv"), b';')?,
            leads: toml_file(&dir.join("topic-field-leads.toml"))?,
            priorities: toml_file(&dir.join("service-priorities.toml"))?,
            organisations: toml_file(&dir.join("organisations.toml"))?,
            platforms: toml_file(&dir.join("platforms.toml"))?,
            projects,
            events: toml_file(&dir.join("events.toml"))?,
        })
    }
}
