//! Reference data: Länder, Themenfelder with their leads, OZG-Leistungen, LeiKa-Leistungen, vocabularies.

use std::sync::Arc;

use juniper::{FieldResult, GraphQLObject, graphql_object};

use super::super::context::{Ctx, Lk};
use super::*;
use crate::store::read;

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

pub struct TopicFieldLead(pub TopicFieldLeadRow);

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
        Ok(self.0.federal_priority)
    }
    fn federal_priority_label(&self) -> FieldResult<&'static str> {
        Ok(self.0.federal_priority.label())
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
