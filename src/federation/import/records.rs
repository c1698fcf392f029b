//! Writing admitted entries: each kind of record put in place, or deleted by a tombstone, with
//! its change-log entry.

use super::*;
use crate::domain::{OrganisationId, ProjectId, RecordId};

pub(super) enum Outcome {
    Done(i32),
    Deferred,
    Conflict,
}

pub(super) fn change(
    action: ChangeAction,
    kind: &'static str,
    id: String,
    project: Option<ProjectId>,
    summary: String,
    diff: Diff,
) -> Change<'static> {
    Change { action, entity_type: kind, entity_id: id, project_id: project, summary, diff }
}

pub(super) fn put_project(
    conn: &mut Db,
    actor: &Actor,
    at: &Timestamp,
    peer: &PeerRow,
    e: &Entry,
    existing: Option<&FederatedRow>,
) -> AppResult<Outcome> {
    let r: ProjectRecord = parse(e)?;
    let title = service::text(&r.title, "title", 300).map_err(bad)?;
    let home_slug = crate::domain::Slug::parse(&r.slug).map_err(bad)?;
    let slug = replicated_slug(&peer.instance_id, home_slug.as_str(), &e.id);
    let lead = match &r.lead_land {
        Some(code) if store::known_land(conn, code)? => Some(code.clone()),
        _ => None,
    };
    let summary = opt(&r.summary, "summary", 5000)?;
    let status_note = opt(&r.status_note, "statusNote", 2000)?;
    let project = store::ReplicatedProject {
        slug: &slug,
        title: &title,
        summary: summary.as_deref(),
        lead_land_code: lead.as_deref(),
        delivery_model: vocab::<DeliveryModel>(&r.delivery_model)?,
        phase: vocab::<Phase>(&r.phase)?,
        phase_before_hold: r.phase_before_hold.as_deref().map(vocab::<Phase>).transpose()?,
        status_note: status_note.as_deref(),
        origin: &peer.instance_id,
    };
    let current = match existing {
        Some(x) => Some(ProjectId::from(x.local_id)),
        None => {
            if read::project_by_slug(conn, &slug)?.is_some() {
                return Ok(Outcome::Conflict);
            }
            None
        }
    };
    let id = store::put_project(conn, current, &project, &at.to_db())?;
    store::clear_project_parts(conn, id)?;
    let known = store::known_ozg_ids(conn, &r.ozg_ids)?;
    for (i, ozg) in r.ozg_ids.iter().filter(|o| known.contains(o)).enumerate() {
        write::insert_project_service(conn, id, ozg, i as i32 + 1, None)?;
    }
    for s in r.steps.iter().take(200) {
        let t = service::text(&s.title, "steps.title", 300).map_err(bad)?;
        let d = opt(&s.description, "steps.description", 2000)?;
        let step = write::NewStep {
            project_id: id,
            position: s.position,
            title: &t,
            description: d.as_deref(),
            status: vocab::<StepStatus>(&s.status)?,
        };
        write::insert_step(conn, &step)?;
    }
    for m in r.milestones.iter().take(200) {
        let t = service::text(&m.title, "milestones.title", 300).map_err(bad)?;
        let (planned, actual, note) =
            (opt(&m.planned, "planned", 40)?, opt(&m.actual, "actual", 40)?, opt(&m.note, "note", 2000)?);
        let phase = m.phase.as_deref().map(vocab::<Phase>).transpose()?;
        let ms = write::NewMilestone {
            project_id: id,
            title: &t,
            phase,
            planned: planned.as_deref(),
            actual: actual.as_deref(),
            note: note.as_deref(),
        };
        write::insert_milestone(conn, &ms)?;
    }
    let diff = Diff::created(&[("title", title.clone().into()), ("phase", r.phase.clone().into())]);
    let summary = format!("Übernommen von {}: Projekt {title}", peer.instance_id);
    service::record(conn, actor, at, change(ChangeAction::Import, "Project", slug, Some(id), summary, diff))?;
    Ok(Outcome::Done(id.get()))
}

/// The local slug of a replicated project: the origin and the home slug, `a-test--einbuergerung`
/// (slugs hold a-z, 0-9 and '-', at most 80).
pub(super) fn replicated_slug(origin: &str, slug: &str, gid: &str) -> String {
    let s = format!("{}--{slug}", origin.replace('.', "-"));
    if s.len() <= 80 {
        return s;
    }
    let digest: String = Sha256::digest(gid.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{digest}", s[..71].trim_end_matches('-'))
}

/// The local project a record refers to by global id: one homed here, or a replicated one.
pub(super) fn project_of(conn: &mut Db, me: &str, gid: &str) -> AppResult<Option<ProjectId>> {
    if origin_of(gid) == Some(me) {
        let slug = gid.rsplit('/').next().unwrap_or_default();
        return Ok(read::project_by_slug(conn, slug)?.filter(|p| p.origin.is_none()).map(|p| p.id));
    }
    Ok(store::federated(conn, gid)?.filter(|f| f.entity_type == "Project").map(|f| ProjectId::from(f.local_id)))
}

/// The local organisation a record refers to, if there is one: by AGS, else by slug.
pub(super) fn find_organisation(conn: &mut Db, o: &OrgRef) -> AppResult<Option<OrganisationRow>> {
    if let Some(ags) = &o.ags {
        crate::domain::Ags::parse(ags).map_err(bad)?;
        if let Some(found) = read::organisation_by_ags(conn, ags)? {
            return Ok(Some(found));
        }
    }
    let slug = crate::domain::Slug::parse(&o.slug).map_err(bad)?;
    Ok(read::organisation_by_slug(conn, slug.as_str())?)
}

/// The local organisation a record refers to; unknown ones are kept as replicated organisations
/// of the peer (with their change-log entry).
pub(super) fn organisation_of(
    conn: &mut Db,
    actor: &Actor,
    at: &Timestamp,
    peer: &PeerRow,
    o: &OrgRef,
) -> AppResult<OrganisationId> {
    if let Some(found) = find_organisation(conn, o)? {
        return Ok(found.id);
    }
    let slug = crate::domain::Slug::parse(&o.slug).map_err(bad)?;
    let name = service::text(&o.name, "organisation.name", 300).map_err(bad)?;
    let land = match &o.land {
        Some(code) if store::known_land(conn, code)? => Some(code.as_str()),
        _ => None,
    };
    let org = store::ReplicatedOrganisation {
        slug: slug.as_str(),
        name: &name,
        kind: vocab::<OrganisationKind>(&o.kind)?,
        land_code: land,
        ags: o.ags.as_deref(),
        origin: &peer.instance_id,
    };
    let id = store::insert_replicated_organisation(conn, &org, &at.to_db())?;
    let summary = format!("Übernommen von {}: Organisation {name}", peer.instance_id);
    let diff = Diff::created(&[("name", name.clone().into()), ("kind", org.kind.into())]);
    let c = change(ChangeAction::Import, "Organisation", slug.as_str().to_owned(), None, summary, diff);
    service::record(conn, actor, at, c)?;
    Ok(id)
}

pub(super) fn put_participation(
    conn: &mut Db,
    actor: &Actor,
    at: &Timestamp,
    peer: &PeerRow,
    me: &str,
    e: &Entry,
    existing: Option<&FederatedRow>,
) -> AppResult<Outcome> {
    let r: ParticipationRecord = parse(e)?;
    let role = vocab::<ParticipationRole>(&r.role)?;
    let status = vocab::<ParticipationStatus>(&r.status)?;
    let Some(project) = project_of(conn, me, &r.project)? else { return Ok(Outcome::Deferred) };
    let org = organisation_of(conn, actor, at, peer, &r.organisation)?;
    if existing.is_none() && read::participation_by_key(conn, project, org, role)?.is_some() {
        return Ok(Outcome::Conflict);
    }
    let (since, until, note) = (opt(&r.since, "since", 40)?, opt(&r.until, "until", 40)?, opt(&r.note, "note", 2000)?);
    let p = store::ReplicatedParticipation {
        project_id: project,
        organisation_id: org,
        role,
        status,
        since: since.as_deref(),
        until: until.as_deref(),
        note: note.as_deref(),
        origin: &peer.instance_id,
    };
    let id = store::put_participation(conn, existing.map(|x| x.local_id), &p, &at.to_db())?;
    let summary =
        format!("Übernommen von {}: Beteiligung {} ({role}, {status})", peer.instance_id, r.organisation.name);
    let diff = Diff::created(&[("role", role.into()), ("status", status.into())]);
    service::record(
        conn,
        actor,
        at,
        change(ChangeAction::Import, "Participation", id.to_string(), Some(project), summary, diff),
    )?;
    Ok(Outcome::Done(id))
}

pub(super) fn put_reuse(
    conn: &mut Db,
    actor: &Actor,
    at: &Timestamp,
    peer: &PeerRow,
    me: &str,
    e: &Entry,
    existing: Option<&FederatedRow>,
) -> AppResult<Outcome> {
    let r: ReuseRecord = parse(e)?;
    let status = vocab::<ReuseStatus>(&r.status)?;
    let Some(project) = project_of(conn, me, &r.project)? else { return Ok(Outcome::Deferred) };
    let org = organisation_of(conn, actor, at, peer, &r.organisation)?;
    if existing.is_none() && read::reuse_by_key(conn, project, org)?.is_some() {
        return Ok(Outcome::Conflict);
    }
    let (declared, planned, actual, note) = (
        opt(&r.declared_on, "declaredOn", 40)?,
        opt(&r.planned_live, "plannedLive", 40)?,
        opt(&r.actual_live, "actualLive", 40)?,
        opt(&r.note, "note", 2000)?,
    );
    let x = store::ReplicatedReuse {
        project_id: project,
        organisation_id: org,
        status,
        declared_on: declared.as_deref(),
        planned_live: planned.as_deref(),
        actual_live: actual.as_deref(),
        note: note.as_deref(),
        origin: &peer.instance_id,
    };
    let id = store::put_reuse(conn, existing.map(|x| x.local_id), &x, &at.to_db())?;
    let summary = format!("Übernommen von {}: Nachnutzung durch {} ({status})", peer.instance_id, r.organisation.name);
    let diff = Diff::created(&[("status", status.into())]);
    service::record(
        conn,
        actor,
        at,
        change(ChangeAction::Import, "ReuseDeclaration", id.to_string(), Some(project), summary, diff),
    )?;
    Ok(Outcome::Done(id))
}

pub(super) fn put_call(
    conn: &mut Db,
    actor: &Actor,
    at: &Timestamp,
    peer: &PeerRow,
    me: &str,
    e: &Entry,
    existing: Option<&FederatedRow>,
) -> AppResult<Outcome> {
    let r: CallRecord = parse(e)?;
    let status = vocab::<CallStatus>(&r.status)?;
    let roles = r.roles.iter().take(20).map(|x| vocab::<ParticipationRole>(x)).collect::<AppResult<Vec<_>>>()?;
    let Some(project) = project_of(conn, me, &r.project)? else { return Ok(Outcome::Deferred) };
    let issuer = organisation_of(conn, actor, at, peer, &r.issuer)?;
    let title = service::text(&r.title, "title", 300).map_err(bad)?;
    let body = service::text(&r.body, "body", 20_000).map_err(bad)?;
    if existing.is_none() && read::calls_by_projects(conn, &[project])?.iter().any(|c| c.title == title) {
        return Ok(Outcome::Conflict);
    }
    let (opened, closes) =
        (service::text(&r.opened_on, "openedOn", 40).map_err(bad)?, opt(&r.closes_on, "closesOn", 40)?);
    let c = store::ReplicatedCall {
        project_id: project,
        issuer_id: issuer,
        title: &title,
        body: &body,
        invites_reuse: r.invites_reuse,
        opened_on: &opened,
        closes_on: closes.as_deref(),
        status,
        origin: &peer.instance_id,
    };
    let id = store::put_call(conn, existing.map(|x| x.local_id), &c, &roles)?;
    let summary = format!("Übernommen von {}: Aufruf {title} ({status})", peer.instance_id);
    let diff = Diff::created(&[("title", title.clone().into()), ("status", status.into())]);
    service::record(
        conn,
        actor,
        at,
        change(ChangeAction::Import, "Call", id.to_string(), Some(project), summary, diff),
    )?;
    Ok(Outcome::Done(id))
}

/// A tombstone: the replicated record goes. Projects, which the change log refers to, are marked
/// orphaned instead of deleted.
pub(super) fn delete(conn: &mut Db, actor: &Actor, at: &Timestamp, x: &FederatedRow) -> AppResult<()> {
    let project = match x.entity_type.as_str() {
        "Participation" => read::participation_by_id(conn, x.local_id.into())?.map(|p| p.project_id),
        "ReuseDeclaration" => read::reuse_by_id(conn, x.local_id.into())?.map(|p| p.project_id),
        "Call" => read::call_by_id(conn, x.local_id.into())?.map(|p| p.project_id),
        _ => Some(ProjectId::from(x.local_id)),
    };
    match x.entity_type.as_str() {
        "Participation" => store::delete_participation(conn, x.local_id.into()).map(drop)?,
        "ReuseDeclaration" => store::delete_reuse(conn, x.local_id.into()).map(drop)?,
        "Call" => store::delete_call(conn, x.local_id.into()).map(drop)?,
        _ => {
            store::set_orphaned(conn, std::slice::from_ref(&x.global_id), Some(&at.to_db()))?;
            return Ok(());
        }
    }
    store::delete_federated(conn, &x.global_id)?;
    let kind: &'static str = match x.entity_type.as_str() {
        "Participation" => "Participation",
        "ReuseDeclaration" => "ReuseDeclaration",
        _ => "Call",
    };
    let summary = format!("Gelöscht bei {}: {}", x.origin, x.global_id);
    service::record(
        conn,
        actor,
        at,
        change(ChangeAction::Delete, kind, x.local_id.to_string(), project, summary, Diff::default()),
    )
}
