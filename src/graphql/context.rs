//! Per-request context: one pooled connection, the actor, and the batch loaders that make every
//! nested level of a query cost one database query.

use std::collections::{HashMap, HashSet};
use std::hash::Hash;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};

use diesel::QueryResult;
use juniper::{FieldError, FieldResult};

use super::errors::field_error;
use crate::domain::{CallId, EventId, LifeSituationId, OrganisationId, PlatformId, ProjectId};
use crate::error::AppError;
use crate::federation::FederationConfig;
use crate::service::Actor;
use crate::store::rows::*;
use crate::store::{Db, PooledDb, read};

/// Locks a mutex; a panic elsewhere never leaves request state unusable.
pub trait Lk<T> {
    fn lk(&self) -> MutexGuard<'_, T>;
}

impl<T> Lk<T> for Mutex<T> {
    fn lk(&self) -> MutexGuard<'_, T> {
        self.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// What the requests of one server share: the federation settings, reference data that does not
/// change while it runs (the Länder and the Themenfelder, written only when a database is seeded)
/// and the instance id. The data is filled on first use, and only with a non-empty answer.
#[derive(Default)]
pub struct Shared {
    federation: FederationConfig,
    lands: OnceLock<Vec<LandRow>>,
    topic_fields: OnceLock<Vec<TopicFieldRow>>,
    instance: OnceLock<String>,
    counts: Mutex<CountCache>,
}

impl Shared {
    /// Nothing read yet; the instance id is created (or checked) with these settings on first use.
    pub fn new(federation: FederationConfig) -> Self {
        Shared { federation, ..Shared::default() }
    }
}

/// Exact counts of filtered lists, valid while the change log's head is the one they were counted
/// under (every committed write moves it).
#[derive(Default)]
struct CountCache {
    head: String,
    counts: HashMap<String, i64>,
}

/// Distinct filters remembered at most (then the cache starts over).
const MAX_CACHED_COUNTS: usize = 4096;

pub struct Ctx {
    conn: Mutex<PooledDb>,
    shared: Arc<Shared>,
    pub actor: Actor,
    pub(super) keys: Keys,
    pub(super) l: Loaders,
    budget: Budget,
}

/// What a query may still do while it runs: the objects it resolves are counted against a bound,
/// and the request's cancellation flag (set when its answer is given up: the request timed out or
/// the client went away) is checked before every list and record. Either stops the execution at
/// once with an [`Abort`], unwound out of juniper (see [`abort_of`]), so the work ends there and
/// its memory is freed; no half-built answer is sent.
pub struct Budget {
    used: AtomicU64,
    max: u64,
    cancel: Arc<AtomicBool>,
    /// Off for mutations: their writes are done before their answer is resolved.
    enforced: bool,
}

impl Default for Budget {
    fn default() -> Self {
        Budget { used: AtomicU64::new(0), max: u64::MAX, cancel: Arc::default(), enforced: false }
    }
}

/// Why a query's execution was stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Abort {
    /// It resolved more objects than this many.
    Objects(u64),
    /// Its answer was given up.
    Cancelled,
}

/// The [`Abort`] a caught unwind carries, if it is one (anything else is a real panic).
pub fn abort_of(payload: &(dyn std::any::Any + Send)) -> Option<Abort> {
    payload.downcast_ref::<Abort>().copied()
}

impl juniper::Context for Ctx {}

/// Keys of every record of a kind this request has met so far; a loader fetches all of them that it
/// has not fetched yet in one query when the first of them is asked for.
#[derive(Default)]
pub struct Keys {
    pub projects: Mutex<HashSet<ProjectId>>,
    pub orgs: Mutex<HashSet<OrganisationId>>,
    pub services: Mutex<HashSet<String>>,
    pub calls: Mutex<HashSet<CallId>>,
    pub events: Mutex<HashSet<EventId>>,
    pub platforms: Mutex<HashSet<PlatformId>>,
    pub topics: Mutex<HashSet<String>>,
    pub life_situations: Mutex<HashSet<LifeSituationId>>,
}

#[derive(Default)]
pub struct Loaders {
    pub project: Loader<ProjectId, Arc<ProjectRow>>,
    pub org: Loader<OrganisationId, Arc<OrganisationRow>>,
    pub service: Loader<String, Arc<OzgServiceRow>>,
    pub platform: Loader<PlatformId, Arc<PlatformRow>>,
    pub life_situation: Loader<LifeSituationId, Arc<LifeSituationRow>>,
    pub event: Loader<EventId, Arc<EventRow>>,
    pub project_services: Loader<ProjectId, Vec<ProjectServiceRow>>,
    pub service_projects: Loader<String, Vec<ProjectServiceRow>>,
    pub project_platforms: Loader<ProjectId, Vec<ProjectPlatformRow>>,
    pub fundings: Loader<ProjectId, Vec<FundingRow>>,
    pub steps: Loader<ProjectId, Vec<StepRow>>,
    pub milestones: Loader<ProjectId, Vec<MilestoneRow>>,
    pub relations_from: Loader<ProjectId, Vec<RelationRow>>,
    pub relations_to: Loader<ProjectId, Vec<RelationRow>>,
    pub project_participations: Loader<ProjectId, Vec<ParticipationRow>>,
    pub org_participations: Loader<OrganisationId, Vec<ParticipationRow>>,
    pub project_calls: Loader<ProjectId, Vec<CallRow>>,
    pub call_roles: Loader<CallId, Vec<CallRoleRow>>,
    pub project_reuse: Loader<ProjectId, Vec<ReuseRow>>,
    pub org_reuse: Loader<OrganisationId, Vec<ReuseRow>>,
    pub org_children: Loader<OrganisationId, Vec<OrganisationRow>>,
    pub leika: Loader<String, Vec<LeikaServiceRow>>,
    pub topic_leads: Loader<String, Vec<TopicFieldLeadRow>>,
    pub topic_life_situations: Loader<String, Vec<LifeSituationRow>>,
    pub project_events: Loader<ProjectId, Vec<EventProjectRow>>,
    pub event_projects: Loader<EventId, Vec<EventProjectRow>>,
    pub org_contacts: Loader<OrganisationId, Vec<ContactRow>>,
    pub project_contacts: Loader<ProjectId, Vec<ContactRow>>,
}

pub struct Loader<K, V> {
    cache: Mutex<HashMap<K, V>>,
}

impl<K, V> Default for Loader<K, V> {
    fn default() -> Self {
        Self { cache: Mutex::new(HashMap::new()) }
    }
}

impl<K: Eq + Hash + Clone, V> Loader<K, V> {
    /// The keys to fetch: every known key not cached yet, and the one asked for.
    fn pending(&self, key: &K, known: &Mutex<HashSet<K>>) -> Vec<K> {
        let cache = self.cache.lk();
        let mut want: Vec<K> = known.lk().iter().filter(|k| !cache.contains_key(*k)).cloned().collect();
        if !want.contains(key) {
            want.push(key.clone());
        }
        want
    }

    pub fn clear(&self) {
        self.cache.lk().clear();
    }
}

/// Rows tell the request which other records they point at, so the next level is fetched for all
/// rows of this level in one query (not only for the first parent's rows).
pub trait Register {
    fn register(&self, _keys: &Keys) {}
}

impl Register for ProjectRow {
    fn register(&self, k: &Keys) {
        k.projects.lk().insert(self.id);
    }
}
impl Register for OrganisationRow {
    fn register(&self, k: &Keys) {
        let mut orgs = k.orgs.lk();
        orgs.insert(self.id);
        orgs.extend(self.parent_id);
    }
}
impl Register for OzgServiceRow {
    fn register(&self, k: &Keys) {
        k.services.lk().insert(self.ozg_id.clone());
        k.life_situations.lk().insert(self.life_situation_id);
    }
}
impl Register for ProjectServiceRow {
    fn register(&self, k: &Keys) {
        k.projects.lk().insert(self.project_id);
        k.services.lk().insert(self.ozg_id.clone());
    }
}
impl Register for ProjectPlatformRow {
    fn register(&self, k: &Keys) {
        k.platforms.lk().insert(self.platform_id);
    }
}
impl Register for PlatformRow {
    fn register(&self, k: &Keys) {
        k.orgs.lk().extend(self.operator_id);
    }
}
impl Register for FundingRow {
    fn register(&self, k: &Keys) {
        k.orgs.lk().extend(self.funder_id);
    }
}
impl Register for RelationRow {
    fn register(&self, k: &Keys) {
        k.projects.lk().extend([self.from_project_id, self.to_project_id]);
    }
}
impl Register for ParticipationRow {
    fn register(&self, k: &Keys) {
        k.projects.lk().insert(self.project_id);
        k.orgs.lk().insert(self.organisation_id);
    }
}
impl Register for CallRow {
    fn register(&self, k: &Keys) {
        k.calls.lk().insert(self.id);
        k.projects.lk().insert(self.project_id);
        k.orgs.lk().insert(self.issuer_id);
    }
}
impl Register for ReuseRow {
    fn register(&self, k: &Keys) {
        k.projects.lk().insert(self.project_id);
        k.orgs.lk().insert(self.organisation_id);
    }
}
impl Register for EventRow {
    fn register(&self, k: &Keys) {
        k.events.lk().insert(self.id);
        k.orgs.lk().extend([self.location_id, self.organiser_id].into_iter().flatten());
    }
}
impl Register for EventProjectRow {
    fn register(&self, k: &Keys) {
        k.events.lk().insert(self.event_id);
        k.projects.lk().insert(self.project_id);
    }
}
impl Register for LeikaServiceRow {}
impl Register for StepRow {}
impl Register for MilestoneRow {}
impl Register for CallRoleRow {}
impl Register for LifeSituationRow {}
impl Register for TopicFieldLeadRow {}
impl Register for ContactRow {}

impl<K: Eq + Hash + Clone, R: Register> Loader<K, Arc<R>> {
    /// One record by key; the request's records are shared, not copied, wherever they are used.
    pub fn one(
        &self,
        ctx: &Ctx,
        key: &K,
        known: &Mutex<HashSet<K>>,
        fetch: fn(&mut Db, &[K]) -> QueryResult<Vec<R>>,
        key_of: fn(&R) -> K,
    ) -> FieldResult<Option<Arc<R>>> {
        ctx.charge(1);
        if let Some(v) = self.cache.lk().get(key) {
            return Ok(Some(v.clone()));
        }
        let want = self.pending(key, known);
        let rows = ctx.with_conn(|c| fetch(c, &want)).map_err(db_error)?;
        rows.iter().for_each(|r| r.register(&ctx.keys));
        let mut cache = self.cache.lk();
        for r in rows {
            cache.insert(key_of(&r), Arc::new(r));
        }
        Ok(cache.get(key).cloned())
    }

    /// Puts records the request already has into the cache.
    pub fn prime(&self, rows: &[Arc<R>], key_of: fn(&R) -> K) {
        let mut cache = self.cache.lk();
        for r in rows {
            cache.entry(key_of(r)).or_insert_with(|| r.clone());
        }
    }
}

impl<K: Eq + Hash + Clone, R: Clone + Register> Loader<K, Vec<R>> {
    /// All children of a parent key, fetched for every known parent at once.
    pub fn many(
        &self,
        ctx: &Ctx,
        key: &K,
        known: &Mutex<HashSet<K>>,
        fetch: fn(&mut Db, &[K]) -> QueryResult<Vec<R>>,
        key_of: fn(&R) -> K,
    ) -> FieldResult<Vec<R>> {
        self.many_first(ctx, key, known, fetch, key_of, usize::MAX)
    }

    /// At most `first` children of a parent key (all of them are fetched and cached for every
    /// known parent at once; only the returned ones are copied and counted against the budget).
    pub fn many_first(
        &self,
        ctx: &Ctx,
        key: &K,
        known: &Mutex<HashSet<K>>,
        fetch: fn(&mut Db, &[K]) -> QueryResult<Vec<R>>,
        key_of: fn(&R) -> K,
        first: usize,
    ) -> FieldResult<Vec<R>> {
        let v = self.uncounted(ctx, key, known, fetch, key_of, first)?;
        ctx.charge(v.len());
        Ok(v)
    }

    /// Like [`Self::many_first`], but not counted: for lists filtered before they are cut to
    /// `first` and counted with [`Ctx::take`].
    pub fn uncounted(
        &self,
        ctx: &Ctx,
        key: &K,
        known: &Mutex<HashSet<K>>,
        fetch: fn(&mut Db, &[K]) -> QueryResult<Vec<R>>,
        key_of: fn(&R) -> K,
        first: usize,
    ) -> FieldResult<Vec<R>> {
        ctx.charge(0);
        let take = |v: &Vec<R>| -> Vec<R> { v.iter().take(first).cloned().collect() };
        if let Some(v) = self.cache.lk().get(key) {
            return Ok(take(v));
        }
        let want = self.pending(key, known);
        let rows = ctx.with_conn(|c| fetch(c, &want)).map_err(db_error)?;
        rows.iter().for_each(|r| r.register(&ctx.keys));
        let mut cache = self.cache.lk();
        for k in &want {
            cache.insert(k.clone(), Vec::new());
        }
        let wanted: HashSet<&K> = want.iter().collect();
        for r in rows {
            let k = key_of(&r);
            if wanted.contains(&k) {
                cache.get_mut(&k).expect("inserted above").push(r);
            }
        }
        Ok(cache.get(key).map(take).unwrap_or_default())
    }
}

fn db_error(e: diesel::result::Error) -> FieldError {
    field_error(AppError::from(e))
}

impl Ctx {
    pub fn new(conn: PooledDb, actor: Actor, shared: Arc<Shared>) -> Self {
        Self {
            conn: Mutex::new(conn),
            shared,
            actor,
            keys: Keys::default(),
            l: Loaders::default(),
            budget: Budget::default(),
        }
    }

    /// Bounds the objects this query resolves and stops it when `cancel` is set.
    pub fn with_budget(mut self, max_objects: u64, cancel: Arc<AtomicBool>) -> Self {
        self.budget = Budget { used: AtomicU64::new(0), max: max_objects, cancel, enforced: true };
        self
    }

    /// Counts `n` objects about to be resolved; stops the execution (by unwinding with an
    /// [`Abort`]) when the budget is spent or the answer has been given up.
    pub fn charge(&self, n: usize) {
        let b = &self.budget;
        if !b.enforced {
            return;
        }
        if b.cancel.load(Ordering::Relaxed) {
            std::panic::resume_unwind(Box::new(Abort::Cancelled));
        }
        let used = b.used.fetch_add(n as u64, Ordering::Relaxed).saturating_add(n as u64);
        if used > b.max {
            std::panic::resume_unwind(Box::new(Abort::Objects(b.max)));
        }
    }

    /// Objects resolved so far.
    pub fn objects(&self) -> u64 {
        self.budget.used.load(Ordering::Relaxed)
    }

    /// At most `first` of `items` (a negative `first` gives none), counted against the budget.
    pub fn take<T>(&self, mut items: Vec<T>, first: i32) -> Vec<T> {
        items.truncate(usize::try_from(first).unwrap_or(0));
        self.charge(items.len());
        items
    }

    pub fn with_conn<T>(&self, f: impl FnOnce(&mut Db) -> T) -> T {
        let mut conn = self.conn.lk();
        f(&mut conn)
    }

    /// Look-ahead for a page of projects: loads the selected child lists that point at
    /// organisations (participations, calls, reuse declarations) for the whole page before any
    /// organisation is resolved, so all their organisations come in one statement whatever the
    /// data (depth-first execution would otherwise fetch a project's participants before the
    /// next list's organisations are known).
    pub fn prefetch_project_lists(&self, any: ProjectId, selected: &[&str]) -> FieldResult<()> {
        use crate::store::read;
        if selected.contains(&"participations") {
            self.l.project_participations.many_first(
                self,
                &any,
                &self.keys.projects,
                read::participations_by_projects,
                |r| r.project_id,
                0,
            )?;
        }
        if selected.contains(&"calls") {
            self.l.project_calls.many_first(
                self,
                &any,
                &self.keys.projects,
                read::calls_by_projects,
                |r| r.project_id,
                0,
            )?;
        }
        if selected.contains(&"reuseDeclarations") {
            self.l.project_reuse.many_first(
                self,
                &any,
                &self.keys.projects,
                read::reuse_by_projects,
                |r| r.project_id,
                0,
            )?;
        }
        Ok(())
    }

    /// An exact count: remembered per `key` until the next committed write anywhere, so paging
    /// through a list does not count it again on every request. Costs one primary-key read of
    /// the change log's head. The head is read before counting, so a remembered count is never
    /// older than the head it is filed under.
    pub fn count(&self, key: String, count: impl FnOnce(&mut Db) -> QueryResult<i64>) -> FieldResult<i64> {
        let head = self.read(crate::store::changes::current_head)?;
        {
            let cache = self.shared.counts.lk();
            if cache.head == head
                && let Some(n) = cache.counts.get(&key)
            {
                return Ok(*n);
            }
        }
        let n = self.read(count)?;
        let mut cache = self.shared.counts.lk();
        if cache.head != head || cache.counts.len() >= MAX_CACHED_COUNTS {
            cache.head = head;
            cache.counts.clear();
        }
        cache.counts.insert(key, n);
        Ok(n)
    }

    /// This registry instance's id (created with its identity on first use).
    pub fn instance_id(&self) -> FieldResult<String> {
        if let Some(id) = self.shared.instance.get() {
            return Ok(id.clone());
        }
        let id = self
            .with_conn(|c| crate::federation::identity(c, &self.shared.federation))
            .map(|i| i.instance_id)
            .map_err(super::errors::field_error)?;
        Ok(self.shared.instance.get_or_init(|| id).clone())
    }

    /// The origin of a record: its home registry, this one when `None`.
    pub fn origin(&self, origin: &Option<String>) -> FieldResult<String> {
        match origin {
            Some(o) => Ok(o.clone()),
            None => self.instance_id(),
        }
    }

    /// Runs a read that may fail, mapping errors for the client.
    pub fn read<T>(&self, f: impl FnOnce(&mut Db) -> QueryResult<T>) -> FieldResult<T> {
        self.with_conn(f).map_err(db_error)
    }

    /// After a write, every cached record may be stale.
    pub fn forget(&self) {
        let l = &self.l;
        l.project.clear();
        l.org.clear();
        l.service.clear();
        l.platform.clear();
        l.life_situation.clear();
        l.event.clear();
        l.project_services.clear();
        l.service_projects.clear();
        l.project_platforms.clear();
        l.fundings.clear();
        l.steps.clear();
        l.milestones.clear();
        l.relations_from.clear();
        l.relations_to.clear();
        l.project_participations.clear();
        l.org_participations.clear();
        l.project_calls.clear();
        l.call_roles.clear();
        l.project_reuse.clear();
        l.org_reuse.clear();
        l.org_children.clear();
        l.leika.clear();
        l.topic_leads.clear();
        l.topic_life_situations.clear();
        l.project_events.clear();
        l.event_projects.clear();
        l.org_contacts.clear();
        l.project_contacts.clear();
    }

    pub fn lands(&self) -> FieldResult<&[LandRow]> {
        if let Some(l) = self.shared.lands.get() {
            return Ok(l);
        }
        let rows = self.read(read::lands)?;
        if rows.is_empty() {
            return Ok(&[]);
        }
        Ok(self.shared.lands.get_or_init(|| rows))
    }

    pub fn topic_fields(&self) -> FieldResult<&[TopicFieldRow]> {
        if let Some(t) = self.shared.topic_fields.get() {
            return Ok(t);
        }
        let rows = self.read(read::topic_fields)?;
        if rows.is_empty() {
            return Ok(&[]);
        }
        Ok(self.shared.topic_fields.get_or_init(|| rows))
    }
}
