//! Rules for participation: sign-ups, a coordinator's additions and decisions, withdrawals.

use serde_json::json;

use super::projects::unique_to_exists;
use super::*;
use crate::auth::policy::{self, Op};
use crate::domain::{OrganisationKind, PartialDate, ParticipationRole, ParticipationStatus, Vocabulary};
use crate::store::rows::ParticipationRow;
use crate::store::{write, write_tx};

fn participation_change(
    conn: &mut Db,
    actor: &Actor,
    action: ChangeAction,
    row: &ParticipationRow,
    summary: String,
    diff: Diff,
) -> AppResult<()> {
    record(
        conn,
        actor,
        &now(),
        Change {
            action,
            entity_type: "Participation",
            entity_id: row.id.to_string(),
            project_id: Some(row.project_id),
            summary,
            diff,
        },
    )
}

/// A participation to create (or to reopen, if a withdrawn one exists).
struct Membership {
    role: ParticipationRole,
    status: ParticipationStatus,
    since: Option<String>,
    note: Option<String>,
}

/// Creates a participation, or reopens a withdrawn one; an active one is ALREADY_EXISTS.
fn create_or_reopen(
    conn: &mut Db,
    actor: &Actor,
    project: &ProjectRow,
    org: &OrganisationRow,
    m: Membership,
) -> AppResult<ParticipationRow> {
    let Membership { role, status, since, note } = m;
    let at = now();
    let ts = at.to_db();
    let exists_msg = format!("organisation: {} already takes part in {:?} as {}", org.name, project.slug, role.code());
    if let Some(existing) = read::participation_by_key(conn, project.id, org.id, role)? {
        if existing.status != ParticipationStatus::Withdrawn {
            return Err(AppError::already_exists("organisation", exists_msg));
        }
        require_home(conn, &existing.origin, "participation", "organisation")?;
        // A withdrawn participation is requested again, whatever was asked: it follows its lifecycle.
        let status = ParticipationStatus::Requested;
        let Some(reopened) =
            write::reopen_participation(conn, existing.id, existing.version, note.as_deref(), since.as_deref(), &ts)?
        else {
            return Err(AppError::conflict(existing.version + 1));
        };
        let mut diff = Diff::default();
        if since.is_some() {
            diff.set("since", existing.since, since.clone());
        }
        diff.set("status", existing.status, status);
        if note.is_some() {
            diff.set("note", existing.note.clone(), note.clone());
        }
        participation_change(
            conn,
            actor,
            ChangeAction::Update,
            &reopened,
            format!("{} nimmt wieder an „{}“ teil ({})", org.name, project.title, role.label()),
            diff,
        )?;
        return Ok(reopened);
    }
    let row = write::insert_participation(
        conn,
        &write::NewParticipation {
            project_id: project.id,
            organisation_id: org.id,
            role,
            status,
            since: since.as_deref(),
            until: None,
            note: note.as_deref(),
            created_at: &ts,
            updated_at: &ts,
        },
    )
    .map_err(|e| unique_to_exists(e, "organisation", &exists_msg))?;
    let verb = if status == ParticipationStatus::Requested { "meldet sich für" } else { "nimmt teil an" };
    participation_change(
        conn,
        actor,
        ChangeAction::Create,
        &row,
        format!("{} {verb} „{}“ ({})", org.name, project.title, role.label()),
        Diff::created(&[
            ("project", json!(project.slug)),
            ("organisation", json!(org.slug)),
            ("role", json!(role.code())),
            ("status", json!(status.code())),
            ("since", json!(since)),
            ("note", json!(note)),
        ]),
    )?;
    Ok(row)
}

pub fn add_participation(conn: &mut Db, actor: &Actor, input: AddParticipationInput) -> AppResult<ParticipationRow> {
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    let status =
        if input.confirmed.unwrap_or(true) { ParticipationStatus::Confirmed } else { ParticipationStatus::Requested };
    write_tx(conn, |conn| {
        let project = find_project(conn, &input.project_slug, "projectSlug")?;
        policy::require(conn, actor, Op::ManageProject(&project))?;
        // Assigning roles is the project's home's: its peers would refuse the record.
        require_home(conn, &project.origin, "project", "projectSlug")?;
        require_active(&project, "projectSlug")?;
        let org = find_organisation(conn, &input.organisation, "organisation")?;
        let since = input.since.map(|d| d.to_string());
        create_or_reopen(conn, actor, &project, &org, Membership { role: input.role, status, since, note })
    })
}

/// Kinds of organisation that sign themselves up as Kommune.
pub const SELF_SERVICE_KINDS: &[OrganisationKind] =
    &[OrganisationKind::Municipality, OrganisationKind::District, OrganisationKind::Office];

/// A Kommune signs itself up only in the self-service roles; the others are assigned.
pub fn check_self_service_role(role: ParticipationRole) -> AppResult<()> {
    if ParticipationRole::SELF_SERVICE.contains(&role) {
        return Ok(());
    }
    Err(AppError::bad_input(
        "role",
        format!(
            "role: a Kommune signs itself up as one of {}; {} is assigned by a coordinator",
            ParticipationRole::codes(ParticipationRole::SELF_SERVICE),
            role.code()
        ),
    ))
}

/// Only Kommunen (and their offices) sign themselves up.
pub fn check_self_service_kind(org: &OrganisationRow) -> AppResult<()> {
    if SELF_SERVICE_KINDS.contains(&org.kind) {
        return Ok(());
    }
    Err(AppError::bad_input(
        "organisation",
        format!(
            "organisation: only {} sign themselves up; {} is a {}",
            OrganisationKind::codes(SELF_SERVICE_KINDS),
            org.name,
            org.kind.code()
        ),
    ))
}

/// What setting a participation to `to` is: a Kommune requests and withdraws its own
/// participation; confirming it is managing the project.
pub fn participation_op<'a>(
    to: ParticipationStatus,
    project: &'a ProjectRow,
    organisation: &'a OrganisationRow,
) -> Op<'a> {
    if ParticipationStatus::SELF_SERVICE.contains(&to) {
        Op::ActForOrganisation { project, organisation }
    } else {
        Op::ManageProject(project)
    }
}

pub fn sign_up(conn: &mut Db, actor: &Actor, input: SignUpInput) -> AppResult<ParticipationRow> {
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    check_self_service_role(input.role)?;
    write_tx(conn, |conn| {
        let project = find_project(conn, &input.project_slug, "projectSlug")?;
        let org = find_organisation(conn, &input.organisation, "organisation")?;
        let status = ParticipationStatus::Requested;
        policy::require(conn, actor, participation_op(status, &project, &org))?;
        require_active(&project, "projectSlug")?;
        check_self_service_kind(&org)?;
        let since = Some(PartialDate::today().to_string());
        let m = Membership { role: input.role, status, since, note };
        create_or_reopen(conn, actor, &project, &org, m)
    })
}

fn set_participation(
    conn: &mut Db,
    actor: &Actor,
    input: ParticipationStatusInput,
    to: ParticipationStatus,
) -> AppResult<ParticipationRow> {
    let id = input.id;
    let note = opt_text(input.note.as_deref(), "note", NOTE_MAX)?;
    write_tx(conn, |conn| {
        let row = read::participation_by_id(conn, id)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no participation with id {id}")))?;
        let project = read::project_by_id(conn, row.project_id)?.expect("foreign key");
        require_home(conn, &row.origin, "participation", "id")?;
        let org = read::organisation_by_id(conn, row.organisation_id)?.expect("foreign key");
        policy::require(conn, actor, participation_op(to, &project, &org))?;
        if to != ParticipationStatus::Withdrawn {
            // Confirming is the project's home's decision.
            require_home(conn, &project.origin, "project", "id")?;
            require_active(&project, "id")?;
        }
        check_version(row.version, input.expected_version)?;
        let from = row.status;
        if !from.allowed_next().contains(&to) {
            return Err(AppError::illegal_transition(
                "status",
                format!(
                    "status: a {} participation cannot become {}; allowed: {}",
                    from.code(),
                    to.code(),
                    ParticipationStatus::codes(from.allowed_next())
                ),
            ));
        }
        let Some(changed) =
            write::set_participation_status(conn, id, row.version, to, note.as_deref(), &now().to_db())?
        else {
            let v = read::participation_by_id(conn, id)?.map(|r| r.version).unwrap_or(row.version);
            return Err(AppError::conflict(v));
        };
        let mut diff = Diff::default();
        diff.set("status", from, to);
        if note.is_some() {
            diff.set("note", row.note.clone(), note.clone());
        }
        let org = read::organisation_by_id(conn, row.organisation_id)?.expect("foreign key").name;
        let project = project.title;
        let role = row.role.label();
        let verb = match to {
            ParticipationStatus::Confirmed => "bestätigt",
            ParticipationStatus::Withdrawn => "zurückgezogen",
            ParticipationStatus::Requested => "angefragt",
        };
        participation_change(
            conn,
            actor,
            ChangeAction::Update,
            &row,
            format!("Teilnahme von {org} an „{project}“ ({role}) {verb}"),
            diff,
        )?;
        Ok(changed)
    })
}

pub fn confirm_participation(
    conn: &mut Db,
    actor: &Actor,
    input: ParticipationStatusInput,
) -> AppResult<ParticipationRow> {
    set_participation(conn, actor, input, ParticipationStatus::Confirmed)
}

pub fn withdraw_participation(
    conn: &mut Db,
    actor: &Actor,
    input: ParticipationStatusInput,
) -> AppResult<ParticipationRow> {
    set_participation(conn, actor, input, ParticipationStatus::Withdrawn)
}
