//! Rules for projects, their phases and milestones.

use serde_json::{Value, json};

use super::*;
use crate::auth::policy::{self, Op};
use crate::domain::{CallStatus, OzgId, PartialDate, Phase, ProjectId, RelationKind, StepStatus, Vocabulary};
use crate::store::rows::{MilestoneRow, StepRow};
use crate::store::{write, write_tx};

fn check_services(conn: &mut Db, ids: &[OzgId]) -> AppResult<Vec<String>> {
    if ids.is_empty() {
        return Err(AppError::bad_input("ozgIds", "ozgIds: name at least one OZG-Leistung"));
    }
    if ids.len() > 50 {
        return Err(AppError::bad_input("ozgIds", "ozgIds: at most 50 OZG-Leistungen"));
    }
    let mut wanted: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
    let mut seen = std::collections::HashSet::new();
    wanted.retain(|i| seen.insert(i.clone()));
    let found = read::ozg_services_by_ids(conn, &wanted)?;
    if let Some(missing) = wanted.iter().find(|w| !found.iter().any(|f| &f.ozg_id == *w)) {
        return Err(AppError::not_found("ozgIds", format!("ozgIds: no OZG-Leistung with OZG-ID {missing}")));
    }
    Ok(wanted)
}

pub fn create_project(conn: &mut Db, actor: &Actor, input: CreateProjectInput) -> AppResult<ProjectRow> {
    let slug = slug(&input.slug, "slug")?;
    let title = text(&input.title, "title", TITLE_MAX)?;
    let summary = opt_text(input.summary.as_deref(), "summary", NOTE_MAX)?;
    let status_note = opt_text(input.status_note.as_deref(), "statusNote", NOTE_MAX)?;
    let phase = input.phase.unwrap_or(Phase::Preparation);
    if phase.is_side_state() {
        return Err(AppError::bad_input(
            "phase",
            format!("phase: a new project cannot start as {}; start it in a regular phase", phase.code()),
        ));
    }
    write_tx(conn, |conn| {
        let lead_land = match input.lead_land.as_deref() {
            Some(l) => Some(land_code(conn, l, "leadLand")?),
            None => None,
        };
        let services = check_services(conn, &input.ozg_ids)?;
        let topic_fields = crate::store::auth::topic_fields_of_services(conn, &services)?;
        policy::require(
            conn,
            actor,
            Op::CreateProject { lead_land: lead_land.as_deref(), topic_fields: &topic_fields },
        )?;
        if read::project_by_slug(conn, slug.as_str())?.is_some() {
            return Err(AppError::already_exists("slug", format!("slug: a project {slug:?} already exists")));
        }
        let at = now();
        let ts = at.to_db();
        let created = write::insert_project(
            conn,
            &write::NewProject {
                slug: slug.as_str(),
                title: &title,
                summary: summary.as_deref(),
                lead_land_code: lead_land.as_deref(),
                delivery_model: input.delivery_model,
                phase,
                status_note: status_note.as_deref(),
                created_at: &ts,
                updated_at: &ts,
            },
        )
        .map_err(|e| unique_to_exists(e, "slug", &format!("slug: a project {slug:?} already exists")))?;
        for (i, s) in services.iter().enumerate() {
            write::insert_project_service(conn, created.id, s, i as i32 + 1, None)?;
        }
        record(
            conn,
            actor,
            &at,
            Change {
                action: ChangeAction::Create,
                entity_type: "Project",
                entity_id: slug.to_string(),
                project_id: Some(created.id),
                summary: format!("Projekt „{title}“ angelegt"),
                diff: Diff::created(&[
                    ("slug", json!(slug.as_str())),
                    ("title", json!(title)),
                    ("summary", json!(summary)),
                    ("leadLand", json!(lead_land)),
                    ("deliveryModel", json!(input.delivery_model.code())),
                    ("phase", json!(phase.code())),
                    ("ozgIds", json!(services)),
                    ("statusNote", json!(status_note)),
                ]),
            },
        )?;
        Ok(created)
    })
}

/// Maps a unique-key violation (a concurrent writer won the race) to ALREADY_EXISTS.
pub fn unique_to_exists(e: diesel::result::Error, field: &str, message: &str) -> AppError {
    if crate::store::is_unique_violation(&e) { AppError::already_exists(field, message) } else { e.into() }
}

/// Turns an optional "replace with" text into a change: `None` keeps, blank clears.
fn replace_text(v: Option<&str>, field: &str, max: usize) -> AppResult<Option<Option<String>>> {
    match v {
        None => Ok(None),
        Some(t) => opt_text(Some(t), field, max).map(Some),
    }
}

pub fn update_project(conn: &mut Db, actor: &Actor, input: UpdateProjectInput) -> AppResult<ProjectRow> {
    let title = input.title.as_deref().map(|t| text(t, "title", TITLE_MAX)).transpose()?;
    let summary = replace_text(input.summary.as_deref(), "summary", NOTE_MAX)?;
    let status_note = replace_text(input.status_note.as_deref(), "statusNote", NOTE_MAX)?;
    write_tx(conn, |conn| {
        let p = find_project(conn, &input.slug, "slug")?;
        require_home(conn, &p.origin, "project", "slug")?;
        policy::require(conn, actor, Op::ManageProject(&p))?;
        check_version(p.version, input.expected_version)?;
        let lead_land = match input.lead_land.as_deref().map(str::trim) {
            None => None,
            Some("") => Some(None),
            Some(l) => Some(Some(land_code(conn, l, "leadLand")?)),
        };
        let services = input.ozg_ids.as_deref().map(|ids| check_services(conn, ids)).transpose()?;
        let mut diff = Diff::default();
        if let Some(t) = &title {
            diff.set("title", p.title.clone(), t.clone());
        }
        if let Some(s) = &summary {
            diff.set("summary", p.summary.clone(), s.clone());
        }
        if let Some(l) = &lead_land {
            diff.set("leadLand", p.lead_land_code.clone(), l.clone());
        }
        if let Some(d) = input.delivery_model {
            diff.set("deliveryModel", p.delivery_model, d.code());
        }
        if let Some(s) = &status_note {
            diff.set("statusNote", p.status_note.clone(), s.clone());
        }
        let at = now();
        if let Some(new) = &services {
            let old: Vec<String> =
                read::project_services_by_projects(conn, &[p.id])?.into_iter().map(|s| s.ozg_id).collect();
            if &old != new {
                diff.set("ozgIds", json!(old), json!(new));
                write::delete_project_services(conn, p.id)?;
                for (i, s) in new.iter().enumerate() {
                    write::insert_project_service(conn, p.id, s, i as i32 + 1, None)?;
                }
            }
        }
        if diff.is_empty() {
            // Nothing changes: no new version, no change-log entry.
            return Ok(p);
        }
        let changes = write::ProjectChanges {
            title,
            summary,
            lead_land_code: lead_land,
            delivery_model: input.delivery_model,
            status_note,
            ..Default::default()
        };
        let Some(updated) = write::update_project(conn, p.id, p.version, &changes, &at.to_db())? else {
            return Err(current_conflict(conn, p.id));
        };
        record(
            conn,
            actor,
            &at,
            Change {
                action: ChangeAction::Update,
                entity_type: "Project",
                entity_id: p.slug.clone(),
                project_id: Some(p.id),
                summary: format!("Projekt „{}“ geändert", p.title),
                diff,
            },
        )?;
        Ok(updated)
    })
}

fn current_conflict(conn: &mut Db, id: ProjectId) -> AppError {
    match read::project_by_id(conn, id) {
        Ok(Some(p)) => AppError::conflict(p.version),
        Ok(None) => AppError::not_found("slug", "the project no longer exists"),
        Err(e) => e.into(),
    }
}

pub fn change_phase(conn: &mut Db, actor: &Actor, input: ChangePhaseInput) -> AppResult<ProjectRow> {
    let status_note = replace_text(input.status_note.as_deref(), "statusNote", NOTE_MAX)?;
    write_tx(conn, |conn| {
        let p = find_project(conn, &input.slug, "slug")?;
        require_home(conn, &p.origin, "project", "slug")?;
        policy::require(conn, actor, Op::ManageProject(&p))?;
        check_version(p.version, input.expected_version)?;
        let current = p.phase;
        let resume = p.phase_before_hold;
        let allowed = current.allowed_next(resume);
        if !allowed.contains(&input.phase) {
            let allowed_text =
                if allowed.is_empty() { "none: the phase is final".to_owned() } else { Phase::codes(&allowed) };
            return Err(AppError::illegal_transition(
                "phase",
                format!(
                    "phase: a project in {} cannot move to {}; allowed next phases: {allowed_text}",
                    current.code(),
                    input.phase.code()
                ),
            ));
        }
        let merged_into = match (input.phase, input.merged_into.as_deref()) {
            (Phase::Merged, Some(target)) => {
                let t = find_project(conn, target, "mergedInto")?;
                if t.id == p.id {
                    return Err(AppError::bad_input(
                        "mergedInto",
                        "mergedInto: a project cannot be merged into itself",
                    ));
                }
                require_active(&t, "mergedInto")?;
                Some(t)
            }
            (Phase::Merged, None) => {
                return Err(AppError::bad_input("mergedInto", "mergedInto: name the project this one is merged into"));
            }
            (_, Some(_)) => {
                return Err(AppError::bad_input("mergedInto", "mergedInto: only allowed with phase MERGED"));
            }
            (_, None) => None,
        };
        let at = now();
        let mut diff = Diff::default();
        diff.set("phase", current, input.phase);
        if let Some(s) = &status_note {
            diff.set("statusNote", p.status_note.clone(), s.clone());
        }
        let changes = write::ProjectChanges {
            phase: Some(input.phase),
            phase_before_hold: Some((input.phase == Phase::OnHold).then_some(current)),
            status_note,
            ..Default::default()
        };
        let Some(updated) = write::update_project(conn, p.id, p.version, &changes, &at.to_db())? else {
            return Err(current_conflict(conn, p.id));
        };
        let mut summary = format!("Projekt „{}“: Phase {} → {}", p.title, current.label(), input.phase.label());
        if let Some(t) = &merged_into {
            write::insert_relation(conn, p.id, t.id, RelationKind::MergedInto, None)
                .map_err(|e| unique_to_exists(e, "mergedInto", "mergedInto: the relation exists already"))?;
            diff.set("mergedInto", Value::Null, t.slug.clone());
            summary = format!("Projekt „{}“ in „{}“ überführt", p.title, t.title);
        }
        record(
            conn,
            actor,
            &at,
            Change {
                action: ChangeAction::Update,
                entity_type: "Project",
                entity_id: p.slug.clone(),
                project_id: Some(p.id),
                summary,
                diff,
            },
        )?;
        if matches!(input.phase, Phase::Discontinued | Phase::Merged) {
            close_open_calls(conn, actor, &p, input.phase)?;
        }
        Ok(updated)
    })
}

/// A project that ends or goes into another one closes its open calls: nobody can answer them.
fn close_open_calls(conn: &mut Db, actor: &Actor, p: &ProjectRow, phase: Phase) -> AppResult<()> {
    for call in read::calls_filtered(conn, Some(CallStatus::Open), Some(p.id))? {
        let Some(closed) = write::close_call(conn, call.id, call.version)? else {
            return Err(AppError::conflict(call.version + 1));
        };
        let mut diff = Diff::default();
        diff.set("status", call.status, closed.status);
        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Update,
                entity_type: "Call",
                entity_id: call.id.to_string(),
                project_id: Some(p.id),
                summary: format!(
                    "Aufruf „{}“ geschlossen, da das Projekt „{}“ {} ist",
                    call.title,
                    p.title,
                    phase.label()
                ),
                diff,
            },
        )?;
    }
    Ok(())
}

pub fn add_milestone(conn: &mut Db, actor: &Actor, input: AddMilestoneInput) -> AppResult<MilestoneRow> {
    let title = text(&input.title, "title", TITLE_MAX)?;
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    if input.planned.is_none() && input.actual.is_none() {
        return Err(AppError::bad_input("planned", "planned: give a planned date, an actual date or both"));
    }
    write_tx(conn, |conn| {
        let p = find_project(conn, &input.project_slug, "projectSlug")?;
        require_home(conn, &p.origin, "project", "projectSlug")?;
        policy::require(conn, actor, Op::ManageProject(&p))?;
        require_active(&p, "projectSlug")?;
        let planned = input.planned.map(|d| d.to_string());
        let actual = input.actual.map(|d| d.to_string());
        let milestone = write::insert_milestone(
            conn,
            &write::NewMilestone {
                project_id: p.id,
                title: &title,
                phase: input.phase,
                planned: planned.as_deref(),
                actual: actual.as_deref(),
                note: note.as_deref(),
            },
        )
        .map_err(|e| unique_to_exists(e, "title", &format!("title: the project already has a milestone {title:?}")))?;
        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Create,
                entity_type: "Milestone",
                entity_id: milestone.id.to_string(),
                project_id: Some(p.id),
                summary: format!("Projekt „{}“: Meilenstein „{title}“ angelegt", p.title),
                diff: Diff::created(&[
                    ("title", json!(title)),
                    ("phase", json!(input.phase.map(|ph| ph.code()))),
                    ("planned", json!(planned)),
                    ("actual", json!(actual)),
                    ("note", json!(note)),
                ]),
            },
        )?;
        Ok(milestone)
    })
}

/// Appends a step to a project's plan.
pub fn add_step(conn: &mut Db, actor: &Actor, input: AddStepInput) -> AppResult<StepRow> {
    let title = text(&input.title, "title", TITLE_MAX)?;
    let description = opt_text(input.description.as_deref(), "description", NOTE_MAX)?;
    let status = input.status.unwrap_or(StepStatus::Planned);
    write_tx(conn, |conn| {
        let p = find_project(conn, &input.project_slug, "projectSlug")?;
        require_home(conn, &p.origin, "project", "projectSlug")?;
        policy::require(conn, actor, Op::ManageProject(&p))?;
        require_active(&p, "projectSlug")?;
        let position = read::steps_by_projects(conn, &[p.id])?.iter().map(|s| s.position).max().unwrap_or(0) + 1;
        let step = write::insert_step(
            conn,
            &write::NewStep { project_id: p.id, position, title: &title, description: description.as_deref(), status },
        )?;
        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Create,
                entity_type: "Step",
                entity_id: step.id.to_string(),
                project_id: Some(p.id),
                summary: format!("Projekt „{}“: Schritt {position} „{title}“ angelegt", p.title),
                diff: Diff::created(&[
                    ("position", json!(position)),
                    ("title", json!(title)),
                    ("description", json!(description)),
                    ("status", json!(status.code())),
                ]),
            },
        )?;
        Ok(step)
    })
}

/// Moves a step to another status (planned, in progress, done; any order: plans change).
pub fn set_step_status(conn: &mut Db, actor: &Actor, input: SetStepStatusInput) -> AppResult<StepRow> {
    let id = input.id;
    write_tx(conn, |conn| {
        let s = read::step_by_id(conn, id)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no step with id {id}")))?;
        let project = read::project_by_id(conn, s.project_id)?.expect("foreign key");
        require_home(conn, &project.origin, "project", "id")?;
        policy::require(conn, actor, Op::ManageProject(&project))?;
        require_active(&project, "id")?;
        if s.status == input.status {
            return Ok(s);
        }
        let changed = write::set_step_status(conn, id, input.status)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no step with id {id}")))?;
        let mut diff = Diff::default();
        diff.set("status", s.status, input.status);
        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Update,
                entity_type: "Step",
                entity_id: id.to_string(),
                project_id: Some(s.project_id),
                summary: format!(
                    "Projekt „{}“: Schritt {} „{}“ {}",
                    project.title,
                    s.position,
                    s.title,
                    input.status.label()
                ),
                diff,
            },
        )?;
        Ok(changed)
    })
}

pub fn complete_milestone(conn: &mut Db, actor: &Actor, input: CompleteMilestoneInput) -> AppResult<MilestoneRow> {
    let id = input.id;
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    let actual = input.actual.unwrap_or_else(PartialDate::today).to_string();
    write_tx(conn, |conn| {
        let m = read::milestone_by_id(conn, id)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no milestone with id {id}")))?;
        check_version(m.version, input.expected_version)?;
        let project = read::project_by_id(conn, m.project_id)?.expect("foreign key");
        require_home(conn, &project.origin, "project", "id")?;
        policy::require(conn, actor, Op::ManageProject(&project))?;
        require_active(&project, "id")?;
        if let Some(done) = &m.actual {
            return Err(AppError::illegal_transition(
                "id",
                format!("id: the milestone {:?} was already reached ({done})", m.title),
            ));
        }
        let Some(reached) = write::complete_milestone(conn, id, m.version, &actual, note.as_deref())? else {
            let v = read::milestone_by_id(conn, id)?.map(|m| m.version).unwrap_or(m.version);
            return Err(AppError::conflict(v));
        };
        let mut diff = Diff::default();
        diff.set("actual", Value::Null, actual.clone());
        if let Some(n) = &note {
            diff.set("note", m.note.clone(), n.clone());
        }

        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Update,
                entity_type: "Milestone",
                entity_id: id.to_string(),
                project_id: Some(m.project_id),
                summary: format!("Projekt „{}“: Meilenstein „{}“ erreicht", project.title, m.title),
                diff,
            },
        )?;
        Ok(reached)
    })
}
