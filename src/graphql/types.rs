//! GraphQL object types. Each wraps a stored row; nested fields go through the request's loaders.

use std::sync::Arc;

use juniper::{FieldResult, GraphQLObject, ID, graphql_object};

use super::context::{Ctx, Lk};
use super::errors::internal_error;
use crate::domain::*;
use crate::store::{read, rows::*};

fn parse_vocab<T: Vocabulary>(code: &str) -> FieldResult<T> {
    T::parse(code).map_err(|e| internal_error(&format!("stored value: {e}")))
}

fn parse_date(s: &Option<String>) -> Option<PartialDate> {
    s.as_deref().and_then(|d| PartialDate::parse(d).ok())
}

/// A list argument `first` as a length (a negative one, which the limits refuse, as none).
fn n(first: i32) -> usize {
    usize::try_from(first).unwrap_or(0)
}

fn timestamp(s: &str) -> FieldResult<Timestamp> {
    Timestamp::parse(s).map_err(|e| internal_error(&format!("stored timestamp: {e}")))
}

// ---- registration and lookups ---------------------------------------------------------------

impl Ctx {
    pub fn projects(&self, rows: Vec<ProjectRow>) -> Vec<Project> {
        self.keys.projects.lk().extend(rows.iter().map(|r| r.id));
        let rows: Vec<Arc<ProjectRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.project.prime(&rows, |r| r.id);
        rows.into_iter().map(Project).collect()
    }

    pub fn organisations(&self, rows: Vec<OrganisationRow>) -> Vec<Organisation> {
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.id));
        self.keys.orgs.lk().extend(rows.iter().filter_map(|r| r.parent_id));
        let rows: Vec<Arc<OrganisationRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.org.prime(&rows, |r| r.id);
        rows.into_iter().map(Organisation).collect()
    }

    pub fn services(&self, rows: Vec<OzgServiceRow>) -> Vec<OzgService> {
        self.keys.services.lk().extend(rows.iter().map(|r| r.ozg_id.clone()));
        self.keys.life_situations.lk().extend(rows.iter().map(|r| r.life_situation_id));
        let rows: Vec<Arc<OzgServiceRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.service.prime(&rows, |r| r.ozg_id.clone());
        rows.into_iter().map(OzgService).collect()
    }

    pub fn participations(&self, rows: Vec<ParticipationRow>) -> Vec<Participation> {
        self.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.organisation_id));
        rows.into_iter().map(Participation).collect()
    }

    pub fn calls(&self, rows: Vec<CallRow>) -> Vec<Call> {
        self.keys.calls.lk().extend(rows.iter().map(|r| r.id));
        self.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.issuer_id));
        rows.into_iter().map(Call).collect()
    }

    pub fn reuse(&self, rows: Vec<ReuseRow>) -> Vec<ReuseDeclaration> {
        self.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        self.keys.orgs.lk().extend(rows.iter().map(|r| r.organisation_id));
        rows.into_iter().map(ReuseDeclaration).collect()
    }

    pub fn events(&self, rows: Vec<EventRow>) -> Vec<Event> {
        self.keys.events.lk().extend(rows.iter().map(|r| r.id));
        self.keys.orgs.lk().extend(rows.iter().flat_map(|r| [r.location_id, r.organiser_id]).flatten());
        let rows: Vec<Arc<EventRow>> = rows.into_iter().map(Arc::new).collect();
        self.l.event.prime(&rows, |r| r.id);
        rows.into_iter().map(Event).collect()
    }

    pub fn topic_field_objects(&self, rows: Vec<TopicFieldRow>) -> Vec<TopicField> {
        self.keys.topics.lk().extend(rows.iter().map(|r| r.slug.clone()));
        rows.into_iter().map(TopicField).collect()
    }

    fn project_by_id(&self, id: i32) -> FieldResult<Project> {
        let row = self.l.project.one(self, &id, &self.keys.projects, read::projects_by_ids, |r| r.id)?;
        row.map(Project).ok_or_else(|| internal_error(&format!("project {id} vanished")))
    }

    fn org_by_id(&self, id: i32) -> FieldResult<Organisation> {
        let row = self.l.org.one(self, &id, &self.keys.orgs, read::organisations_by_ids, |r| r.id)?;
        let row = row.ok_or_else(|| internal_error(&format!("organisation {id} vanished")))?;
        if let Some(p) = row.parent_id {
            self.keys.orgs.lk().insert(p);
        }
        Ok(Organisation(row))
    }

    fn service_by_id(&self, id: &str) -> FieldResult<OzgService> {
        let row = self
            .l
            .service
            .one(self, &id.to_owned(), &self.keys.services, read::ozg_services_by_ids, |r| r.ozg_id.clone())?;
        let row = row.ok_or_else(|| internal_error(&format!("OZG service {id} vanished")))?;
        self.keys.life_situations.lk().insert(row.life_situation_id);
        Ok(OzgService(row))
    }

    fn land(&self, code: &Option<String>) -> FieldResult<Option<Land>> {
        let Some(code) = code else { return Ok(None) };
        Ok(self.lands()?.iter().find(|l| &l.code == code).cloned().map(Land))
    }

    fn topic_field(&self, slug: &str) -> FieldResult<TopicField> {
        let t = self.topic_fields()?.iter().find(|t| t.slug == slug).cloned();
        let t = t.ok_or_else(|| internal_error(&format!("topic field {slug} vanished")))?;
        self.keys.topics.lk().insert(t.slug.clone());
        Ok(TopicField(t))
    }
}

// ---- reference data -------------------------------------------------------------------------

/// A German Land (Bundesland).
pub struct Land(pub LandRow);

#[graphql_object(context = Ctx)]
impl Land {
    /// ISO 3166-2 code, e.g. DE-NW.
    fn code(&self) -> &str {
        &self.0.code
    }
    /// Two-letter short code, e.g. NW.
    fn short_code(&self) -> &str {
        &self.0.short_code
    }
    /// The first two digits of every AGS in this Land.
    fn ags_prefix(&self) -> &str {
        &self.0.ags_prefix
    }
    fn name(&self) -> &str {
        &self.0.name
    }
}

/// One of the 14 OZG-Themenfelder.
pub struct TopicField(pub TopicFieldRow);

#[graphql_object(context = Ctx)]
impl TopicField {
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    /// The Länder and federal ministries leading the topic field, each with its source.
    fn leads(&self, context: &Ctx) -> FieldResult<Vec<TopicFieldLead>> {
        let rows =
            context.l.topic_leads.many(context, &self.0.slug, &context.keys.topics, read::topic_field_leads, |r| {
                r.topic_field_slug.clone()
            })?;
        Ok(rows.into_iter().map(TopicFieldLead).collect())
    }
    /// Lebenslagen / Unternehmenslagen of this topic field.
    fn life_situations(&self, context: &Ctx) -> FieldResult<Vec<String>> {
        let rows = context.l.topic_life_situations.many(
            context,
            &self.0.slug,
            &context.keys.topics,
            read::life_situations_by_topic,
            |r| r.topic_field_slug.clone(),
        )?;
        Ok(rows.into_iter().map(|r| r.name).collect())
    }
}

pub struct TopicFieldLead(TopicFieldLeadRow);

#[graphql_object(context = Ctx)]
impl TopicFieldLead {
    fn land(&self, context: &Ctx) -> FieldResult<Option<Land>> {
        context.land(&self.0.land_code)
    }
    fn federal_ministry(&self) -> Option<&str> {
        self.0.federal_ministry.as_deref()
    }
    /// Where this assignment comes from.
    fn source(&self) -> &str {
        &self.0.source_note
    }
}

/// An OZG-Leistung.
pub struct OzgService(pub Arc<OzgServiceRow>);

#[graphql_object(context = Ctx)]
impl OzgService {
    fn ozg_id(&self) -> OzgId {
        OzgId::parse(&self.0.ozg_id).expect("checked by the schema")
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    fn topic_field(&self, context: &Ctx) -> FieldResult<TopicField> {
        context.topic_field(&self.0.topic_field_slug)
    }
    /// The Lebenslage or Unternehmenslage.
    fn life_situation(&self, context: &Ctx) -> FieldResult<String> {
        let id = self.0.life_situation_id;
        let row = context.l.life_situation.one(
            context,
            &id,
            &context.keys.life_situations,
            read::life_situations_by_ids,
            |r| r.id,
        )?;
        Ok(row.map(|r| r.name.clone()).unwrap_or_default())
    }
    fn federal_priority(&self) -> FieldResult<FederalPriority> {
        parse_vocab(&self.0.federal_priority)
    }
    fn federal_priority_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<FederalPriority>(&self.0.federal_priority).map(|p| p.label())
    }
    fn priority_note(&self) -> Option<&str> {
        self.0.priority_note.as_deref()
    }
    /// The LeiKa-Leistungen this OZG-Leistung bundles.
    fn leika_services(
        &self,
        context: &Ctx,
        #[graphql(default = 400, description = "At most this many items (1 to 400; no OZG-Leistung bundles more).")]
        first: i32,
    ) -> FieldResult<Vec<LeikaService>> {
        let rows = context.l.leika.many_first(
            context,
            &self.0.ozg_id,
            &context.keys.services,
            read::leika_by_ozg,
            |r| r.ozg_id.clone().unwrap_or_default(),
            n(first),
        )?;
        Ok(rows.into_iter().map(LeikaService).collect())
    }
    /// Implementation projects working on this OZG-Leistung.
    fn projects(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Project>> {
        let links = context.l.service_projects.uncounted(
            context,
            &self.0.ozg_id,
            &context.keys.services,
            read::project_services_by_services,
            |r| r.ozg_id.clone(),
            n(first),
        )?;
        context.keys.projects.lk().extend(links.iter().map(|l| l.project_id));
        links.iter().map(|l| context.project_by_id(l.project_id)).collect()
    }
}

/// A LeiKa-Leistung.
pub struct LeikaService(pub LeikaServiceRow);

#[graphql_object(context = Ctx)]
impl LeikaService {
    /// The 14-digit key; null where the service is "nicht im LeiKa".
    fn key(&self) -> Option<LeikaKey> {
        self.0.leika_key.as_deref().and_then(|k| LeikaKey::parse(k).ok())
    }
    fn in_leika(&self) -> bool {
        self.0.leika_key.is_some()
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    /// FIM/LeiKa Typisierung code, e.g. "2/3".
    fn typisierung(&self) -> Option<&str> {
        self.0.typisierung.as_deref()
    }
    fn ozg_service(&self, context: &Ctx) -> FieldResult<Option<OzgService>> {
        self.0.ozg_id.as_deref().map(|id| context.service_by_id(id)).transpose()
    }
}

// ---- organisations --------------------------------------------------------------------------

/// A Land, ministry, Kommune, Kreis, IT service provider, association, vendor or office.
pub struct Organisation(pub Arc<OrganisationRow>);

#[graphql_object(context = Ctx)]
impl Organisation {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    fn short_name(&self) -> Option<&str> {
        self.0.short_name.as_deref()
    }
    fn kind(&self) -> FieldResult<OrganisationKind> {
        parse_vocab(&self.0.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<OrganisationKind>(&self.0.kind).map(|k| k.label())
    }
    fn land(&self, context: &Ctx) -> FieldResult<Option<Land>> {
        context.land(&self.0.land_code)
    }
    fn ags(&self) -> Option<Ags> {
        self.0.ags.as_deref().and_then(|a| Ags::parse(a).ok())
    }
    fn ars(&self) -> Option<Ars> {
        self.0.ars.as_deref().and_then(|a| Ars::parse(a).ok())
    }
    /// Kreisschlüssel of a Kreis or kreisfreie Stadt.
    fn district_key(&self) -> Option<DistrictKey> {
        self.0.district_key.as_deref().and_then(|a| DistrictKey::parse(a).ok())
    }
    /// The organisation this one belongs to (an office's city, a municipality's Kreis).
    fn parent(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.parent_id.map(|p| context.org_by_id(p)).transpose()
    }
    fn children(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Organisation>> {
        let rows = context.l.org_children.many_first(
            context,
            &self.0.id,
            &context.keys.orgs,
            read::organisations_by_parents,
            |r| r.parent_id.unwrap_or_default(),
            n(first),
        )?;
        Ok(context.organisations(rows))
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    /// Every participation of this organisation, withdrawn ones included.
    fn participations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Participation>> {
        let rows = context.l.org_participations.many_first(
            context,
            &self.0.id,
            &context.keys.orgs,
            read::participations_by_organisations,
            |r| r.organisation_id,
            n(first),
        )?;
        Ok(context.participations(rows))
    }
    fn reuse_declarations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ReuseDeclaration>> {
        let rows = context.l.org_reuse.many_first(
            context,
            &self.0.id,
            &context.keys.orgs,
            read::reuse_by_organisations,
            |r| r.organisation_id,
            n(first),
        )?;
        Ok(context.reuse(rows))
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}

// ---- projects -------------------------------------------------------------------------------

/// An implementation project (Umsetzungsprojekt).
pub struct Project(pub Arc<ProjectRow>);

impl Project {
    fn phase_value(&self) -> FieldResult<Phase> {
        parse_vocab(&self.0.phase)
    }
}

#[graphql_object(context = Ctx)]
impl Project {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn summary(&self) -> Option<&str> {
        self.0.summary.as_deref()
    }
    /// The Land with the Federführung.
    fn lead_land(&self, context: &Ctx) -> FieldResult<Option<Land>> {
        context.land(&self.0.lead_land_code)
    }
    fn delivery_model(&self) -> FieldResult<DeliveryModel> {
        parse_vocab(&self.0.delivery_model)
    }
    fn delivery_model_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<DeliveryModel>(&self.0.delivery_model).map(|d| d.label())
    }
    fn phase(&self) -> FieldResult<Phase> {
        self.phase_value()
    }
    fn phase_label(&self) -> FieldResult<&'static str> {
        self.phase_value().map(|p| p.label())
    }
    /// The phases `changeProjectPhase` accepts next.
    fn allowed_next_phases(&self) -> FieldResult<Vec<Phase>> {
        let resume = self.0.phase_before_hold.as_deref().and_then(|p| Phase::parse(p).ok());
        Ok(self.phase_value()?.allowed_next(resume))
    }
    fn status_note(&self) -> Option<&str> {
        self.0.status_note.as_deref()
    }
    /// The OZG-Leistungen this project implements, in order.
    fn services(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ProjectService>> {
        let rows = context.l.project_services.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::project_services_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.services.lk().extend(rows.iter().map(|r| r.ozg_id.clone()));
        Ok(rows.into_iter().map(ProjectService).collect())
    }
    /// Portals, transport, standards, form technology and methods the project uses.
    fn platforms(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<PlatformUse>> {
        let rows = context.l.project_platforms.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::project_platforms_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.platforms.lk().extend(rows.iter().map(|r| r.platform_id));
        Ok(rows.into_iter().map(PlatformUse).collect())
    }
    fn fundings(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Funding>> {
        let rows = context.l.fundings.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::fundings_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.orgs.lk().extend(rows.iter().filter_map(|r| r.funder_id));
        Ok(rows.into_iter().map(Funding).collect())
    }
    /// Ordered steps (Schritt 1, Schritt 2, …).
    fn steps(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Step>> {
        let rows = context.l.steps.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::steps_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        Ok(rows.into_iter().map(Step).collect())
    }
    fn milestones(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Milestone>> {
        let mut rows = context.l.milestones.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::milestones_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        rows.sort_by_key(|m| (parse_date(&m.actual).or(parse_date(&m.planned)).map(|d| d.start()), m.id));
        Ok(context.take(rows, first).into_iter().map(Milestone).collect())
    }
    /// Relations from this project to others (merged into, builds on, reuses).
    fn relations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ProjectRelation>> {
        let rows = context.l.relations_from.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::relations_by_projects,
            |r| r.from_project_id,
            n(first),
        )?;
        context.keys.projects.lk().extend(rows.iter().map(|r| r.to_project_id));
        Ok(rows.into_iter().map(|r| ProjectRelation { other: r.to_project_id, row: r }).collect())
    }
    /// Relations from other projects to this one (e.g. projects merged into it or reusing it).
    fn related_from(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ProjectRelation>> {
        let rows = context.l.relations_to.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::relations_by_projects,
            |r| r.to_project_id,
            n(first),
        )?;
        context.keys.projects.lk().extend(rows.iter().map(|r| r.from_project_id));
        Ok(rows.into_iter().map(|r| ProjectRelation { other: r.from_project_id, row: r }).collect())
    }
    /// Participating organisations; filter by role and status.
    fn participations(
        &self,
        context: &Ctx,
        role: Option<Vec<ParticipationRole>>,
        status: Option<Vec<ParticipationStatus>>,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Participation>> {
        let rows = context.l.project_participations.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::participations_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        let rows = rows
            .into_iter()
            .filter(|r| role.as_ref().is_none_or(|rs| rs.iter().any(|x| x.code() == r.role)))
            .filter(|r| status.as_ref().is_none_or(|ss| ss.iter().any(|x| x.code() == r.status)))
            .collect();
        Ok(context.participations(context.take(rows, first)))
    }
    /// Calls for participation; `open: true` for the open ones only.
    fn calls(
        &self,
        context: &Ctx,
        open: Option<bool>,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Call>> {
        let rows = context.l.project_calls.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::calls_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        let rows = rows.into_iter().filter(|c| open.is_none_or(|o| o == (c.status == "OPEN"))).collect();
        Ok(context.calls(context.take(rows, first)))
    }
    fn has_open_call(&self, context: &Ctx) -> FieldResult<bool> {
        let rows = context.l.project_calls.uncounted(
            context,
            &self.0.id,
            &context.keys.projects,
            read::calls_by_projects,
            |r| r.project_id,
            usize::MAX,
        )?;
        Ok(rows.iter().any(|c| c.status == "OPEN"))
    }
    fn reuse_declarations(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ReuseDeclaration>> {
        let rows = context.l.project_reuse.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::reuse_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        Ok(context.reuse(rows))
    }
    /// Contact persons (signed-in users only: null with an UNAUTHENTICATED error for anonymous readers).
    fn contacts(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Option<Vec<Contact>>> {
        require_signed_in(context)?;
        let rows = context.l.project_contacts.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            crate::store::auth::contacts_by_projects,
            |r| r.project_id.unwrap_or_default(),
            n(first),
        )?;
        Ok(Some(rows.into_iter().map(Contact).collect()))
    }
    fn events(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<EventLink>> {
        let rows = context.l.project_events.many_first(
            context,
            &self.0.id,
            &context.keys.projects,
            read::event_projects_by_projects,
            |r| r.project_id,
            n(first),
        )?;
        context.keys.events.lk().extend(rows.iter().map(|r| r.event_id));
        Ok(rows.into_iter().map(EventLink).collect())
    }
    /// Increases with every change; pass it as `expectedVersion` when updating.
    fn version(&self) -> i32 {
        self.0.version
    }
    fn created_at(&self) -> FieldResult<Timestamp> {
        timestamp(&self.0.created_at)
    }
    fn updated_at(&self) -> FieldResult<Timestamp> {
        timestamp(&self.0.updated_at)
    }
}

/// An OZG-Leistung as part of a project.
pub struct ProjectService(ProjectServiceRow);

#[graphql_object(context = Ctx)]
impl ProjectService {
    fn ozg_id(&self) -> OzgId {
        OzgId::parse(&self.0.ozg_id).expect("checked by the schema")
    }
    fn service(&self, context: &Ctx) -> FieldResult<OzgService> {
        context.service_by_id(&self.0.ozg_id)
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// A portal, transport, standard, form technology or method.
pub struct Platform(Arc<PlatformRow>);

#[graphql_object(context = Ctx)]
impl Platform {
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    fn kind(&self) -> FieldResult<PlatformKind> {
        parse_vocab(&self.0.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<PlatformKind>(&self.0.kind).map(|k| k.label())
    }
    fn operator(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.operator_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

/// How a project uses a platform.
pub struct PlatformUse(ProjectPlatformRow);

#[graphql_object(context = Ctx)]
impl PlatformUse {
    fn platform(&self, context: &Ctx) -> FieldResult<Platform> {
        let id = self.0.platform_id;
        let row = context.l.platform.one(context, &id, &context.keys.platforms, read::platforms_by_ids, |r| r.id)?;
        let row = row.ok_or_else(|| internal_error(&format!("platform {id} vanished")))?;
        if let Some(o) = row.operator_id {
            context.keys.orgs.lk().insert(o);
        }
        Ok(Platform(row))
    }
    fn usage(&self) -> FieldResult<PlatformUsage> {
        parse_vocab(&self.0.usage)
    }
    fn usage_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<PlatformUsage>(&self.0.usage).map(|u| u.label())
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

pub struct Funding(FundingRow);

#[graphql_object(context = Ctx)]
impl Funding {
    fn source(&self) -> &str {
        &self.0.source
    }
    /// E.g. "Fördersteckbrief".
    fn instrument(&self) -> Option<&str> {
        self.0.instrument.as_deref()
    }
    fn status(&self) -> FieldResult<FundingStatus> {
        parse_vocab(&self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<FundingStatus>(&self.0.status).map(|s| s.label())
    }
    fn funder(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.funder_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
}

pub struct Step(pub StepRow);

#[graphql_object(context = Ctx)]
impl Step {
    fn id(&self) -> juniper::ID {
        juniper::ID::new(self.0.id.to_string())
    }
    fn position(&self) -> i32 {
        self.0.position
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn description(&self) -> Option<&str> {
        self.0.description.as_deref()
    }
    fn status(&self) -> FieldResult<StepStatus> {
        parse_vocab(&self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<StepStatus>(&self.0.status).map(|s| s.label())
    }
}

/// A dated milestone, planned and/or reached.
pub struct Milestone(pub MilestoneRow);

#[graphql_object(context = Ctx)]
impl Milestone {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn phase(&self) -> FieldResult<Option<Phase>> {
        self.0.phase.as_deref().map(parse_vocab).transpose()
    }
    fn planned(&self) -> Option<PartialDate> {
        parse_date(&self.0.planned)
    }
    /// German wording of the planned date, e.g. "1. Quartal 2021".
    fn planned_label(&self) -> Option<String> {
        parse_date(&self.0.planned).map(|d| d.label())
    }
    fn actual(&self) -> Option<PartialDate> {
        parse_date(&self.0.actual)
    }
    fn actual_label(&self) -> Option<String> {
        parse_date(&self.0.actual).map(|d| d.label())
    }
    fn reached(&self) -> bool {
        self.0.actual.is_some()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.keys.projects.lk().insert(self.0.project_id);
        context.project_by_id(self.0.project_id)
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}

pub struct ProjectRelation {
    row: RelationRow,
    other: i32,
}

#[graphql_object(context = Ctx)]
impl ProjectRelation {
    fn kind(&self) -> FieldResult<RelationKind> {
        parse_vocab(&self.row.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<RelationKind>(&self.row.kind).map(|k| k.label())
    }
    /// The project on the other side.
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.other)
    }
    fn note(&self) -> Option<&str> {
        self.row.note.as_deref()
    }
}

// ---- participation, calls, reuse -------------------------------------------------------------

/// An organisation's role in a project.
pub struct Participation(pub ParticipationRow);

#[graphql_object(context = Ctx)]
impl Participation {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    fn organisation(&self, context: &Ctx) -> FieldResult<Organisation> {
        context.org_by_id(self.0.organisation_id)
    }
    fn role(&self) -> FieldResult<ParticipationRole> {
        parse_vocab(&self.0.role)
    }
    fn role_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<ParticipationRole>(&self.0.role).map(|r| r.label())
    }
    fn status(&self) -> FieldResult<ParticipationStatus> {
        parse_vocab(&self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<ParticipationStatus>(&self.0.status).map(|s| s.label())
    }
    fn since(&self) -> Option<PartialDate> {
        parse_date(&self.0.since)
    }
    fn until(&self) -> Option<PartialDate> {
        parse_date(&self.0.until)
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn version(&self) -> i32 {
        self.0.version
    }
    fn created_at(&self) -> FieldResult<Timestamp> {
        timestamp(&self.0.created_at)
    }
    fn updated_at(&self) -> FieldResult<Timestamp> {
        timestamp(&self.0.updated_at)
    }
}

/// A call for participation (Aufruf, Interessensbekundung).
pub struct Call(pub CallRow);

#[graphql_object(context = Ctx)]
impl Call {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    /// Who issued the call.
    fn issuer(&self, context: &Ctx) -> FieldResult<Organisation> {
        context.org_by_id(self.0.issuer_id)
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn body(&self) -> &str {
        &self.0.body
    }
    fn roles_sought(&self, context: &Ctx) -> FieldResult<Vec<ParticipationRole>> {
        let rows =
            context
                .l
                .call_roles
                .many(context, &self.0.id, &context.keys.calls, read::call_roles_by_calls, |r| r.call_id)?;
        let mut roles = rows.iter().map(|r| parse_vocab(&r.role)).collect::<FieldResult<Vec<ParticipationRole>>>()?;
        roles.sort();
        Ok(roles)
    }
    /// Whether the call also invites declarations of reuse.
    fn invites_reuse(&self) -> bool {
        self.0.invites_reuse
    }
    fn opened_on(&self) -> Option<PartialDate> {
        PartialDate::parse(&self.0.opened_on).ok()
    }
    fn opened_on_label(&self) -> Option<String> {
        PartialDate::parse(&self.0.opened_on).ok().map(|d| d.label())
    }
    fn closes_on(&self) -> Option<PartialDate> {
        parse_date(&self.0.closes_on)
    }
    fn status(&self) -> FieldResult<CallStatus> {
        parse_vocab(&self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<CallStatus>(&self.0.status).map(|s| s.label())
    }
    /// Open and its closing date (if any) not yet passed.
    fn is_open(&self) -> bool {
        let today = PartialDate::today().start();
        self.0.status == "OPEN" && parse_date(&self.0.closes_on).is_none_or(|c| c.not_over(today))
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}

/// A Land's or Kommune's declaration that it wants to reuse a project's solution (Nachnutzung).
pub struct ReuseDeclaration(pub ReuseRow);

#[graphql_object(context = Ctx)]
impl ReuseDeclaration {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    /// The registry instance this record is homed at; it can be changed only there.
    fn origin(&self, context: &Ctx) -> FieldResult<String> {
        context.origin(&self.0.origin)
    }
    /// Whether this record is homed at this registry (else it is a read-only replica).
    fn homed_here(&self) -> bool {
        self.0.origin.is_none()
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    fn organisation(&self, context: &Ctx) -> FieldResult<Organisation> {
        context.org_by_id(self.0.organisation_id)
    }
    fn status(&self) -> FieldResult<ReuseStatus> {
        parse_vocab(&self.0.status)
    }
    fn status_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<ReuseStatus>(&self.0.status).map(|s| s.label())
    }
    /// The statuses `advanceReuseDeclaration` / `withdrawReuseDeclaration` accept next.
    fn allowed_next_statuses(&self) -> FieldResult<Vec<ReuseStatus>> {
        let s: ReuseStatus = parse_vocab(&self.0.status)?;
        Ok(s.allowed_next().iter().copied().filter(|n| *n != ReuseStatus::Interest).collect())
    }
    fn declared_on(&self) -> Option<PartialDate> {
        parse_date(&self.0.declared_on)
    }
    fn planned_live(&self) -> Option<PartialDate> {
        parse_date(&self.0.planned_live)
    }
    fn actual_live(&self) -> Option<PartialDate> {
        parse_date(&self.0.actual_live)
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn version(&self) -> i32 {
        self.0.version
    }
}

/// A workshop, meeting or decision that concerns projects.
pub struct Event(pub Arc<EventRow>);

#[graphql_object(context = Ctx)]
impl Event {
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn kind(&self) -> FieldResult<EventKind> {
        parse_vocab(&self.0.kind)
    }
    fn kind_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<EventKind>(&self.0.kind).map(|k| k.label())
    }
    fn held_on(&self) -> Option<PartialDate> {
        PartialDate::parse(&self.0.held_on).ok()
    }
    fn held_on_label(&self) -> Option<String> {
        PartialDate::parse(&self.0.held_on).ok().map(|d| d.label())
    }
    fn location(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.location_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn organiser(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        self.0.organiser_id.map(|o| context.org_by_id(o)).transpose()
    }
    fn note(&self) -> Option<&str> {
        self.0.note.as_deref()
    }
    fn projects(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<EventLink>> {
        let rows = context.l.event_projects.many_first(
            context,
            &self.0.id,
            &context.keys.events,
            read::event_projects_by_events,
            |r| r.event_id,
            n(first),
        )?;
        context.keys.projects.lk().extend(rows.iter().map(|r| r.project_id));
        Ok(rows.into_iter().map(EventLink).collect())
    }
}

/// An event's bearing on one project.
pub struct EventLink(EventProjectRow);

#[graphql_object(context = Ctx)]
impl EventLink {
    fn event(&self, context: &Ctx) -> FieldResult<Event> {
        let id = self.0.event_id;
        let row = context.l.event.one(context, &id, &context.keys.events, read::events_by_ids, |r| r.id)?;
        row.map(Event).ok_or_else(|| internal_error(&format!("event {id} vanished")))
    }
    fn project(&self, context: &Ctx) -> FieldResult<Project> {
        context.project_by_id(self.0.project_id)
    }
    fn outcome(&self) -> Option<&str> {
        self.0.outcome.as_deref()
    }
}

// ---- change log -----------------------------------------------------------------------------

/// One entry of the change log.
pub struct ChangeEntry(pub ChangeRow);

/// One field's value before and after, as JSON text.
#[derive(GraphQLObject)]
pub struct FieldChange {
    pub field: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

#[graphql_object(context = Ctx, name = "Change")]
impl ChangeEntry {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    fn at(&self) -> FieldResult<Timestamp> {
        timestamp(&self.0.at)
    }
    /// Who made the change (the token's subject); shown to coordinators and admins only.
    fn actor(&self, context: &Ctx) -> Option<&str> {
        context.actor.sees_actors().then_some(self.0.actor.as_str())
    }
    /// The actor's role (anonymous, municipality, coordinator, admin, system); coordinators and admins only.
    fn actor_role(&self, context: &Ctx) -> Option<&str> {
        context.actor.sees_actors().then_some(self.0.actor_role.as_str())
    }
    /// The actor's organisation; coordinators and admins only.
    fn actor_organisation(&self, context: &Ctx) -> FieldResult<Option<Organisation>> {
        match (context.actor.sees_actors(), self.0.actor_organisation_id) {
            (true, Some(o)) => context.org_by_id(o).map(Some),
            _ => Ok(None),
        }
    }
    /// The issuer of the actor's token; coordinators and admins only.
    fn actor_issuer(&self, context: &Ctx) -> Option<&str> {
        if context.actor.sees_actors() { self.0.actor_issuer.as_deref() } else { None }
    }
    /// APPLIED, or DENIED for a refused attempt (those are listed for coordinators and admins only).
    fn outcome(&self) -> &str {
        &self.0.outcome
    }
    fn action(&self) -> FieldResult<ChangeAction> {
        parse_vocab(&self.0.action)
    }
    fn action_label(&self) -> FieldResult<&'static str> {
        parse_vocab::<ChangeAction>(&self.0.action).map(|a| a.label())
    }
    /// Project, Participation, Call, ReuseDeclaration, Milestone, Organisation, …
    fn entity_type(&self) -> &str {
        &self.0.entity_type
    }
    /// The changed record's slug or id.
    fn entity_id(&self) -> &str {
        &self.0.entity_id
    }
    fn project(&self, context: &Ctx) -> FieldResult<Option<Project>> {
        self.0.project_id.map(|p| context.project_by_id(p)).transpose()
    }
    /// One German sentence saying what happened.
    fn summary(&self) -> &str {
        &self.0.summary
    }
    /// Field values before and after; entries about personal data show them to signed-in users only.
    fn fields(&self, context: &Ctx) -> FieldResult<Vec<FieldChange>> {
        if self.0.personal && !context.actor.is_authenticated() {
            return Ok(vec![]);
        }
        let v: serde_json::Value =
            serde_json::from_str(&self.0.changes).map_err(|e| internal_error(&format!("change {}: {e}", self.0.id)))?;
        let text = |x: Option<&serde_json::Value>| x.filter(|v| !v.is_null()).map(|v| v.to_string());
        Ok(v.as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, c)| FieldChange {
                        field: k.clone(),
                        before: text(c.get("before")),
                        after: text(c.get("after")),
                    })
                    .collect()
            })
            .unwrap_or_default())
    }
}

/// The values of one enumeration with their German labels.
#[derive(GraphQLObject)]
pub struct VocabularyInfo {
    pub name: String,
    pub values: Vec<VocabularyValue>,
}

#[derive(GraphQLObject)]
pub struct VocabularyValue {
    pub code: String,
    pub label: String,
}

pub fn vocabulary<T: Vocabulary>() -> VocabularyInfo {
    VocabularyInfo {
        name: T::NAME.to_owned(),
        values: T::ALL.iter().map(|v| VocabularyValue { code: v.code().into(), label: v.label().into() }).collect(),
    }
}

// ---- contact persons ------------------------------------------------------------------------

/// A contact person (personal data: signed-in users only).
pub struct Contact(pub ContactRow);

#[graphql_object(context = Ctx)]
impl Contact {
    fn id(&self) -> ID {
        ID::new(self.0.id.to_string())
    }
    fn name(&self) -> &str {
        &self.0.name
    }
    fn function(&self) -> Option<&str> {
        self.0.function.as_deref()
    }
    fn email(&self) -> Option<&str> {
        self.0.email.as_deref()
    }
    fn phone(&self) -> Option<&str> {
        self.0.phone.as_deref()
    }
}

/// Contact persons are personal data: anonymous readers get UNAUTHENTICATED for this field.
fn require_signed_in(context: &Ctx) -> FieldResult<()> {
    if context.actor.is_authenticated() {
        Ok(())
    } else {
        Err(super::errors::field_error(crate::error::AppError::user(
            crate::error::ErrorCode::Unauthenticated,
            None,
            "contact persons are shown to signed-in users only",
        )))
    }
}

// ---- newsletter editions --------------------------------------------------------------------

/// A newsletter: a topic field for an audience, with its published editions.
pub struct NewsletterDefinition(pub DefinitionRow);

#[graphql_object(context = Ctx)]
impl NewsletterDefinition {
    fn slug(&self) -> &str {
        &self.0.slug
    }
    fn title(&self) -> &str {
        &self.0.title
    }
    fn topic_field(&self, context: &Ctx) -> FieldResult<TopicField> {
        context.topic_field(&self.0.topic_field_slug)
    }
    fn audience(&self) -> &str {
        &self.0.audience
    }
    /// Published editions, oldest first, each stored as it was published.
    fn editions(
        &self,
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<NewsletterEdition>> {
        context.charge(0);
        let rows = context.read(|c| crate::store::newsletter::editions_first(c, self.0.id, first.max(0).into()))?;
        Ok(context.take(rows, first).into_iter().map(NewsletterEdition).collect())
    }
}

/// One published edition, unchanged since publication.
pub struct NewsletterEdition(pub EditionRow);

#[graphql_object(context = Ctx)]
impl NewsletterEdition {
    fn number(&self) -> i32 {
        self.0.number
    }
    fn published_at(&self) -> FieldResult<Timestamp> {
        timestamp(&self.0.published_at)
    }
    /// The previous edition's publication: "what changed" covers the time since.
    fn since(&self) -> Option<Timestamp> {
        self.0.since.as_deref().and_then(|s| Timestamp::parse(s).ok())
    }
    /// The edition's text in a format, with a generic unsubscribe link.
    fn body(&self, format: Option<crate::newsletter::Format>) -> String {
        let f = format.unwrap_or(crate::newsletter::Format::Text);
        crate::service::newsletter::render_for(&self.0, f, "/newsletter/unsubscribe")
    }
    /// The structured issue as it was published.
    fn issue(&self) -> FieldResult<crate::newsletter::Issue> {
        serde_json::from_str(&self.0.issue).map_err(|e| internal_error(&format!("stored edition: {e}")))
    }
}

/// This registry in the federation: its instance id and the peers it replicates from.
pub struct FederationStatus {
    pub instance_id: String,
    pub peers: Vec<Peer>,
}

#[graphql_object(context = Ctx)]
impl FederationStatus {
    /// The id records homed here carry as their `origin`.
    fn instance_id(&self) -> &str {
        &self.instance_id
    }
    fn peers(&self) -> &[Peer] {
        &self.peers
    }
}

/// A registry this one replicates from, with the state of its sync.
pub struct Peer {
    pub row: crate::store::federation::PeerRow,
    pub records: i64,
    pub orphaned: i64,
}

fn clamp(n: i64) -> i32 {
    n.clamp(0, i64::from(i32::MAX)) as i32
}

#[graphql_object(context = Ctx)]
impl Peer {
    fn instance_id(&self) -> &str {
        &self.row.instance_id
    }
    fn url(&self) -> &str {
        &self.row.base_url
    }
    /// The pinned Ed25519 public key (base64url) its feed entries must be signed with.
    fn public_key(&self) -> &str {
        &self.row.public_key
    }
    /// Where the next sync continues in the peer's feed.
    fn cursor(&self) -> String {
        self.row.feed_cursor.to_string()
    }
    fn last_attempt_at(&self) -> Option<&str> {
        self.row.last_attempt_at.as_deref()
    }
    fn last_success_at(&self) -> Option<&str> {
        self.row.last_success_at.as_deref()
    }
    /// The last error (kept after a later success, with its time): a fixed message per
    /// `lastErrorCode`; admins see the detail instead.
    fn last_error(&self, context: &Ctx) -> Option<String> {
        if context.actor.role == crate::auth::Role::Admin {
            return self.row.last_error.clone();
        }
        match (self.last_error_code(), &self.row.last_error) {
            (Some(c), _) => Some(c.label().to_owned()),
            (None, Some(_)) => Some("The last sync with this peer failed.".to_owned()),
            (None, None) => None,
        }
    }
    /// Why the last sync failed, as a stable code (kept with `lastError`).
    fn last_error_code(&self) -> Option<PeerErrorCode> {
        self.row.last_error_code.as_deref().and_then(|c| PeerErrorCode::parse(c).ok())
    }
    fn last_error_at(&self) -> Option<&str> {
        self.row.last_error_at.as_deref()
    }
    /// Failed rounds in a row; from 3 on, the peer rests until `circuitOpenUntil`.
    fn consecutive_failures(&self) -> i32 {
        self.row.consecutive_failures
    }
    fn circuit_open_until(&self) -> Option<&str> {
        self.row.open_until.as_deref()
    }
    /// Records taken over from this peer, all time.
    fn imported(&self) -> i32 {
        clamp(self.row.imported)
    }
    /// Pages refused (bad signature, wrong origin, malformed).
    fn rejected_pages(&self) -> i32 {
        clamp(self.row.rejected_pages)
    }
    /// Replicated records held from this peer now.
    fn records(&self) -> i32 {
        clamp(self.records)
    }
    /// Of those, the ones the peer no longer publishes (found by the last full reconcile).
    fn orphaned(&self) -> i32 {
        clamp(self.orphaned)
    }
    fn last_reconcile_at(&self) -> Option<&str> {
        self.row.last_reconcile_at.as_deref()
    }
}
