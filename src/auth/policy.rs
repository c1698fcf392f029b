//! Who may do what: the one place where write rules live. Every service operation states what it
//! is about to do (`Op`) and calls `require` inside its transaction, after loading its target.
//!
//! | operation | anonymous | municipality | coordinator | admin |
//! |---|---|---|---|---|
//! | `CreateProject` | – | – | lead Land or a service's topic field in scope | yes |
//! | `ManageProject` | – | – | project in scope | yes |
//! | `ActForOrganisation` | – | its own organisation or its offices | project in scope | yes |
//! | `DecideReuse` | – | – | project in scope | yes |
//! | `ManageOrganisation` | – | its own organisation or its offices | its own organisation | yes |
//! | `ManageRegistry` | – | – | – | yes |
//! | `ManageNewsletter` | – | – | the newsletter's topic field in scope | yes |

use super::{Actor, Role};
use crate::error::{AppError, AppResult, ErrorCode};
use crate::store::rows::{OrganisationRow, ProjectRow};
use crate::store::{Db, auth as store};

/// What a write is about to do.
pub enum Op<'a> {
    /// Create a project led by `lead_land` for services in `topic_fields`.
    CreateProject { lead_land: Option<&'a str>, topic_fields: &'a [String] },
    /// Change a project, its phase, milestones, calls, participations or contacts.
    ManageProject(&'a ProjectRow),
    /// Sign an organisation up, declare, advance or withdraw its reuse, withdraw its participation.
    ActForOrganisation { project: &'a ProjectRow, organisation: &'a OrganisationRow },
    /// Agree to or decline a reuse declaration: the providing side's decision.
    DecideReuse(&'a ProjectRow),
    /// Change an organisation's own records (contact persons).
    ManageOrganisation(&'a OrganisationRow),
    /// Register organisations: the registry's own master data.
    ManageRegistry,
    /// Define a newsletter of a topic field and publish its editions.
    ManageNewsletter { topic_field: &'a str },
}

impl Op<'_> {
    fn describe(&self) -> String {
        match self {
            Op::CreateProject { .. } => "create this project".into(),
            Op::ManageProject(p) | Op::DecideReuse(p) => format!("change project {:?}", p.slug),
            Op::ActForOrganisation { project, organisation } => {
                format!("act for {} in project {:?}", organisation.name, project.slug)
            }
            Op::ManageOrganisation(o) => format!("change the records of {}", o.name),
            Op::ManageRegistry => "change the registry's organisations".into(),
            Op::ManageNewsletter { topic_field } => format!("publish the newsletter of {topic_field}"),
        }
    }
}

fn forbidden(actor: &Actor, op: &Op, why: &str) -> AppError {
    AppError::user(ErrorCode::Forbidden, None, format!("a {} may not {}: {why}", actor.role, op.describe()))
}

fn project_in_scope(conn: &mut Db, actor: &Actor, p: &ProjectRow) -> AppResult<bool> {
    let s = &actor.scope;
    if s.projects.contains(&p.slug) || p.lead_land_code.as_ref().is_some_and(|l| s.lands.contains(l)) {
        return Ok(true);
    }
    if s.topic_fields.is_empty() {
        return Ok(false);
    }
    let topics = store::project_topic_fields(conn, p.id)?;
    Ok(topics.iter().any(|t| s.topic_fields.contains(t)))
}

fn own_organisation(actor: &Actor, o: &OrganisationRow) -> bool {
    actor.organisation_id.is_some() && (actor.organisation_id == Some(o.id) || actor.organisation_id == o.parent_id)
}

/// The writes anyone may make: a newsletter subscription, its confirmation and its end (the
/// token in the link is the proof).
const ANONYMOUS_WRITES: &[&str] = &["subscribeNewsletter", "confirmNewsletterSubscription", "unsubscribeNewsletter"];

/// Authentication comes first: an anonymous caller of any other write is refused before its
/// input is looked at, so it learns nothing about what the input would have needed.
pub fn require_authenticated(actor: &Actor, operation: &str) -> AppResult<()> {
    if actor.role == Role::Anonymous && !ANONYMOUS_WRITES.contains(&operation) {
        return Err(unauthenticated());
    }
    Ok(())
}

fn unauthenticated() -> AppError {
    AppError::user(ErrorCode::Unauthenticated, None, "writes need a token: send Authorization: Bearer <token>")
}

/// Allows the operation or explains why not (UNAUTHENTICATED for anonymous writers, else FORBIDDEN).
pub fn require(conn: &mut Db, actor: &Actor, op: Op) -> AppResult<()> {
    match actor.role {
        Role::System | Role::Admin => return Ok(()),
        Role::Anonymous => return Err(unauthenticated()),
        Role::Municipality | Role::Coordinator => {}
    }
    let coordinator = actor.role == Role::Coordinator;
    let allowed = match &op {
        Op::CreateProject { lead_land, topic_fields } => {
            coordinator
                && (lead_land.is_some_and(|l| actor.scope.lands.iter().any(|x| x == l))
                    || topic_fields.iter().any(|t| actor.scope.topic_fields.contains(t)))
        }
        Op::ManageProject(p) | Op::DecideReuse(p) => coordinator && project_in_scope(conn, actor, p)?,
        Op::ActForOrganisation { project, organisation } => {
            if coordinator {
                project_in_scope(conn, actor, project)?
            } else {
                own_organisation(actor, organisation)
            }
        }
        Op::ManageOrganisation(o) => {
            if coordinator {
                actor.organisation_id == Some(o.id)
            } else {
                own_organisation(actor, o)
            }
        }
        Op::ManageNewsletter { topic_field } => {
            coordinator && actor.scope.topic_fields.iter().any(|t| t == topic_field)
        }
        Op::ManageRegistry => false,
    };
    if allowed {
        return Ok(());
    }
    let why = match (&op, coordinator) {
        (Op::ActForOrganisation { .. } | Op::ManageOrganisation(_), false) => "not its own organisation",
        (Op::ManageRegistry, _) => "reserved for admins",
        (_, true) => "outside the coordinator's scope",
        (_, false) => "reserved for coordinators",
    };
    Err(forbidden(actor, &op, why))
}
