//! Rules for participation, calls for participation and reuse declarations.

use serde_json::{Value, json};

use super::projects::unique_to_exists;
use super::*;
use crate::auth::policy::{self, Op};
use crate::domain::{
    CallStatus, OrganisationKind, PartialDate, ParticipationRole, ParticipationStatus, ReuseStatus, Vocabulary,
};
use crate::store::rows::{CallRow, ParticipationRow, ReuseRow};
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
    if let Some(existing) = read::participation_by_key(conn, project.id, org.id, role.code())? {
        if existing.status != ParticipationStatus::Withdrawn.code() {
            return Err(AppError::already_exists("organisation", exists_msg));
        }
        require_home(conn, &existing.origin, "participation", "organisation")?;
        // A withdrawn participation is requested again, whatever was asked: it follows its lifecycle.
        let status = ParticipationStatus::Requested;
        if !write::reopen_participation(conn, existing.id, existing.version, note.as_deref(), since.as_deref(), &ts)? {
            return Err(AppError::conflict(existing.version + 1));
        }
        let mut diff = Diff::default();
        if since.is_some() {
            diff.set("since", existing.since.clone(), since.clone());
        }
        diff.set("status", existing.status.clone(), status.code());
        if note.is_some() {
            diff.set("note", existing.note.clone(), note.clone());
        }
        participation_change(
            conn,
            actor,
            ChangeAction::Update,
            &existing,
            format!("{} nimmt wieder an „{}“ teil ({})", org.name, project.title, role.label()),
            diff,
        )?;
        return Ok(read::participation_by_id(conn, existing.id)?.expect("exists"));
    }
    let id = write::insert_participation(
        conn,
        &write::NewParticipation {
            project_id: project.id,
            organisation_id: org.id,
            role: role.code(),
            status: status.code(),
            since: since.as_deref(),
            until: None,
            note: note.as_deref(),
            created_at: &ts,
            updated_at: &ts,
        },
    )
    .map_err(|e| unique_to_exists(e, "organisation", &exists_msg))?;
    let row = read::participation_by_id(conn, id)?.expect("just inserted");
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
    let kind = OrganisationKind::parse(&org.kind).map_err(|e| AppError::Internal(e.to_string()))?;
    if SELF_SERVICE_KINDS.contains(&kind) {
        return Ok(());
    }
    Err(AppError::bad_input(
        "organisation",
        format!(
            "organisation: only {} sign themselves up; {} is a {}",
            OrganisationKind::codes(SELF_SERVICE_KINDS),
            org.name,
            kind.code()
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
    let id = parse_id(&input.id, "id")?;
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
        let from = ParticipationStatus::parse(&row.status).map_err(|e| AppError::Internal(e.to_string()))?;
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
        if !write::set_participation_status(conn, id, row.version, to.code(), note.as_deref(), &now().to_db())? {
            let v = read::participation_by_id(conn, id)?.map(|r| r.version).unwrap_or(row.version);
            return Err(AppError::conflict(v));
        }
        let mut diff = Diff::default();
        diff.set("status", from.code(), to.code());
        if note.is_some() {
            diff.set("note", row.note.clone(), note.clone());
        }
        let org = read::organisation_by_id(conn, row.organisation_id)?.expect("foreign key").name;
        let project = project.title;
        let role = ParticipationRole::parse(&row.role).map(|r| r.label()).unwrap_or_default();
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
        Ok(read::participation_by_id(conn, id)?.expect("exists"))
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

// ---- calls ----------------------------------------------------------------------------------

pub fn open_call(conn: &mut Db, actor: &Actor, input: OpenCallInput) -> AppResult<CallRow> {
    let title = text(&input.title, "title", TITLE_MAX)?;
    let body = text(&input.body, "body", BODY_MAX)?;
    let invites_reuse = input.invites_reuse.unwrap_or(false);
    if input.roles_sought.len() > 20 {
        return Err(AppError::bad_input("rolesSought", "rolesSought: at most 20 roles"));
    }
    if input.roles_sought.is_empty() && !invites_reuse {
        return Err(AppError::bad_input("rolesSought", "rolesSought: name at least one role, or set invitesReuse"));
    }
    let mut roles: Vec<&str> = input.roles_sought.iter().map(|r| r.code()).collect();
    roles.sort_unstable();
    roles.dedup();
    let opened = input.opened_on.unwrap_or_else(PartialDate::today);
    if let Some(c) = input.closes_on
        && c.end() < opened.start()
    {
        return Err(AppError::bad_input("closesOn", "closesOn: must not be before openedOn"));
    }
    if let Some(c) = input.closes_on
        && !c.not_over(PartialDate::today().start())
    {
        return Err(AppError::bad_input("closesOn", "closesOn: lies in the past; a new call must still be open"));
    }
    write_tx(conn, |conn| {
        let project = find_project(conn, &input.project_slug, "projectSlug")?;
        policy::require(conn, actor, Op::ManageProject(&project))?;
        // Calls are the project's home's: its peers would refuse the record.
        require_home(conn, &project.origin, "project", "projectSlug")?;
        require_active(&project, "projectSlug")?;
        let issuer = find_organisation(conn, &input.issuer, "issuer")?;
        let exists = format!("title: project {:?} already has a call {title:?}", project.slug);
        let opened_s = opened.to_string();
        let closes_s = input.closes_on.map(|c| c.to_string());
        let id = write::insert_call(
            conn,
            &write::NewCall {
                project_id: project.id,
                issuer_id: issuer.id,
                title: &title,
                body: &body,
                invites_reuse,
                opened_on: &opened_s,
                closes_on: closes_s.as_deref(),
                status: CallStatus::Open.code(),
            },
            &roles,
        )
        .map_err(|e| unique_to_exists(e, "title", &exists))?;
        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Create,
                entity_type: "Call",
                entity_id: id.to_string(),
                project_id: Some(project.id),
                summary: format!("Aufruf „{title}“ zu „{}“ eröffnet", project.title),
                diff: Diff::created(&[
                    ("project", json!(project.slug)),
                    ("issuer", json!(issuer.slug)),
                    ("title", json!(title)),
                    ("body", json!(body)),
                    ("rolesSought", json!(roles)),
                    ("invitesReuse", json!(invites_reuse)),
                    ("openedOn", json!(opened_s)),
                    ("closesOn", json!(closes_s)),
                ]),
            },
        )?;
        Ok(read::call_by_id(conn, id)?.expect("just inserted"))
    })
}

/// Deletes a call (with its roles); the change log keeps what it was, and the feed publishes a
/// tombstone.
pub fn delete_call(conn: &mut Db, actor: &Actor, input: CloseCallInput) -> AppResult<i32> {
    let id = parse_id(&input.id, "id")?;
    write_tx(conn, |conn| {
        let call = read::call_by_id(conn, id)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no call with id {id}")))?;
        let project = read::project_by_id(conn, call.project_id)?.expect("foreign key");
        policy::require(conn, actor, Op::ManageProject(&project))?;
        require_home(conn, &call.origin, "call", "id")?;
        check_version(call.version, input.expected_version)?;
        crate::store::federation::delete_call(conn, id)?;
        let mut diff = Diff::default();
        diff.set("title", call.title.clone(), Value::Null);
        diff.set("status", call.status.clone(), Value::Null);
        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Delete,
                entity_type: "Call",
                entity_id: id.to_string(),
                project_id: Some(call.project_id),
                summary: format!("Aufruf „{}“ zu „{}“ gelöscht", call.title, project.title),
                diff,
            },
        )?;
        Ok(id)
    })
}

pub fn close_call(conn: &mut Db, actor: &Actor, input: CloseCallInput) -> AppResult<CallRow> {
    let id = parse_id(&input.id, "id")?;
    write_tx(conn, |conn| {
        let call = read::call_by_id(conn, id)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no call with id {id}")))?;
        let project = read::project_by_id(conn, call.project_id)?.expect("foreign key");
        policy::require(conn, actor, Op::ManageProject(&project))?;
        require_home(conn, &call.origin, "call", "id")?;
        check_version(call.version, input.expected_version)?;
        if call.status == CallStatus::Closed.code() {
            return Err(AppError::illegal_transition("id", "id: the call is closed already; allowed: none"));
        }
        if !write::close_call(conn, id, call.version)? {
            let v = read::call_by_id(conn, id)?.map(|c| c.version).unwrap_or(call.version);
            return Err(AppError::conflict(v));
        }
        let mut diff = Diff::default();
        diff.set("status", call.status.clone(), CallStatus::Closed.code());
        record(
            conn,
            actor,
            &now(),
            Change {
                action: ChangeAction::Update,
                entity_type: "Call",
                entity_id: id.to_string(),
                project_id: Some(call.project_id),
                summary: format!("Aufruf „{}“ zu „{}“ geschlossen", call.title, project.title),
                diff,
            },
        )?;
        Ok(read::call_by_id(conn, id)?.expect("exists"))
    })
}

// ---- reuse ----------------------------------------------------------------------------------

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
            let status = ReuseStatus::parse(&existing.status).map_err(|e| AppError::Internal(e.to_string()))?;
            if !status.is_closed() {
                return Err(AppError::already_exists("organisation", exists));
            }
            let changes = write::ReuseChanges {
                status: Some(ReuseStatus::Interest.code().to_owned()),
                declared_on: Some(Some(today.clone())),
                planned_live: Some(planned.clone()),
                actual_live: Some(None),
                // A note not sent again stays.
                note: note.clone().map(Some),
            };
            if !write::update_reuse(conn, existing.id, existing.version, &changes, &ts)? {
                return Err(AppError::conflict(existing.version + 1));
            }
            require_home(conn, &existing.origin, "reuse declaration", "organisation")?;
            let mut diff = Diff::default();
            diff.set("status", existing.status.clone(), ReuseStatus::Interest.code());
            diff.set("declaredOn", existing.declared_on.clone(), today);
            diff.set("plannedLive", existing.planned_live.clone(), planned);
            diff.set("actualLive", existing.actual_live.clone(), Value::Null);
            if note.is_some() {
                diff.set("note", existing.note.clone(), note);
            }
            reuse_change(
                conn,
                actor,
                ChangeAction::Update,
                &existing,
                format!("{} bekundet erneut Interesse an der Nachnutzung von „{}“", org.name, project.title),
                diff,
            )?;
            return Ok(read::reuse_by_id(conn, existing.id)?.expect("exists"));
        }
        let id = write::insert_reuse(
            conn,
            &write::NewReuse {
                project_id: project.id,
                organisation_id: org.id,
                status: ReuseStatus::Interest.code(),
                declared_on: Some(&today),
                planned_live: planned.as_deref(),
                actual_live: None,
                note: note.as_deref(),
                created_at: &ts,
                updated_at: &ts,
            },
        )
        .map_err(|e| unique_to_exists(e, "organisation", &exists))?;
        let row = read::reuse_by_id(conn, id)?.expect("just inserted");
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
    let kind = OrganisationKind::parse(&org.kind).map_err(|e| AppError::Internal(e.to_string()))?;
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
    id: i32,
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
        let from = ReuseStatus::parse(&row.status).map_err(|e| AppError::Internal(e.to_string()))?;
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
        diff.set("status", from.code(), to.code());
        let mut changes = write::ReuseChanges { status: Some(to.code().to_owned()), ..Default::default() };
        if let Some(p) = planned {
            diff.set("plannedLive", row.planned_live.clone(), p.to_string());
            changes.planned_live = Some(Some(p.to_string()));
        }
        if let Some(a) = actual {
            diff.set("actualLive", row.actual_live.clone(), a.to_string());
            changes.actual_live = Some(Some(a.to_string()));
        }
        if let Some(n) = &note {
            diff.set("note", row.note.clone(), n.clone());
            changes.note = Some(Some(n.clone()));
        }
        if !write::update_reuse(conn, id, row.version, &changes, &now().to_db())? {
            let v = read::reuse_by_id(conn, id)?.map(|r| r.version).unwrap_or(row.version);
            return Err(AppError::conflict(v));
        }
        let (project, org) = (project.title, org.name);
        reuse_change(
            conn,
            actor,
            ChangeAction::Update,
            &row,
            format!("Nachnutzung von „{project}“ durch {org}: {} → {}", from.label(), to.label()),
            diff,
        )?;
        Ok(read::reuse_by_id(conn, id)?.expect("exists"))
    })
}

pub fn advance_reuse(conn: &mut Db, actor: &Actor, input: AdvanceReuseInput) -> AppResult<ReuseRow> {
    let id = parse_id(&input.id, "id")?;
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
    let id = parse_id(&input.id, "id")?;
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
