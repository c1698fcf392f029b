//! Importing a peer's feed page. First every entry's signature, issuer, order and the page's
//! cursor are checked (`verify_page`), then every entry is admitted or refused by the rules of
//! federation (`admit`, the one place they live) before anything is written: one bad entry rejects
//! the whole page, which is recorded (a DENIED change-log entry and the peer's last error). Then
//! the whole page is applied in one transaction together with the peer's new cursor, so nothing is
//! ever half-imported. Import is idempotent: an entry whose version is not newer than the one held
//! (or than the version its home deleted it at) changes nothing.

use std::collections::{HashMap, HashSet};

use jsonwebtoken::DecodingKey;
use sha2::{Digest, Sha256};

mod admit;

pub use admit::admit;

use super::feed::{CallRecord, Entry, MAX_LIMIT, OrgRef, Page, ParticipationRecord, ProjectRecord, ReuseRecord};
use super::origin_of;
use crate::auth::{Role, policy};
use crate::domain::{
    CallStatus, ChangeAction, DeliveryModel, OrganisationKind, ParticipationRole, ParticipationStatus, PeerErrorCode,
    Phase, ReuseStatus, StepStatus, Timestamp, Vocabulary,
};
use crate::error::{AppError, AppResult};
use crate::service::participation as rules;
use crate::service::{self, Actor, Change, Diff};
use crate::store::federation::{self as store, FEDERATION_ACTOR, FederatedRow, PeerRow, TombstoneRow};
use crate::store::rows::OrganisationRow;
use crate::store::{Db, read, write};

/// What one page did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub applied: u64,
    pub unchanged: u64,
    pub deleted: u64,
    /// Entries about a project this registry does not hold (yet); a later reconcile takes them.
    pub deferred: u64,
    /// Entries that would duplicate a record homed here (same project, organisation and role).
    pub conflicts: u64,
}

impl Report {
    pub fn add(&mut self, o: &Report) {
        self.applied += o.applied;
        self.unchanged += o.unchanged;
        self.deleted += o.deleted;
        self.deferred += o.deferred;
        self.conflicts += o.conflicts;
    }
}

/// Why a page is not imported.
#[derive(Debug)]
pub enum Refusal {
    /// The page or one of its entries is refused: a stable code and the detail (for admins).
    Entry { code: PeerErrorCode, detail: String },
    /// Checking or storing failed here (the database); logged with an incident number.
    Store(AppError),
}

impl From<AppError> for Refusal {
    fn from(e: AppError) -> Self {
        Refusal::Store(e)
    }
}

impl From<diesel::result::Error> for Refusal {
    fn from(e: diesel::result::Error) -> Self {
        Refusal::Store(e.into())
    }
}

fn malformed(detail: impl Into<String>) -> Refusal {
    Refusal::Entry { code: PeerErrorCode::MalformedPage, detail: detail.into() }
}

fn refuse(e: &Entry, why: impl std::fmt::Display) -> Refusal {
    Refusal::Entry {
        code: PeerErrorCode::RefusedEntry,
        detail: format!("entry {} ({} {}) refused: {why}", e.cursor, e.kind, e.id),
    }
}

/// A verified page: its entries, the cursor to continue after, and whether more follow.
pub struct VerifiedPage {
    pub entries: Vec<Entry>,
    pub next_cursor: i64,
    pub has_more: bool,
}

/// Parses the page asked for with `after` and checks every entry's signature, issuer and order,
/// and the page's cursor against its entries: `nextCursor` is the last entry's cursor, or on an
/// empty (and last) page the `after` asked with, so a page cannot move the cursor past what it
/// holds. `Err` names the first problem and rejects the page.
pub fn verify_page(body: &[u8], peer: &PeerRow, after: i64) -> Result<VerifiedPage, Refusal> {
    let page: Page = serde_json::from_slice(body).map_err(|e| malformed(format!("malformed feed page: {e}")))?;
    if page.instance != peer.instance_id {
        return Err(malformed(format!("the feed belongs to {:?}, not to {:?}", page.instance, peer.instance_id)));
    }
    if page.entries.len() as i64 > MAX_LIMIT {
        return Err(malformed(format!(
            "the page holds {} entries; at most {MAX_LIMIT} are accepted",
            page.entries.len()
        )));
    }
    let next: i64 = page.next_cursor.parse().map_err(|_| malformed("malformed nextCursor"))?;
    let x =
        base64::Engine::decode(&base64::engine::general_purpose::URL_SAFE_NO_PAD, &peer.public_key).map_err(|_| {
            Refusal::Entry {
                code: PeerErrorCode::BadSignature,
                detail: "the pinned key of this peer is not base64url".into(),
            }
        })?;
    let key = DecodingKey::from_ed_der(&x);
    let mut entries = Vec::with_capacity(page.entries.len());
    let mut previous = after;
    for signed in &page.entries {
        let e = super::feed::verify(&signed.jws, &peer.instance_id, &key)
            .map_err(|detail| Refusal::Entry { code: PeerErrorCode::BadSignature, detail })?;
        if e.cursor.to_string() != signed.cursor || e.cursor <= previous {
            return Err(malformed(format!("entry {} is out of order (the page follows {after})", signed.cursor)));
        }
        previous = e.cursor;
        entries.push(e);
    }
    match entries.last() {
        Some(last) if next != last.cursor => {
            return Err(malformed(format!(
                "nextCursor {next} is not the cursor of the page's last entry ({})",
                last.cursor
            )));
        }
        None if next != after || page.has_more => {
            return Err(malformed(format!(
                "an empty page after {after} must end the feed there, but says nextCursor {next}{}",
                if page.has_more { " and hasMore" } else { "" }
            )));
        }
        _ => {}
    }
    Ok(VerifiedPage { entries, next_cursor: next, has_more: page.has_more })
}

fn bad(e: impl std::fmt::Display) -> AppError {
    AppError::bad_input("feed", format!("malformed entry: {e}"))
}

fn parse<T: serde::de::DeserializeOwned>(e: &Entry) -> AppResult<T> {
    serde_json::from_value(e.record.clone().unwrap_or_default()).map_err(|x| bad(format!("{} {}: {x}", e.kind, e.id)))
}

fn vocab<V: Vocabulary>(s: &str) -> AppResult<&'static str> {
    V::parse(s).map(V::code).map_err(bad)
}

fn opt(v: &Option<String>, field: &str, max: usize) -> AppResult<Option<String>> {
    service::opt_text(v.as_deref(), field, max).map_err(bad)
}

/// The type segment of a global id for each entity type (`nrw.kdn/project/einbuergerung`).
fn id_segment(kind: &str) -> Option<&'static str> {
    match kind {
        "Project" => Some("project"),
        "Participation" => Some("participation"),
        "Call" => Some("call"),
        "ReuseDeclaration" => Some("reuse"),
        _ => None,
    }
}

/// Applies verified entries and moves the peer's cursor, in one transaction, after admitting every
/// entry (nothing is written when one is refused; the refusal is recorded as a DENIED change-log
/// entry). `seen` collects the global ids the peer still publishes (for the reconcile).
pub fn apply(
    conn: &mut Db,
    peer: &PeerRow,
    me: &str,
    entries: &[Entry],
    next_cursor: i64,
    mut seen: Option<&mut HashSet<String>>,
) -> Result<Report, Refusal> {
    let actor = Actor { issuer: Some(peer.instance_id.clone()), ..Actor::system(FEDERATION_ACTOR) };
    let outcome = crate::store::write_tx(conn, |conn| {
        let mut earlier: HashMap<String, String> = HashMap::new();
        for e in entries {
            match admit(conn, peer, me, e, &earlier) {
                Ok(()) => {}
                Err(Refusal::Store(x)) => return Err(x),
                Err(refusal) => return Ok(Err(refusal)),
            }
            earlier.insert(e.id.clone(), e.kind.clone());
        }
        let at = Timestamp::now();
        let mut report = Report::default();
        for e in entries {
            if let Some(seen) = seen.as_deref_mut() {
                if e.op == "delete" {
                    seen.remove(&e.id);
                } else {
                    seen.insert(e.id.clone());
                }
            }
            // A record deleted at its home comes back only with a newer version.
            if let Some(t) = store::tombstone(conn, &e.id)? {
                if t.version >= e.version {
                    if let Some(seen) = seen.as_deref_mut() {
                        // Not published any more, whatever a stale copy of the feed says.
                        seen.remove(&e.id);
                    }
                    report.unchanged += 1;
                    continue;
                }
                if e.op == "upsert" {
                    store::delete_tombstone(conn, &e.id)?;
                }
            }
            let existing = store::federated(conn, &e.id)?.filter(|x| x.entity_type == e.kind);
            if existing.as_ref().is_some_and(|x| x.version >= e.version) {
                report.unchanged += 1;
                continue;
            }
            if e.op == "delete" {
                let t = TombstoneRow {
                    global_id: e.id.clone(),
                    origin: peer.instance_id.clone(),
                    entity_type: e.kind.clone(),
                    version: e.version,
                };
                store::save_tombstone(conn, &t, &at.to_db())?;
                if let Some(x) = existing {
                    delete(conn, &actor, &at, &x)?;
                    report.deleted += 1;
                } else {
                    report.unchanged += 1;
                }
                continue;
            }
            let hash = e.record.as_ref().map(|r| {
                Sha256::digest(r.to_string().as_bytes()).iter().map(|b| format!("{b:02x}")).collect::<String>()
            });
            if let (Some(x), Some(h)) = (&existing, &hash)
                && &x.content_hash == h
            {
                store::save_federated(conn, &FederatedRow { version: e.version, ..x.clone() }, &at.to_db())?;
                report.unchanged += 1;
                continue;
            }
            let local = match e.kind.as_str() {
                "Project" => put_project(conn, &actor, &at, peer, e, existing.as_ref())?,
                "Participation" => put_participation(conn, &actor, &at, peer, me, e, existing.as_ref())?,
                "ReuseDeclaration" => put_reuse(conn, &actor, &at, peer, me, e, existing.as_ref())?,
                _ => put_call(conn, &actor, &at, peer, me, e, existing.as_ref())?,
            };
            match local {
                Outcome::Done(local_id) => {
                    let row = FederatedRow {
                        global_id: e.id.clone(),
                        origin: peer.instance_id.clone(),
                        entity_type: e.kind.clone(),
                        local_id,
                        version: e.version,
                        content_hash: hash.unwrap_or_default(),
                        orphaned_at: None,
                    };
                    store::save_federated(conn, &row, &at.to_db())?;
                    report.applied += 1;
                }
                Outcome::Deferred => report.deferred += 1,
                Outcome::Conflict => report.conflicts += 1,
            }
        }
        let cursor = next_cursor.max(peer.feed_cursor);
        store::peer_success(conn, peer.id, cursor, report.applied as i64, &at.to_db())?;
        Ok(Ok(report))
    });
    match outcome {
        Ok(Ok(report)) => Ok(report),
        Ok(Err(refusal)) => {
            if let Refusal::Entry { code: PeerErrorCode::RefusedEntry, detail } = &refusal {
                let operation = format!("import from {}", peer.instance_id);
                service::record_denied(conn, &actor, &operation, detail)?;
            }
            Err(refusal)
        }
        Err(AppError::User { message, .. }) => Err(malformed(message)),
        Err(other) => Err(Refusal::Store(other)),
    }
}

enum Outcome {
    Done(i32),
    Deferred,
    Conflict,
}

fn change(
    action: ChangeAction,
    kind: &'static str,
    id: String,
    project: Option<i32>,
    summary: String,
    diff: Diff,
) -> Change<'static> {
    Change { action, entity_type: kind, entity_id: id, project_id: project, summary, diff }
}

fn put_project(
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
        Some(x) => Some(x.local_id),
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
    Ok(Outcome::Done(id))
}

/// The local slug of a replicated project: the origin and the home slug, `a-test--einbuergerung`
/// (slugs hold a-z, 0-9 and '-', at most 80).
fn replicated_slug(origin: &str, slug: &str, gid: &str) -> String {
    let s = format!("{}--{slug}", origin.replace('.', "-"));
    if s.len() <= 80 {
        return s;
    }
    let digest: String = Sha256::digest(gid.as_bytes()).iter().take(4).map(|b| format!("{b:02x}")).collect();
    format!("{}-{digest}", s[..71].trim_end_matches('-'))
}

/// The local project a record refers to by global id: one homed here, or a replicated one.
fn project_of(conn: &mut Db, me: &str, gid: &str) -> AppResult<Option<i32>> {
    if origin_of(gid) == Some(me) {
        let slug = gid.rsplit('/').next().unwrap_or_default();
        return Ok(read::project_by_slug(conn, slug)?.filter(|p| p.origin.is_none()).map(|p| p.id));
    }
    Ok(store::federated(conn, gid)?.filter(|f| f.entity_type == "Project").map(|f| f.local_id))
}

/// The local organisation a record refers to, if there is one: by AGS, else by slug.
fn find_organisation(conn: &mut Db, o: &OrgRef) -> AppResult<Option<OrganisationRow>> {
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
fn organisation_of(conn: &mut Db, actor: &Actor, at: &Timestamp, peer: &PeerRow, o: &OrgRef) -> AppResult<i32> {
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

fn put_participation(
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

fn put_reuse(
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

fn put_call(
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
    let roles = r
        .roles
        .iter()
        .take(20)
        .map(|x| vocab::<ParticipationRole>(x).map(str::to_owned))
        .collect::<AppResult<Vec<_>>>()?;
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
fn delete(conn: &mut Db, actor: &Actor, at: &Timestamp, x: &FederatedRow) -> AppResult<()> {
    let project = match x.entity_type.as_str() {
        "Participation" => read::participation_by_id(conn, x.local_id)?.map(|p| p.project_id),
        "ReuseDeclaration" => read::reuse_by_id(conn, x.local_id)?.map(|p| p.project_id),
        "Call" => read::call_by_id(conn, x.local_id)?.map(|p| p.project_id),
        _ => Some(x.local_id),
    };
    match x.entity_type.as_str() {
        "Participation" => store::delete_participation(conn, x.local_id).map(drop)?,
        "ReuseDeclaration" => store::delete_reuse(conn, x.local_id).map(drop)?,
        "Call" => store::delete_call(conn, x.local_id).map(drop)?,
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
