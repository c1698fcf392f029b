//! Calls for participation: opening, closing and deleting them.

use serde_json::{Value, json};

use super::projects::unique_to_exists;
use super::*;
use crate::auth::policy::{self, Op};
use crate::domain::RecordId;
use crate::domain::{CallStatus, PartialDate, ParticipationRole, Vocabulary};
use crate::store::rows::CallRow;
use crate::store::{write, write_tx};
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
    let mut roles: Vec<ParticipationRole> = input.roles_sought.clone();
    roles.sort_unstable_by_key(|r| r.code());
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
        let call = write::insert_call(
            conn,
            &write::NewCall {
                project_id: project.id,
                issuer_id: issuer.id,
                title: &title,
                body: &body,
                invites_reuse,
                opened_on: &opened_s,
                closes_on: closes_s.as_deref(),
                status: CallStatus::Open,
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
                entity_id: call.id.to_string(),
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
        Ok(call)
    })
}

/// Deletes a call (with its roles); the change log keeps what it was, and the feed publishes a
/// tombstone.
pub fn delete_call(conn: &mut Db, actor: &Actor, input: CloseCallInput) -> AppResult<i32> {
    let id = input.id;
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
        diff.set("status", call.status, Value::Null);
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
        Ok(id.get())
    })
}

pub fn close_call(conn: &mut Db, actor: &Actor, input: CloseCallInput) -> AppResult<CallRow> {
    let id = input.id;
    write_tx(conn, |conn| {
        let call = read::call_by_id(conn, id)?
            .ok_or_else(|| AppError::not_found("id", format!("id: no call with id {id}")))?;
        let project = read::project_by_id(conn, call.project_id)?.expect("foreign key");
        policy::require(conn, actor, Op::ManageProject(&project))?;
        require_home(conn, &call.origin, "call", "id")?;
        check_version(call.version, input.expected_version)?;
        if call.status == CallStatus::Closed {
            return Err(AppError::illegal_transition("id", "id: the call is closed already; allowed: none"));
        }
        let Some(closed) = write::close_call(conn, id, call.version)? else {
            let v = read::call_by_id(conn, id)?.map(|c| c.version).unwrap_or(call.version);
            return Err(AppError::conflict(v));
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
                entity_id: id.to_string(),
                project_id: Some(call.project_id),
                summary: format!("Aufruf „{}“ zu „{}“ geschlossen", call.title, project.title),
                diff,
            },
        )?;
        Ok(closed)
    })
}
