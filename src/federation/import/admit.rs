//! Admission: the rules every entry of a peer's page must pass before anything is written (no
//! peer may touch a record homed here).

use super::*;

/// Admits one verified entry of `peer`'s page, or refuses it; writes nothing. `earlier` holds the
/// global ids and types of the entries before it in the page. The rules:
/// 1. an entry creates or changes only records homed at the peer that signed it: its global id
///    names the peer as origin, and a record held under that id is the peer's replica (never a
///    record homed here or at a third registry);
/// 2. its entity type is the one of the record held under that id (and the one its id names);
/// 3. a participation or reuse declaration for a project the peer is not home of (one homed
///    here, or at a third registry) is an organisation's own act: the organisation is the peer's
///    (or one of the official reference organisations every registry loads; not one registered
///    here or replicated from elsewhere), and the act is one it could do here itself: a
///    self-service role, a status it sets itself (not CONFIRMED, AGREED or DECLINED, which are the
///    project's home's), by the kinds of organisation allowed to;
/// 4. a call is opened by its project's home only.
pub fn admit(
    conn: &mut Db,
    peer: &PeerRow,
    me: &str,
    e: &Entry,
    earlier: &HashMap<String, String>,
) -> Result<(), Refusal> {
    let home = peer.instance_id.as_str();
    let Some(segment) = id_segment(&e.kind) else {
        return Err(malformed(format!("entry {} has an unknown type {:?}", e.cursor, e.kind)));
    };
    let op_ok = (e.op == "upsert" && e.record.is_some()) || (e.op == "delete" && e.record.is_none());
    if !op_ok {
        return Err(malformed(format!("entry {} has an unknown operation {:?}", e.cursor, e.op)));
    }
    // Rule 1: homed at the peer that signed it.
    if e.iss != home {
        return Err(refuse(e, format!("it is signed for {:?}, not by {home}", e.iss)));
    }
    let mut parts = e.id.splitn(3, '/');
    let (origin, kind, key) = (parts.next().unwrap_or_default(), parts.next(), parts.next().unwrap_or_default());
    if origin != home {
        let at = if origin == me { "here".to_owned() } else { format!("at {origin:?}") };
        return Err(refuse(e, format!("the record is homed {at}, and {home} may change only its own records")));
    }
    // Rule 2: one entity type per global id.
    if kind != Some(segment) || key.is_empty() {
        return Err(refuse(e, format!("its global id does not name a {segment} (…/{segment}/<key>)")));
    }
    if let Some(k) = earlier.get(&e.id)
        && k != &e.kind
    {
        return Err(refuse(e, format!("the same page sends this global id as a {k}")));
    }
    if let Some(x) = store::federated(conn, &e.id)? {
        if x.origin != home {
            return Err(refuse(e, format!("the id is held here as a record of {}", x.origin)));
        }
        if x.entity_type != e.kind {
            return Err(refuse(e, format!("the id is held here as a {}, not a {}", x.entity_type, e.kind)));
        }
        match store::local_origin(conn, &x.entity_type, x.local_id)? {
            None => {}
            Some(Some(o)) if o == home => {}
            Some(None) => return Err(refuse(e, "the record held under this id is homed here")),
            Some(Some(o)) => return Err(refuse(e, format!("the record held under this id is homed at {o}"))),
        }
    }
    if let Some(t) = store::tombstone(conn, &e.id)?
        && (t.origin != home || t.entity_type != e.kind)
    {
        return Err(refuse(e, format!("the id was deleted as a {} of {}", t.entity_type, t.origin)));
    }
    if e.op == "delete" {
        return Ok(());
    }
    let malformed_entry = |x: AppError| malformed(format!("entry {}: {x}", e.cursor));
    match e.kind.as_str() {
        "Project" => {
            let r: ProjectRecord = parse(e).map_err(malformed_entry)?;
            if r.slug != key {
                return Err(refuse(e, format!("its slug {:?} is not the one its global id names", r.slug)));
            }
        }
        "Participation" => {
            let r: ParticipationRecord = parse(e).map_err(malformed_entry)?;
            let role = ParticipationRole::parse(&r.role).map_err(|x| malformed_entry(bad(x)))?;
            let status = ParticipationStatus::parse(&r.status).map_err(|x| malformed_entry(bad(x)))?;
            admit_act(conn, peer, me, e, &r.project, &r.organisation, Act::Participation(role, status))?;
        }
        "ReuseDeclaration" => {
            let r: ReuseRecord = parse(e).map_err(malformed_entry)?;
            let status = ReuseStatus::parse(&r.status).map_err(|x| malformed_entry(bad(x)))?;
            admit_act(conn, peer, me, e, &r.project, &r.organisation, Act::Reuse(status))?;
        }
        _ => {
            let r: CallRecord = parse(e).map_err(malformed_entry)?;
            if origin_of(&r.project) != Some(home) {
                return Err(refuse(
                    e,
                    format!("calls are opened by their project's home, and {} is not {home}'s", r.project),
                ));
            }
        }
    }
    Ok(())
}

/// What an organisation does in a peer's participation or reuse declaration.
enum Act {
    Participation(ParticipationRole, ParticipationStatus),
    Reuse(ReuseStatus),
}

/// Rule 3: a participation or reuse declaration for a project the peer is not home of.
fn admit_act(
    conn: &mut Db,
    peer: &PeerRow,
    me: &str,
    e: &Entry,
    project_gid: &str,
    o: &OrgRef,
    act: Act,
) -> Result<(), Refusal> {
    let home = peer.instance_id.as_str();
    if origin_of(project_gid) == Some(home) {
        // The peer's own project: the peer's rules decided.
        return Ok(());
    }
    let project = match project_of(conn, me, project_gid)? {
        Some(id) => read::project_by_id(conn, id)?,
        None => None,
    };
    // A project not held here is deferred: nothing is written for it.
    let Some(project) = project else { return Ok(()) };
    let project_home = project.origin.clone().map_or_else(|| "here".to_owned(), |o| format!("at {o}"));
    let org = match find_organisation(conn, o).map_err(|x| malformed(format!("entry {}: {x}", e.cursor)))? {
        Some(org) => {
            match &org.origin {
                Some(at) if at == home => {}
                Some(at) => {
                    return Err(refuse(e, format!("{} is homed at {at}; {home} speaks only for its own", org.name)));
                }
                None if store::organisation_registered_here(conn, &org.slug)? => {
                    return Err(refuse(
                        e,
                        format!("{} is registered here and acts here, not through {home}", org.name),
                    ));
                }
                None => {}
            }
            org
        }
        // New here: it will be kept as an organisation of the peer.
        None => OrganisationRow {
            id: crate::domain::OrganisationId::from(0),
            slug: o.slug.clone(),
            name: o.name.clone(),
            short_name: None,
            kind: OrganisationKind::parse(&o.kind).map_err(|x| malformed(format!("entry {}: {x}", e.cursor)))?,
            land_code: o.land.clone(),
            ags: o.ags.clone(),
            ars: None,
            district_key: None,
            parent_id: None,
            note: None,
            version: 1,
            created_at: Timestamp::now(),
            updated_at: Timestamp::now(),
            origin: Some(home.to_owned()),
        },
    };
    // The organisation acting for itself, as a Kommune does here: the same rules as a local write.
    let kommune = Actor {
        role: Role::Municipality,
        organisation_id: Some(org.id),
        issuer: Some(home.to_owned()),
        ..Actor::system(&format!("{FEDERATION_ACTOR}:{home}"))
    };
    let allowed = match act {
        Act::Participation(role, status) => rules::check_self_service_role(role)
            .and_then(|()| rules::check_self_service_kind(&org))
            .and_then(|()| policy::require(conn, &kommune, rules::participation_op(status, &project, &org)))
            .map(|()| status),
        Act::Reuse(status) => crate::service::reuse::check_reuser(&org, &project)
            .and_then(|()| policy::require(conn, &kommune, crate::service::reuse::reuse_op(status, &project, &org)))
            .map(|()| ParticipationStatus::Requested),
    };
    match allowed {
        Ok(_) => Ok(()),
        Err(AppError::User { message, .. }) => {
            Err(refuse(e, format!("project {:?} is homed {project_home}: {message}", project.slug)))
        }
        Err(other) => Err(Refusal::Store(other)),
    }
}
