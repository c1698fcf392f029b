//! The change feed: this instance's own public records in change order, one signed entry (a JWS,
//! EdDSA with the instance key) per record: an upsert with the whole record, or a tombstone.

use std::collections::{BTreeMap, HashMap};

use jsonwebtoken::{Algorithm, DecodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use super::{Identity, global_id};
use crate::domain::{OrganisationId, ProjectId, RecordId, Vocabulary, raw_ids};
use crate::error::{AppError, AppResult};
use crate::store::rows::OrganisationRow;
use crate::store::{Db, federation as store, read};

/// The `typ` of a feed entry's JWS header.
pub const ENTRY_TYP: &str = "ozg-feed-entry+jwt";
/// Page sizes: the default and the most a client may ask for.
pub const DEFAULT_LIMIT: i64 = 100;
pub const MAX_LIMIT: i64 = 500;

/// The claims of one signed entry.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Entry {
    /// The publishing instance (the record's home).
    pub iss: String,
    /// Position in the publisher's change order.
    pub cursor: i64,
    /// `upsert` or `delete`.
    pub op: String,
    /// `Project`, `Participation`, `Call` or `ReuseDeclaration`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The record's global id.
    pub id: String,
    /// The record's version in its home's change order.
    pub version: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub record: Option<serde_json::Value>,
}

/// An organisation as records refer to it: found by AGS, else by slug, on the importing side.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrgRef {
    pub slug: String,
    pub name: String,
    pub kind: String,
    pub ags: Option<String>,
    pub land: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct StepRecord {
    pub position: i32,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MilestoneRecord {
    pub title: String,
    pub phase: Option<String>,
    pub planned: Option<String>,
    pub actual: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ProjectRecord {
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub lead_land: Option<String>,
    pub delivery_model: String,
    pub phase: String,
    pub phase_before_hold: Option<String>,
    pub status_note: Option<String>,
    pub ozg_ids: Vec<String>,
    pub steps: Vec<StepRecord>,
    pub milestones: Vec<MilestoneRecord>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ParticipationRecord {
    /// Global id of the project.
    pub project: String,
    pub organisation: OrgRef,
    pub role: String,
    pub status: String,
    pub since: Option<String>,
    pub until: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ReuseRecord {
    pub project: String,
    pub organisation: OrgRef,
    pub status: String,
    pub declared_on: Option<String>,
    pub planned_live: Option<String>,
    pub actual_live: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CallRecord {
    pub project: String,
    pub issuer: OrgRef,
    pub title: String,
    pub body: String,
    pub invites_reuse: bool,
    pub opened_on: String,
    pub closes_on: Option<String>,
    pub status: String,
    pub roles: Vec<String>,
}

/// One page as served: signed entries, the cursor to continue after, whether more follow.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Page {
    pub instance: String,
    pub entries: Vec<SignedEntry>,
    pub next_cursor: String,
    pub has_more: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SignedEntry {
    pub cursor: String,
    pub jws: String,
}

/// The ETag of a page: it changes whenever the change log grows.
pub fn etag(conn: &mut Db, after: i64, limit: i64) -> AppResult<String> {
    Ok(format!("W/\"{}-{after}-{limit}\"", store::last_change_id(conn)?))
}

fn org_ref(o: &OrganisationRow) -> OrgRef {
    OrgRef {
        slug: o.slug.clone(),
        name: o.name.clone(),
        kind: o.kind.code().to_owned(),
        ags: o.ags.clone(),
        land: o.land_code.clone(),
    }
}

/// Which record a change is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Key {
    Project(ProjectId),
    Participation(i32),
    Call(i32),
    Reuse(i32),
}

/// Builds the page after `after`: the records changed in the next stretch of the change log, each
/// once (at its last change in the page), as they are now. Replicated records are not published:
/// every record appears only in its home's feed. `nextCursor` is the last entry's cursor, or
/// `after` itself on an empty page (which is the last one), so an importer can check it against
/// the signed entries.
pub fn page(conn: &mut Db, me: &Identity, after: i64, limit: i64) -> AppResult<Page> {
    let mut from = after;
    loop {
        let (entries, scanned_to, more) = scan(conn, me, from, limit)?;
        if let Some(last) = entries.last() {
            let next = last.cursor.parse::<i64>().unwrap_or(from);
            // Changes after the last entry that published nothing are read again next time.
            let has_more = more || scanned_to > next;
            let next_cursor = next.to_string();
            return Ok(Page { instance: me.instance_id.clone(), entries, next_cursor, has_more });
        }
        if !more {
            let next_cursor = after.to_string();
            return Ok(Page { instance: me.instance_id.clone(), entries, next_cursor, has_more: false });
        }
        // A whole stretch without anything to publish: read on.
        from = scanned_to;
    }
}

/// One stretch of at most `limit` changes after `after`: its entries, the last change read, and
/// whether more changes follow.
fn scan(conn: &mut Db, me: &Identity, after: i64, limit: i64) -> AppResult<(Vec<SignedEntry>, i64, bool)> {
    let changes = store::feed_changes(conn, after, limit + 1)?;
    let has_more = changes.len() as i64 > limit;
    let changes = &changes[..changes.len().min(limit as usize)];
    let scanned_to = changes.last().map_or(after, |c| c.id);
    // The last change per record, and tombstones for deleted ones.
    let mut last: BTreeMap<Key, (i64, bool, String)> = BTreeMap::new();
    for c in changes {
        let id: Option<i32> = c.entity_id.parse().ok();
        let key = match c.entity_type.as_str() {
            "Project" | "Milestone" | "Step" => c.project_id.map(Key::Project),
            "Participation" => id.map(Key::Participation),
            "Call" => id.map(Key::Call),
            "ReuseDeclaration" => id.map(Key::Reuse),
            _ => None,
        };
        if let Some(k) = key {
            last.insert(k, (c.id, c.action == "DELETE", c.entity_id.clone()));
        }
    }
    let ids = |f: fn(&Key) -> Option<i32>| last.keys().filter_map(f).collect::<Vec<i32>>();
    let project_ids: Vec<ProjectId> =
        last.keys().filter_map(|k| if let Key::Project(i) = k { Some(*i) } else { None }).collect();
    let participation_ids = ids(|k| if let Key::Participation(i) = k { Some(*i) } else { None });
    let call_ids = ids(|k| if let Key::Call(i) = k { Some(*i) } else { None });
    let reuse_ids = ids(|k| if let Key::Reuse(i) = k { Some(*i) } else { None });

    fn typed<I: RecordId>(ids: &[i32]) -> Vec<I> {
        ids.iter().map(|&i| I::from(i)).collect()
    }
    let participations: HashMap<i32, _> =
        store::participations_by_ids(conn, &typed(&participation_ids))?.into_iter().map(|r| (r.id.get(), r)).collect();
    let calls: HashMap<i32, _> =
        store::calls_by_ids(conn, &typed(&call_ids))?.into_iter().map(|r| (r.id.get(), r)).collect();
    let reuse: HashMap<i32, _> =
        store::reuse_by_ids(conn, &typed(&reuse_ids))?.into_iter().map(|r| (r.id.get(), r)).collect();
    // Projects: the changed ones and those the other records refer to.
    let mut all_projects = project_ids.clone();
    all_projects.extend(participations.values().map(|r| r.project_id));
    all_projects.extend(calls.values().map(|r| r.project_id));
    all_projects.extend(reuse.values().map(|r| r.project_id));
    all_projects.sort_unstable();
    all_projects.dedup();
    let projects: HashMap<ProjectId, _> =
        read::projects_by_ids(conn, &all_projects)?.into_iter().map(|r| (r.id, r)).collect();
    let replicated: HashMap<ProjectId, String> = store::federated_by_local(conn, "Project", &raw_ids(&all_projects))?
        .into_iter()
        .map(|f| (ProjectId::from(f.local_id), f.global_id))
        .collect();
    let project_gid = |id: ProjectId| -> Option<String> {
        let p = projects.get(&id)?;
        match &p.origin {
            None => Some(global_id(&me.instance_id, "project", &p.slug)),
            Some(_) => replicated.get(&id).cloned(),
        }
    };
    let mut org_ids: Vec<OrganisationId> = participations.values().map(|r| r.organisation_id).collect();
    org_ids.extend(calls.values().map(|r| r.issuer_id));
    org_ids.extend(reuse.values().map(|r| r.organisation_id));
    let orgs: HashMap<OrganisationId, _> =
        read::organisations_by_ids(conn, &org_ids)?.into_iter().map(|o| (o.id, o)).collect();
    // Each record's children, grouped by their parent once (not searched per entry).
    fn by<K: std::hash::Hash + Eq, R>(rows: Vec<R>, key: impl Fn(&R) -> K) -> HashMap<K, Vec<R>> {
        let mut m: HashMap<K, Vec<R>> = HashMap::new();
        for r in rows {
            m.entry(key(&r)).or_default().push(r);
        }
        m
    }
    let services = by(read::project_services_by_projects(conn, &project_ids)?, |s| s.project_id);
    let steps = by(read::steps_by_projects(conn, &project_ids)?, |s| s.project_id);
    let milestones = by(read::milestones_by_projects(conn, &project_ids)?, |m| m.project_id);
    let call_roles = by(read::call_roles_by_calls(conn, &typed(&call_ids))?, |r| r.call_id.get());
    let none = Vec::new();

    let mut entries = Vec::new();
    let mut ordered: Vec<(Key, (i64, bool, String))> = last.into_iter().collect();
    ordered.sort_by_key(|(_, (cursor, _, _))| *cursor);
    for (key, (cursor, deleted, entity_id)) in ordered {
        let (kind, id, record) = match key {
            Key::Project(id) => {
                let Some(p) = projects.get(&id).filter(|p| p.origin.is_none()) else { continue };
                let mut svc: Vec<_> = services.get(&id).unwrap_or(&none).iter().collect();
                svc.sort_by_key(|s| s.position);
                let record = ProjectRecord {
                    slug: p.slug.clone(),
                    title: p.title.clone(),
                    summary: p.summary.clone(),
                    lead_land: p.lead_land_code.clone(),
                    delivery_model: p.delivery_model.code().to_owned(),
                    phase: p.phase.code().to_owned(),
                    phase_before_hold: p.phase_before_hold.map(|x| x.code().to_owned()),
                    status_note: p.status_note.clone(),
                    ozg_ids: svc.iter().map(|s| s.ozg_id.clone()).collect(),
                    steps: steps
                        .get(&id)
                        .into_iter()
                        .flatten()
                        .map(|s| StepRecord {
                            position: s.position,
                            title: s.title.clone(),
                            description: s.description.clone(),
                            status: s.status.code().to_owned(),
                        })
                        .collect(),
                    milestones: milestones
                        .get(&id)
                        .into_iter()
                        .flatten()
                        .map(|m| MilestoneRecord {
                            title: m.title.clone(),
                            phase: m.phase.map(|x| x.code().to_owned()),
                            planned: m.planned.map(|d| d.to_string()),
                            actual: m.actual.map(|d| d.to_string()),
                            note: m.note.clone(),
                        })
                        .collect(),
                };
                ("Project", global_id(&me.instance_id, "project", &p.slug), Some(to_json(&record)?))
            }
            Key::Participation(id) => {
                let gid = global_id(&me.instance_id, "participation", &id.to_string());
                match participations.get(&id) {
                    Some(r) if r.origin.is_none() => {
                        let (Some(project), Some(org)) = (project_gid(r.project_id), orgs.get(&r.organisation_id))
                        else {
                            continue;
                        };
                        let record = ParticipationRecord {
                            project,
                            organisation: org_ref(org),
                            role: r.role.code().to_owned(),
                            status: r.status.code().to_owned(),
                            since: r.since.map(|d| d.to_string()),
                            until: r.until.map(|d| d.to_string()),
                            note: r.note.clone(),
                        };
                        ("Participation", gid, Some(to_json(&record)?))
                    }
                    None if deleted => ("Participation", gid, None),
                    _ => continue,
                }
            }
            Key::Call(id) => {
                let gid = global_id(&me.instance_id, "call", &entity_id);
                match calls.get(&id) {
                    Some(r) if r.origin.is_none() => {
                        let (Some(project), Some(org)) = (project_gid(r.project_id), orgs.get(&r.issuer_id)) else {
                            continue;
                        };
                        let record = CallRecord {
                            project,
                            issuer: org_ref(org),
                            title: r.title.clone(),
                            body: r.body.clone(),
                            invites_reuse: r.invites_reuse,
                            opened_on: r.opened_on.to_string(),
                            closes_on: r.closes_on.map(|d| d.to_string()),
                            status: r.status.code().to_owned(),
                            roles: call_roles
                                .get(&id)
                                .into_iter()
                                .flatten()
                                .map(|x| x.role.code().to_owned())
                                .collect(),
                        };
                        ("Call", gid, Some(to_json(&record)?))
                    }
                    None if deleted => ("Call", gid, None),
                    _ => continue,
                }
            }
            Key::Reuse(id) => {
                let gid = global_id(&me.instance_id, "reuse", &id.to_string());
                match reuse.get(&id) {
                    Some(r) if r.origin.is_none() => {
                        let (Some(project), Some(org)) = (project_gid(r.project_id), orgs.get(&r.organisation_id))
                        else {
                            continue;
                        };
                        let record = ReuseRecord {
                            project,
                            organisation: org_ref(org),
                            status: r.status.code().to_owned(),
                            declared_on: r.declared_on.map(|d| d.to_string()),
                            planned_live: r.planned_live.map(|d| d.to_string()),
                            actual_live: r.actual_live.map(|d| d.to_string()),
                            note: r.note.clone(),
                        };
                        ("ReuseDeclaration", gid, Some(to_json(&record)?))
                    }
                    None if deleted => ("ReuseDeclaration", gid, None),
                    _ => continue,
                }
            }
        };
        let entry = Entry {
            iss: me.instance_id.clone(),
            cursor,
            op: if record.is_some() { "upsert" } else { "delete" }.into(),
            kind: kind.into(),
            id,
            version: cursor,
            record,
        };
        entries.push(SignedEntry { cursor: cursor.to_string(), jws: sign(me, &entry)? });
    }
    Ok((entries, scanned_to, has_more))
}

fn to_json<T: Serialize>(v: &T) -> AppResult<serde_json::Value> {
    serde_json::to_value(v).map_err(|e| AppError::Internal(format!("feed record: {e}")))
}

pub fn sign(me: &Identity, entry: &Entry) -> AppResult<String> {
    let mut header = Header::new(Algorithm::EdDSA);
    header.kid = Some(me.key.kid.clone());
    header.typ = Some(ENTRY_TYP.into());
    jsonwebtoken::encode(&header, entry, &me.key.encoding).map_err(|e| AppError::Internal(format!("signing: {e}")))
}

/// Checks one entry's signature with the peer's pinned key (EdDSA only, the entry type, the
/// issuer) and returns its claims.
pub fn verify(jws: &str, peer_instance: &str, key: &DecodingKey) -> Result<Entry, String> {
    // An algorithm the library does not know (`none`) fails here already.
    let header = jsonwebtoken::decode_header(jws)
        .map_err(|_| format!("entry is not an EdDSA-signed {ENTRY_TYP}: its header names no known algorithm"))?;
    if header.alg != Algorithm::EdDSA || header.typ.as_deref() != Some(ENTRY_TYP) {
        return Err(format!("entry is not an EdDSA-signed {ENTRY_TYP}"));
    }
    let mut v = Validation::new(Algorithm::EdDSA);
    v.required_spec_claims.clear();
    v.required_spec_claims.insert("iss".into());
    v.set_issuer(&[peer_instance]);
    v.validate_exp = false;
    v.validate_nbf = false;
    v.validate_aud = false;
    jsonwebtoken::decode::<Entry>(jws, key, &v).map(|d| d.claims).map_err(|e| format!("entry signature or claims: {e}"))
}
