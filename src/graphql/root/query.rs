//! The query root.

use juniper::{Executor, FieldResult, GraphQLObject, graphql_object};

use super::super::context::{Ctx, Lk};
use super::super::errors::field_error;
use super::super::types::*;
use super::*;
use crate::domain::*;
use crate::error::AppError;
use crate::service;
use crate::store::{changes, read};

/// A generated newsletter issue and its rendered text.
#[derive(GraphQLObject)]
#[graphql(context = Ctx)]
pub struct NewsletterResult {
    pub issue: crate::newsletter::Issue,
    pub format: crate::newsletter::Format,
    /// The issue rendered in `format` (HTML escaped; Markdown with markup characters escaped).
    pub body: String,
}

/// A data set the registry ships, with its licence and the credit it requires.
#[derive(GraphQLObject)]
pub struct DataSource {
    pub dataset: String,
    pub source: String,
    pub licence: String,
    pub credit: String,
}

pub struct Query;

#[graphql_object(context = Ctx, scalar = juniper::DefaultScalarValue)]
impl Query {
    /// The API's version.
    fn api_version() -> &'static str {
        env!("CARGO_PKG_VERSION")
    }

    fn lands(context: &Ctx) -> FieldResult<Vec<Land>> {
        Ok(context.lands()?.iter().cloned().map(Land).collect())
    }

    /// The 14 OZG-Themenfelder.
    fn topic_fields(context: &Ctx) -> FieldResult<Vec<TopicField>> {
        Ok(context.topic_field_objects(context.topic_fields()?.to_vec()))
    }

    fn topic_field(context: &Ctx, slug: String) -> FieldResult<Option<TopicField>> {
        let t = context.topic_fields()?.iter().find(|t| t.slug == slug).cloned();
        Ok(t.map(|t| context.topic_field_objects(vec![t]).remove(0)))
    }

    fn ozg_service(context: &Ctx, ozg_id: OzgId) -> FieldResult<Option<OzgService>> {
        let rows = context.read(|c| read::ozg_services_by_ids(c, &[ozg_id.as_str().to_owned()]))?;
        Ok(context.services(rows).pop())
    }

    fn ozg_services(
        context: &Ctx,
        executor: &Executor<'_, '_, Ctx>,
        filter: Option<OzgServiceFilter>,
        first: i32,
        after: Option<String>,
    ) -> FieldResult<OzgServiceConnection> {
        let (offset, limit) = window(first, after)?;
        let mut f = read::ServiceFilter::default();
        if let Some(filter) = filter {
            f.topic_field = filter.topic_field.map(|t| slug_of_topic(context, &t)).transpose()?;
            f.name_contains = search_text("filter.nameContains", filter.name_contains)?;
            f.federal_priority = filter.federal_priority.map(|p| p.code().to_owned());
        }
        let rows = context.read(|c| read::ozg_services_rows(c, &f, offset, limit))?;
        let total = total_of(context, executor, format!("services {f:?}"), offset, rows.len(), |c| {
            read::ozg_services_count(c, &f)
        })?;
        Ok(OzgServiceConnection::from_offset(context.services(rows), offset, total))
    }

    /// A LeiKa-Leistung by its 14-digit key.
    fn leika_service(context: &Ctx, key: LeikaKey) -> FieldResult<Option<LeikaService>> {
        let row = context.read(|c| read::leika_by_key(c, key.as_str()))?;
        if let Some(id) = row.as_ref().and_then(|r| r.ozg_id.clone()) {
            context.keys.services.lk().insert(id);
        }
        Ok(row.map(LeikaService))
    }

    /// One organisation by exactly one of id, AGS, ARS or slug.
    fn organisation(
        context: &Ctx,
        id: Option<juniper::ID>,
        ags: Option<Ags>,
        ars: Option<Ars>,
        slug: Option<String>,
    ) -> FieldResult<Option<Organisation>> {
        let given = [id.is_some(), ags.is_some(), ars.is_some(), slug.is_some()].iter().filter(|b| **b).count();
        if given != 1 {
            return Err(field_error(AppError::bad_input("id", "give exactly one of id, ags, ars or slug")));
        }
        let row = if let Some(id) = id {
            let id = OrganisationId::from(service::parse_id(&id, "id").map_err(field_error)?);
            context.read(|c| read::organisation_by_id(c, id))?
        } else if let Some(a) = ags {
            context.read(|c| read::organisation_by_ags(c, a.as_str()))?
        } else if let Some(a) = ars {
            context.read(|c| read::organisation_by_ars(c, a.as_str()))?
        } else {
            let s = slug.unwrap_or_default();
            context.read(|c| read::organisation_by_slug(c, &s))?
        };
        Ok(row.map(|r| context.organisations(vec![r]).remove(0)))
    }

    fn organisations(
        context: &Ctx,
        executor: &Executor<'_, '_, Ctx>,
        filter: Option<OrganisationFilter>,
        first: i32,
        after: Option<String>,
    ) -> FieldResult<OrganisationConnection> {
        let (offset, limit) = window(first, after)?;
        let mut f = read::OrganisationFilter::default();
        if let Some(filter) = filter {
            f.kind = filter.kind;
            f.land = filter.land.map(|l| land_of(context, &l, "filter.land")).transpose()?;
            f.name_contains = search_text("filter.nameContains", filter.name_contains)?;
        }
        let rows = context.read(|c| read::organisations_rows(c, &f, offset, limit))?;
        let total = total_of(context, executor, format!("organisations {f:?}"), offset, rows.len(), |c| {
            read::organisations_count(c, &f)
        })?;
        Ok(OrganisationConnection::from_offset(context.organisations(rows), offset, total))
    }

    fn project(context: &Ctx, slug: String) -> FieldResult<Option<Project>> {
        let row = context.read(|c| read::project_by_slug(c, &slug))?;
        Ok(row.map(|r| context.projects(vec![r]).remove(0)))
    }

    fn projects(
        context: &Ctx,
        executor: &Executor<'_, '_, Ctx>,
        filter: Option<ProjectFilter>,
        first: i32,
        after: Option<String>,
    ) -> FieldResult<ProjectConnection> {
        let (offset, limit) = window(first, after)?;
        let mut f = read::ProjectFilter::default();
        if let Some(filter) = filter {
            f.topic_field = filter.topic_field.map(|t| slug_of_topic(context, &t)).transpose()?;
            f.phases = short_list("filter.phase", filter.phase)?;
            f.lead_land = filter.lead_land.map(|l| land_of(context, &l, "filter.leadLand")).transpose()?;
            f.ozg_id = filter.ozg_id.map(|o| o.as_str().to_owned());
            f.has_open_call = filter.has_open_call;
            f.title_contains = search_text("filter.titleContains", filter.title_contains)?;
            f.organisation_id = filter.participant.map(|r| org_ref(context, &r, "filter.participant")).transpose()?;
            let me = if filter.origin.is_some() { context.instance_id()? } else { String::new() };
            f.origin = match (filter.origin, filter.homed_here) {
                (Some(_), Some(_)) => {
                    return Err(field_error(AppError::bad_input(
                        "filter.origin",
                        "filter: give origin or homedHere, not both",
                    )));
                }
                (Some(o), None) if o == me => Some(None),
                (Some(o), None) => Some(Some(o)),
                (None, Some(true)) => Some(None),
                (None, Some(false)) => None,
                (None, None) => None,
            };
            if filter.homed_here == Some(false) {
                f.replicated_only = true;
            }
        }
        let look = executor.look_ahead();
        let rows = context.read(|c| read::projects_rows(c, &f, offset, limit))?;
        let total = total_of(context, executor, format!("projects {f:?}"), offset, rows.len(), |c| {
            read::projects_count(c, &f)
        })?;
        let first_id = rows.first().map(|r| r.id);
        let projects = context.projects(rows);
        if let Some(id) = first_id
            && let Some(node) = look.children().select("edges").and_then(|e| e.children().select("node"))
        {
            let selected: Vec<&str> = node.children().iter().map(|c| c.field_original_name()).collect();
            context.prefetch_project_lists(id, &selected)?;
        }
        Ok(ProjectConnection::from_offset(projects, offset, total))
    }

    /// Calls for participation; `open: true` for those still open.
    fn calls(
        context: &Ctx,
        open: Option<bool>,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Call>> {
        let status = open.map(|o| if o { CallStatus::Open } else { CallStatus::Closed });
        let rows = context.read(|c| read::calls_filtered_first(c, status, None, first.max(0).into()))?;
        Ok(context.calls(context.take(rows, first)))
    }

    fn reuse_declarations(
        context: &Ctx,
        filter: Option<ReuseFilter>,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<ReuseDeclaration>> {
        let mut f = read::ReuseFilter { limit: Some(first.max(0).into()), ..Default::default() };
        if let Some(filter) = filter {
            if let Some(slug) = filter.project_slug {
                let p = context
                    .with_conn(|c| service::find_project(c, &slug, "filter.projectSlug"))
                    .map_err(field_error)?;
                f.project_id = Some(p.id);
            }
            f.organisation_id = filter.organisation.map(|r| org_ref(context, &r, "filter.organisation")).transpose()?;
            f.statuses =
                short_list("filter.status", filter.status)?.map(|s| s.iter().map(|x| x.code().to_owned()).collect());
        }
        let rows = context.read(|c| read::reuse_filtered(c, &f))?;
        Ok(context.reuse(context.take(rows, first)))
    }

    /// Workshops, meetings and decisions, oldest first.
    fn events(
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<Event>> {
        let rows = context.read(|c| read::events_first(c, first.max(0).into()))?;
        Ok(context.events(context.take(rows, first)))
    }

    /// This registry's place in the federation: its instance id and each peer's sync status.
    fn federation_status(context: &Ctx) -> FieldResult<FederationStatus> {
        let instance_id = context.instance_id()?;
        let (rows, counts) = context
            .read(|c| Ok((crate::store::federation::peers(c)?, crate::store::federation::federated_counts(c)?)))?;
        let peers = rows
            .into_iter()
            .map(|row| {
                let (records, orphaned) =
                    counts.iter().find(|(o, _, _)| *o == row.instance_id).map_or((0, 0), |(_, n, o)| (*n, *o));
                Peer { row, records, orphaned }
            })
            .collect();
        Ok(FederationStatus { instance_id, peers })
    }

    /// The change log, oldest first: every write with who, what and when.
    fn changes(
        context: &Ctx,
        since: Option<Timestamp>,
        project_slug: Option<String>,
        entity_type: Option<String>,
        first: i32,
        after: Option<String>,
    ) -> FieldResult<ChangeConnection> {
        let limit = page_size(first)?;
        let entity_type = search_text("entityType", entity_type)?;
        let mut f = changes::ChangeFilter {
            since: since.map(|s| s.to_db()),
            entity_type,
            after_id: after.map(|a| decode_cursor("change", &a)).transpose().map_err(field_error)?,
            with_denied: context.actor.sees_actors(),
            ..Default::default()
        };
        if let Some(slug) = project_slug {
            let p = context.with_conn(|c| service::find_project(c, &slug, "projectSlug")).map_err(field_error)?;
            f.project_id = Some(p.id);
        }
        let (rows, total) = context.read(|c| changes::page(c, &f, limit + 1))?;
        let has_next = rows.len() as i64 > limit;
        let edges: Vec<ChangeEdge> = rows
            .into_iter()
            .take(limit as usize)
            .map(|r| ChangeEdge { cursor: encode_cursor("change", r.id), node: ChangeEntry(r) })
            .collect();
        context.keys.projects.lk().extend(edges.iter().filter_map(|e| e.node.0.project_id));
        Ok(ChangeConnection {
            page_info: PageInfo {
                has_next_page: has_next,
                has_previous_page: f.after_id.is_some(),
                start_cursor: edges.first().map(|e| e.cursor.clone()),
                end_cursor: edges.last().map(|e| e.cursor.clone()),
            },
            edges,
            total_count: total as i32,
        })
    }

    /// The newsletter of a topic field, generated from the registry: the structured issue and its
    /// text in the requested format; `since` adds what changed since then.
    fn newsletter(
        context: &Ctx,
        topic_field: String,
        since: Option<Timestamp>,
        format: Option<crate::newsletter::Format>,
    ) -> FieldResult<NewsletterResult> {
        let topic = slug_of_topic(context, &topic_field)?;
        let issue = context.with_conn(|c| crate::newsletter::build(c, &topic, since.as_ref())).map_err(field_error)?;
        let format = format.unwrap_or(crate::newsletter::Format::Text);
        let body = crate::newsletter::render(&issue, format, &crate::newsletter::RenderContext::default())
            .map_err(field_error)?;
        Ok(NewsletterResult { issue, format, body })
    }

    /// Newsletters with their published editions.
    fn newsletter_definitions(
        context: &Ctx,
        #[graphql(default = 100, description = "At most this many items (1 to 1000).")] first: i32,
    ) -> FieldResult<Vec<NewsletterDefinition>> {
        let rows = context.read(|c| crate::store::newsletter::definitions_first(c, first.max(0).into()))?;
        Ok(context.take(rows, first).into_iter().map(NewsletterDefinition).collect())
    }

    /// Where the reference data comes from, with the credit each licence asks for.
    fn data_sources() -> Vec<DataSource> {
        vec![
            DataSource {
                dataset: "Kreise und kreisfreie Städte (401, mit Kreisschlüssel)".into(),
                source: "Statistisches Bundesamt (Destatis), Gemeindeverzeichnis, Stand 31.12.2018".into(),
                licence: "CC BY 4.0".into(),
                credit: "Statistisches Bundesamt (Destatis), 2019, Datenlizenz CC BY 4.0".into(),
            },
            DataSource {
                dataset: "OZG-Themenfelder, OZG-Leistungen, LeiKa-Leistungen".into(),
                source: "KDN OZG-Datenbank NRW (kdn-nrw/OZG-Datenbank-NRW, doc-dev/databases/symfony.data.sql)".into(),
                licence: "MIT".into(),
                credit: "Copyright (c) 2020 Gert Hammes".into(),
            },
            DataSource {
                dataset: "Projekte, Beteiligungen, Aufrufe und Nachnutzungen im Themenfeld Ein- & Auswanderung".into(),
                source: "KDN-Newsletter OZG-Themenfeld Ein- und Auswanderung (Ende 2020)".into(),
                licence: "Fakten mit Quellenangabe".into(),
                credit: "KDN – Dachverband kommunaler IT-Dienstleister".into(),
            },
        ]
    }

    /// Every enumeration with its codes and German labels.
    fn vocabularies() -> Vec<VocabularyInfo> {
        vec![
            vocabulary::<Phase>(),
            vocabulary::<DeliveryModel>(),
            vocabulary::<OrganisationKind>(),
            vocabulary::<ParticipationRole>(),
            vocabulary::<ParticipationStatus>(),
            vocabulary::<ReuseStatus>(),
            vocabulary::<CallStatus>(),
            vocabulary::<PlatformKind>(),
            vocabulary::<PlatformUsage>(),
            vocabulary::<FundingStatus>(),
            vocabulary::<StepStatus>(),
            vocabulary::<RelationKind>(),
            vocabulary::<EventKind>(),
            vocabulary::<FederalPriority>(),
            vocabulary::<ChangeAction>(),
        ]
    }
}
