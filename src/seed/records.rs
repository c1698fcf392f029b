//! The records a coordinator edits in the seed files: organisations, platforms, projects with
//! their details, and events.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::*;
use crate::domain::*;
use crate::error::AppResult;
use crate::store::{read, write};

impl Seeder<'_> {
    /// Resolves an organisation reference of the seed files (see seed/FORMAT.md).
    pub(super) fn org(&mut self, file: &Path, r: &str) -> AppResult<OrganisationId> {
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

    pub(super) fn organisations(&mut self, f: &OrganisationsFile) -> AppResult<()> {
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
                    kind,
                    land_code: o.land.as_deref(),
                    ags: o.ags.as_deref(),
                    ars: o.ars.as_deref(),
                    district_key: o.district_key.as_deref(),
                    parent_id: parent,
                    note: o.note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?
            .id;
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

    pub(super) fn platforms(&mut self, f: &PlatformsFile) -> AppResult<()> {
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
                    kind,
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

    pub(super) fn projects(&mut self, projects: &[(PathBuf, ProjectFile)]) -> AppResult<()> {
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
                    delivery_model: model,
                    phase,
                    status_note: p.status_note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?
            .id;
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
                write::insert_relation(self.conn, id, to.id, kind, r.note.as_deref())?;
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

    pub(super) fn project_details(&mut self, file: &Path, id: ProjectId, p: &ProjectFile) -> AppResult<()> {
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
            write::insert_project_platform(self.conn, id, platform.id, usage, u.note.as_deref())?;
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
                    status,
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
                    status,
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
                    phase,
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
                    role,
                    status,
                    since: since.as_deref(),
                    until: until.as_deref(),
                    note: pa.note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?
            .id;
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
                    status,
                },
                &roles,
            )?
            .id;
            self.created(
                "Call",
                cid.to_string(),
                Some(id),
                format!("Aufruf „{}“ zu „{}“", c.title, p.title),
                &[("title", json!(c.title)), ("rolesSought", json!(roles)), ("status", json!(status.code()))],
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
                    status,
                    declared_on: declared.as_deref(),
                    planned_live: planned.as_deref(),
                    actual_live: actual.as_deref(),
                    note: r.note.as_deref(),
                    created_at: &ts,
                    updated_at: &ts,
                },
            )?
            .id;
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

    pub(super) fn events(&mut self, f: &EventsFile) -> AppResult<()> {
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
                    kind,
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
