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

/// Whether a project is in a coordinator's scope: named by slug, led by a Land in scope, or one of
/// its OZG-Leistungen in a topic field in scope (`topics`: the project's topic fields).
fn project_in_scope(actor: &Actor, p: &ProjectRow, topics: &[String]) -> bool {
    let s = &actor.scope;
    s.projects.contains(&p.slug)
        || p.lead_land_code.as_ref().is_some_and(|l| s.lands.contains(l))
        || topics.iter().any(|t| s.topic_fields.contains(t))
}

/// The project whose topic fields `decide` may need for a coordinator (none when its slug or Land
/// already decides, or the scope names no topic field).
fn project_needing_topics<'a>(actor: &Actor, op: &Op<'a>) -> Option<&'a ProjectRow> {
    let p = match op {
        Op::ManageProject(p) | Op::DecideReuse(p) | Op::ActForOrganisation { project: p, .. } => *p,
        _ => return None,
    };
    let needed =
        actor.role == Role::Coordinator && !actor.scope.topic_fields.is_empty() && !project_in_scope(actor, p, &[]);
    needed.then_some(p)
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

/// Allows the operation or explains why not (UNAUTHENTICATED for anonymous writers, else FORBIDDEN):
/// looks up what the rules need (a project's topic fields) and asks [`decide`].
pub fn require(conn: &mut Db, actor: &Actor, op: Op) -> AppResult<()> {
    let topics = match project_needing_topics(actor, &op) {
        Some(p) => store::project_topic_fields(conn, p.id)?,
        None => Vec::new(),
    };
    decide(actor, &op, &topics)
}

/// The rules table as a pure function: whether `actor` may do `op`, given the topic fields of the
/// project concerned (`project_topics`; only read for a coordinator whose scope names topic fields).
pub fn decide(actor: &Actor, op: &Op, project_topics: &[String]) -> AppResult<()> {
    match actor.role {
        Role::System | Role::Admin => return Ok(()),
        Role::Anonymous => return Err(unauthenticated()),
        Role::Municipality | Role::Coordinator => {}
    }
    let coordinator = actor.role == Role::Coordinator;
    let allowed = match op {
        Op::CreateProject { lead_land, topic_fields } => {
            coordinator
                && (lead_land.is_some_and(|l| actor.scope.lands.iter().any(|x| x == l))
                    || topic_fields.iter().any(|t| actor.scope.topic_fields.contains(t)))
        }
        Op::ManageProject(p) | Op::DecideReuse(p) => coordinator && project_in_scope(actor, p, project_topics),
        Op::ActForOrganisation { project, organisation } => {
            if coordinator {
                project_in_scope(actor, project, project_topics)
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
    let why = match (op, coordinator) {
        (Op::ActForOrganisation { .. } | Op::ManageOrganisation(_), false) => "not its own organisation",
        (Op::ManageRegistry, _) => "reserved for admins",
        (_, true) => "outside the coordinator's scope",
        (_, false) => "reserved for coordinators",
    };
    Err(forbidden(actor, op, why))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::Scope;
    use crate::domain::{DeliveryModel, OrganisationKind, Phase, ProjectId, Timestamp};

    fn project(slug: &str, land: Option<&str>) -> ProjectRow {
        ProjectRow {
            id: ProjectId::from(1),
            slug: slug.into(),
            title: "T".into(),
            summary: None,
            lead_land_code: land.map(Into::into),
            delivery_model: DeliveryModel::EfaDevelopedHere,
            phase: Phase::Preparation,
            phase_before_hold: None,
            status_note: None,
            version: 1,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            origin: None,
        }
    }

    fn org(id: i32, parent: Option<i32>) -> OrganisationRow {
        OrganisationRow {
            id: id.into(),
            slug: format!("o{id}"),
            name: format!("Organisation {id}"),
            short_name: None,
            kind: OrganisationKind::Municipality,
            land_code: None,
            ags: None,
            ars: None,
            district_key: None,
            parent_id: parent.map(Into::into),
            note: None,
            version: 1,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            origin: None,
        }
    }

    fn actor(role: Role, org: Option<i32>, topics: &[&str], lands: &[&str], projects: &[&str]) -> Actor {
        Actor {
            subject: "t".into(),
            role,
            organisation_id: org.map(Into::into),
            scope: Scope {
                topic_fields: topics.iter().map(|s| (*s).into()).collect(),
                lands: lands.iter().map(|s| (*s).into()).collect(),
                projects: projects.iter().map(|s| (*s).into()).collect(),
            },
            issuer: None,
        }
    }

    fn code(r: AppResult<()>) -> &'static str {
        match r {
            Ok(()) => "ok",
            Err(e) => e.code().as_str(),
        }
    }

    /// The README's table, row by row, as a pure function of actor, operation and topics.
    #[test]
    fn the_rules_table() {
        let nrw = project("einbuergerung", Some("DE-NW"));
        let bb = project("aufenthaltstitel-bb", Some("DE-BB"));
        let (koeln, office, solingen) = (org(10, None), org(11, Some(10)), org(20, None));
        let ea = vec!["ein_auswanderung".to_owned()];
        let anon = Actor::anonymous();
        let admin = actor(Role::Admin, None, &[], &[], &[]);
        let kommune = actor(Role::Municipality, Some(10), &[], &[], &[]);
        let by_topic = actor(Role::Coordinator, Some(30), &["ein_auswanderung"], &[], &[]);
        let by_land = actor(Role::Coordinator, Some(30), &[], &["DE-NW"], &[]);
        let by_slug = actor(Role::Coordinator, Some(30), &[], &[], &["aufenthaltstitel-bb"]);
        let manage = |p| Op::ManageProject(p);
        // Anonymous: never; admin: always.
        assert_eq!(code(decide(&anon, &manage(&nrw), &ea)), "UNAUTHENTICATED");
        assert_eq!(code(decide(&admin, &Op::ManageRegistry, &[])), "ok");
        // Managing a project: coordinators in scope by topic field, Land or slug.
        assert_eq!(code(decide(&by_topic, &manage(&nrw), &ea)), "ok");
        assert_eq!(code(decide(&by_topic, &manage(&nrw), &[])), "FORBIDDEN");
        assert_eq!(code(decide(&by_land, &manage(&nrw), &[])), "ok");
        assert_eq!(code(decide(&by_land, &manage(&bb), &ea)), "FORBIDDEN");
        assert_eq!(code(decide(&by_slug, &manage(&bb), &[])), "ok");
        assert_eq!(code(decide(&kommune, &manage(&nrw), &ea)), "FORBIDDEN");
        // Acting for an organisation: a Kommune for itself and its offices only.
        let act = |o| Op::ActForOrganisation { project: &nrw, organisation: o };
        assert_eq!(code(decide(&kommune, &act(&koeln), &[])), "ok");
        assert_eq!(code(decide(&kommune, &act(&office), &[])), "ok");
        assert_eq!(code(decide(&kommune, &act(&solingen), &[])), "FORBIDDEN");
        assert_eq!(code(decide(&by_land, &act(&solingen), &[])), "ok");
        // Creating: a coordinator whose Land leads or whose topic field a service is in.
        let create = |land, topics: &'static [String]| Op::CreateProject { lead_land: land, topic_fields: topics };
        assert_eq!(code(decide(&by_land, &create(Some("DE-NW"), &[]), &[])), "ok");
        assert_eq!(code(decide(&by_land, &create(Some("DE-BB"), &[]), &[])), "FORBIDDEN");
        assert_eq!(code(decide(&kommune, &create(Some("DE-NW"), &[]), &[])), "FORBIDDEN");
        // Organisations' own records, newsletters, the registry.
        assert_eq!(code(decide(&kommune, &Op::ManageOrganisation(&office), &[])), "ok");
        assert_eq!(code(decide(&by_topic, &Op::ManageOrganisation(&koeln), &[])), "FORBIDDEN");
        let news = |t| Op::ManageNewsletter { topic_field: t };
        assert_eq!(code(decide(&by_topic, &news("ein_auswanderung"), &[])), "ok");
        assert_eq!(code(decide(&by_topic, &news("gesundheit"), &[])), "FORBIDDEN");
        assert_eq!(code(decide(&by_topic, &Op::ManageRegistry, &[])), "FORBIDDEN");
        // Topic fields are looked up only when they can decide.
        assert!(project_needing_topics(&by_topic, &manage(&nrw)).is_some());
        assert!(project_needing_topics(&by_land, &manage(&nrw)).is_none());
        assert!(project_needing_topics(&kommune, &manage(&nrw)).is_none());
    }
}
