//! Reuse declarations (Nachnutzung): declaring interest and moving a declaration on.

use serde_json::{Value, json};

use super::projects::unique_to_exists;
use super::*;
use crate::auth::policy::{self, Op};
use crate::domain::ReuseId;
use crate::domain::{OrganisationKind, PartialDate, ReuseStatus, Vocabulary};
use crate::store::rows::ReuseRow;
use crate::store::{write, write_tx};
fn reuse_change(
    conn: &mut Db,
    actor: &Actor,
    action: ChangeAction,
    row: &ReuseRow,
    summary: String,
    diff: Diff,
) -> AppResult<()> {
    record(
        conn,
        actor,
        &now(),
        Change {
            action,
            entity_type: "ReuseDeclaration",
            entity_id: row.id.to_string(),
            project_id: Some(row.project_id),
            summary,
            diff,
        },
    )
}

/// Kinds of organisation that declare reuse: Länder (or their ministries) and Kommunen.
pub const REUSER_KINDS: &[OrganisationKind] = &[
    OrganisationKind::Land,
    OrganisationKind::StateMinistry,
    OrganisationKind::Municipality,
    OrganisationKind::District,
    OrganisationKind::Office,
];

pub fn declare_reuse(conn: &mut Db, actor: &Actor, input: DeclareReuseInput) -> AppResult<ReuseRow> {
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    write_tx(conn, |conn| {
        let project = find_project(conn, &input.project_slug, "projectSlug")?;
        let org = find_organisation(conn, &input.organisation, "organisation")?;
        policy::require(conn, actor, reuse_op(ReuseStatus::Interest, &project, &org))?;
        require_active(&project, "projectSlug")?;
        check_reuser(&org, &project)?;
        let planned = input.planned_live.map(|d| d.to_string());
        let today = PartialDate::today().to_string();
        let ts = now().to_db();
        let exists = format!("organisation: {} has declared reuse of {:?} already", org.name, project.slug);
        if let Some(existing) = read::reuse_by_key(conn, project.id, org.id)? {
            let status = existing.status;
            if !status.is_closed() {
                return Err(AppError::already_exists("organisation", exists));
            }
            let changes = write::ReuseChanges {
                status: Some(ReuseStatus::Interest),
                declared_on: Some(Some(today.clone())),
                planned_live: Some(planned.clone()),
                actual_live: Some(None),
                // A note not sent again stays.
                note: note.clone().map(Some),
            };
            let Some(renewed) = write::update_reuse(conn, existing.id, existing.version, &changes, &ts)? else {
                return Err(AppError::conflict(existing.version + 1));
            };
            require_home(conn, &existing.origin, "reuse declaration", "organisation")?;
            let mut diff = Diff::default();
            diff.set("status", existing.status, ReuseStatus::Interest);
            diff.set("declaredOn", existing.declared_on, today);
            diff.set("plannedLive", existing.planned_live, planned);
            diff.set("actualLive", existing.actual_live, Value::Null);
            if note.is_some() {
                diff.set("note", existing.note.clone(), note);
            }
            reuse_change(
                conn,
                actor,
                ChangeAction::Update,
                &renewed,
                format!("{} bekundet erneut Interesse an der Nachnutzung von „{}“", org.name, project.title),
                diff,
            )?;
            return Ok(renewed);
        }
        let row = write::insert_reuse(
            conn,
            &write::NewReuse {
                project_id: project.id,
                organisation_id: org.id,
                status: ReuseStatus::Interest,
                declared_on: Some(&today),
                planned_live: planned.as_deref(),
                actual_live: None,
                note: note.as_deref(),
                created_at: &ts,
                updated_at: &ts,
            },
        )
        .map_err(|e| unique_to_exists(e, "organisation", &exists))?;
        reuse_change(
            conn,
            actor,
            ChangeAction::Create,
            &row,
            format!("{} bekundet Interesse an der Nachnutzung von „{}“", org.name, project.title),
            Diff::created(&[
                ("project", json!(project.slug)),
                ("organisation", json!(org.slug)),
                ("status", json!(ReuseStatus::Interest.code())),
                ("declaredOn", json!(today)),
                ("plannedLive", json!(planned)),
                ("note", json!(note)),
            ]),
        )?;
        Ok(row)
    })
}

/// Reuse is declared by Länder and Kommunen, and not by the Land that leads the project.
pub fn check_reuser(org: &OrganisationRow, project: &ProjectRow) -> AppResult<()> {
    let kind = org.kind;
    if !REUSER_KINDS.contains(&kind) {
        return Err(AppError::bad_input(
            "organisation",
            format!(
                "organisation: reuse is declared by {}; {} is a {}",
                OrganisationKind::codes(REUSER_KINDS),
                org.name,
                kind.code()
            ),
        ));
    }
    if matches!(kind, OrganisationKind::Land | OrganisationKind::StateMinistry)
        && org.land_code.is_some()
        && org.land_code == project.lead_land_code
    {
        return Err(AppError::bad_input(
            "organisation",
            format!("organisation: {} leads {:?} itself and cannot declare reuse of it", org.name, project.slug),
        ));
    }
    Ok(())
}

/// What moving a reuse declaration to `to` is: agreeing or declining is the providing side's
/// decision; every other step is the declaring organisation's own.
pub fn reuse_op<'a>(to: ReuseStatus, project: &'a ProjectRow, organisation: &'a OrganisationRow) -> Op<'a> {
    if to.is_providers_decision() { Op::DecideReuse(project) } else { Op::ActForOrganisation { project, organisation } }
}

/// A requested step in a reuse declaration's lifecycle.
struct ReuseStep {
    id: ReuseId,
    expected: i32,
    to: ReuseStatus,
    planned: Option<PartialDate>,
    actual: Option<PartialDate>,
    note: Option<String>,
}

fn move_reuse(conn: &mut Db, actor: &Actor, step: ReuseStep) -> AppResult<ReuseRow> {
    let ReuseStep { id, expected, to, planned, actual, note } = step;
    write_tx(conn, |conn| {
        let row = read::reuse_by_id(conn, id)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no reuse declaration with id {id}")))?;
        let project = read::project_by_id(conn, row.project_id)?.expect("foreign key");
        require_home(conn, &row.origin, "reuse declaration", "id")?;
        let org = read::organisation_by_id(conn, row.organisation_id)?.expect("foreign key");
        policy::require(conn, actor, reuse_op(to, &project, &org))?;
        if to.is_providers_decision() {
            // The decision is the project's home's: its peers would refuse the record.
            require_home(conn, &project.origin, "project", "id")?;
        }
        check_version(row.version, expected)?;
        let from = row.status;
        if !from.allowed_next().contains(&to) || to == ReuseStatus::Interest {
            let allowed: Vec<ReuseStatus> =
                from.allowed_next().iter().copied().filter(|s| *s != ReuseStatus::Interest).collect();
            let allowed = if allowed.is_empty() {
                "none (declare interest again to reopen it)".to_owned()
            } else {
                ReuseStatus::codes(&allowed)
            };
            return Err(AppError::illegal_transition(
                "status",
                format!(
                    "status: a reuse declaration in {} cannot move to {}; allowed: {allowed}",
                    from.code(),
                    to.code()
                ),
            ));
        }
        let actual = match (to, actual) {
            (ReuseStatus::Live, None) => Some(PartialDate::today()),
            (_, a) => a,
        };
        let mut diff = Diff::default();
        diff.set("status", from, to);
        let mut changes = write::ReuseChanges { status: Some(to), ..Default::default() };
        if let Some(p) = planned {
            diff.set("plannedLive", row.planned_live, p.to_string());
            changes.planned_live = Some(Some(p.to_string()));
        }
        if let Some(a) = actual {
            diff.set("actualLive", row.actual_live, a.to_string());
            changes.actual_live = Some(Some(a.to_string()));
        }
        if let Some(n) = &note {
            diff.set("note", row.note.clone(), n.clone());
            changes.note = Some(Some(n.clone()));
        }
        let Some(changed) = write::update_reuse(conn, id, row.version, &changes, &now().to_db())? else {
            let v = read::reuse_by_id(conn, id)?.map(|r| r.version).unwrap_or(row.version);
            return Err(AppError::conflict(v));
        };
        let (project, org) = (project.title, org.name);
        reuse_change(
            conn,
            actor,
            ChangeAction::Update,
            &row,
            format!("Nachnutzung von „{project}“ durch {org}: {} → {}", from.label(), to.label()),
            diff,
        )?;
        Ok(changed)
    })
}

pub fn advance_reuse(conn: &mut Db, actor: &Actor, input: AdvanceReuseInput) -> AppResult<ReuseRow> {
    let id = input.id;
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    if input.status == ReuseStatus::Withdrawn {
        return Err(AppError::bad_input("status", "status: use withdrawReuseDeclaration to withdraw"));
    }
    if input.actual_live.is_some() && input.status != ReuseStatus::Live {
        return Err(AppError::bad_input("actualLive", "actualLive: only allowed with status LIVE"));
    }
    let step = ReuseStep {
        id,
        expected: input.expected_version,
        to: input.status,
        planned: input.planned_live,
        actual: input.actual_live,
        note,
    };
    move_reuse(conn, actor, step)
}

pub fn withdraw_reuse(conn: &mut Db, actor: &Actor, input: WithdrawReuseInput) -> AppResult<ReuseRow> {
    let id = input.id;
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    let step = ReuseStep {
        id,
        expected: input.expected_version,
        to: ReuseStatus::Withdrawn,
        planned: None,
        actual: None,
        note,
    };
    move_reuse(conn, actor, step)
}
