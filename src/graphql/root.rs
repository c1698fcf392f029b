//! The query and mutation roots.

use juniper::{Executor, FieldResult, GraphQLInputObject, GraphQLObject, graphql_object};

use super::context::{Ctx, Lk};
use super::errors::{UserError, field_error, payload};
use super::types::*;
use crate::domain::*;
use crate::error::{AppError, ErrorCode};
use crate::service::{self, OrganisationRef};
use crate::store::{changes, read};

/// Largest page a client can ask for.
pub const MAX_PAGE: i32 = 100;

#[derive(GraphQLObject)]
pub struct PageInfo {
    pub has_next_page: bool,
    pub has_previous_page: bool,
    pub start_cursor: Option<String>,
    pub end_cursor: Option<String>,
}

/// Cursors are opaque to clients: hex of "kind:number".
fn encode_cursor(kind: &str, n: i64) -> String {
    format!("{kind}:{n}").bytes().map(|b| format!("{b:02x}")).collect()
}

fn decode_cursor(kind: &str, c: &str) -> Result<i64, AppError> {
    let bad = || AppError::bad_input("after", "after: not a cursor returned by this list");
    if !c.len().is_multiple_of(2) || c.len() > 64 || !c.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(bad());
    }
    let bytes = (0..c.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&c[i..i + 2], 16))
        .collect::<Result<Vec<u8>, _>>()
        .map_err(|_| bad())?;
    let s = String::from_utf8(bytes).map_err(|_| bad())?;
    s.strip_prefix(kind)
        .and_then(|r| r.strip_prefix(':'))
        .filter(|n| n.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|n| n.parse::<i64>().ok())
        .filter(|n| *n < i64::MAX / 2)
        .ok_or_else(bad)
}

/// A connection's total: counted only when the selection asks for it (`totalCount`, or `pageInfo`
/// which needs it), and then remembered until the next write (see [`Ctx::count`]).
fn total_of(
    context: &Ctx,
    executor: &Executor<'_, '_, Ctx>,
    key: String,
    offset: i64,
    shown: usize,
    count: impl FnOnce(&mut crate::store::Db) -> diesel::QueryResult<i64>,
) -> FieldResult<i64> {
    let look = executor.look_ahead();
    if ["totalCount", "pageInfo"].iter().any(|n| look.children().select(n).is_some()) {
        context.count(key, count)
    } else {
        Ok(offset + shown as i64)
    }
}

/// A page holds 1 to `MAX_PAGE` items.
fn page_size(first: i32) -> FieldResult<i64> {
    if (1..=MAX_PAGE).contains(&first) {
        Ok(first.into())
    } else {
        Err(field_error(AppError::bad_input("first", format!("first: must be between 1 and {MAX_PAGE}"))))
    }
}

/// Validates `first`/`after` into (offset, limit).
fn window(first: i32, after: Option<String>) -> FieldResult<(i64, i64)> {
    page_size(first)?;
    let offset = match after {
        Some(c) => decode_cursor("offset", &c).map_err(field_error)? + 1,
        None => 0,
    };
    Ok((offset, first.into()))
}

macro_rules! connection {
    ($conn:ident, $edge:ident, $node:ty, $doc:literal, offset) => {
        connection!($conn, $edge, $node, $doc);

        impl $conn {
            fn from_offset(nodes: Vec<$node>, offset: i64, total: i64) -> Self {
                let n = nodes.len() as i64;
                let edges: Vec<$edge> = nodes
                    .into_iter()
                    .enumerate()
                    .map(|(i, node)| $edge { cursor: encode_cursor("offset", offset + i as i64), node })
                    .collect();
                $conn {
                    page_info: PageInfo {
                        has_next_page: offset + n < total,
                        has_previous_page: offset > 0,
                        start_cursor: edges.first().map(|e| e.cursor.clone()),
                        end_cursor: edges.last().map(|e| e.cursor.clone()),
                    },
                    edges,
                    total_count: total as i32,
                }
            }
        }
    };
    ($conn:ident, $edge:ident, $node:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(GraphQLObject)]
        #[graphql(context = Ctx)]
        pub struct $conn {
            pub edges: Vec<$edge>,
            pub page_info: PageInfo,
            /// How many records match, over all pages.
            pub total_count: i32,
        }

        #[derive(GraphQLObject)]
        #[graphql(context = Ctx)]
        pub struct $edge {
            pub cursor: String,
            pub node: $node,
        }
    };
}

connection!(OzgServiceConnection, OzgServiceEdge, OzgService, "A page of OZG-Leistungen.", offset);
connection!(OrganisationConnection, OrganisationEdge, Organisation, "A page of organisations.", offset);
connection!(ProjectConnection, ProjectEdge, Project, "A page of implementation projects.", offset);
connection!(ChangeConnection, ChangeEdge, ChangeEntry, "A page of change-log entries, oldest first.");

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

#[derive(GraphQLInputObject)]
pub struct OzgServiceFilter {
    /// Topic field slug, e.g. "ein_auswanderung".
    pub topic_field: Option<String>,
    /// Case-insensitive part of the name.
    pub name_contains: Option<String>,
    pub federal_priority: Option<FederalPriority>,
}

#[derive(GraphQLInputObject)]
pub struct OrganisationFilter {
    pub kind: Option<OrganisationKind>,
    /// ISO 3166-2 code, e.g. "DE-NW".
    pub land: Option<String>,
    pub name_contains: Option<String>,
}

#[derive(GraphQLInputObject)]
pub struct ProjectFilter {
    /// Topic field slug of any of the project's OZG-Leistungen.
    pub topic_field: Option<String>,
    /// Any of these phases.
    pub phase: Option<Vec<Phase>>,
    /// ISO 3166-2 code of the leading Land.
    pub lead_land: Option<String>,
    pub ozg_id: Option<OzgId>,
    /// Whether the project has an open call for participation.
    pub has_open_call: Option<bool>,
    pub title_contains: Option<String>,
    /// Projects this organisation takes part in (withdrawn participations excluded).
    pub participant: Option<OrganisationRef>,
    /// Only projects homed at this registry instance (its id, see `federationStatus`), or only
    /// those replicated from it.
    pub origin: Option<String>,
    /// `true`: only projects homed here; `false`: only replicated ones.
    pub homed_here: Option<bool>,
}

#[derive(GraphQLInputObject)]
pub struct ReuseFilter {
    pub project_slug: Option<String>,
    pub organisation: Option<OrganisationRef>,
    pub status: Option<Vec<ReuseStatus>>,
}

/// Longest search text accepted.
const MAX_SEARCH: usize = 200;
/// Most items in a list argument.
const MAX_LIST: usize = crate::graphql::limits::MAX_LIST_ITEMS;

fn search_text(field: &str, t: Option<String>) -> FieldResult<Option<String>> {
    match t.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(t) if t.chars().count() > MAX_SEARCH => {
            Err(field_error(AppError::bad_input(field, format!("{field}: at most {MAX_SEARCH} characters"))))
        }
        Some(t) => Ok(Some(t.to_owned())),
    }
}

fn short_list<T>(field: &str, v: Option<Vec<T>>) -> FieldResult<Option<Vec<T>>> {
    match v {
        Some(v) if v.len() > MAX_LIST => {
            Err(field_error(AppError::bad_input(field, format!("{field}: at most {MAX_LIST} items"))))
        }
        v => Ok(v),
    }
}

fn slug_of_topic(ctx: &Ctx, slug: &str) -> FieldResult<String> {
    let topics = ctx.topic_fields()?;
    if topics.iter().any(|t| t.slug == slug) {
        Ok(slug.to_owned())
    } else {
        Err(field_error(service::unknown_topic_field("topicField", slug, topics)))
    }
}

fn land_of(ctx: &Ctx, code: &str, field: &str) -> FieldResult<String> {
    let lands = ctx.lands()?;
    if lands.iter().any(|l| l.code == code) {
        Ok(code.to_owned())
    } else {
        Err(field_error(AppError::bad_input(
            field,
            format!(
                "{field}: {code:?} is not a Land; allowed: {}",
                lands.iter().map(|l| l.code.as_str()).collect::<Vec<_>>().join(", ")
            ),
        )))
    }
}

fn org_ref(ctx: &Ctx, r: &OrganisationRef, field: &str) -> FieldResult<i32> {
    ctx.with_conn(|c| service::find_organisation(c, r, field)).map(|o| o.id).map_err(field_error)
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
            let id = service::parse_id(&id, "id").map_err(field_error)?;
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
            f.kind = filter.kind.map(|k| k.code().to_owned());
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
            f.phases =
                short_list("filter.phase", filter.phase)?.map(|ps| ps.iter().map(|p| p.code().to_owned()).collect());
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
        let status = open.map(|o| if o { "OPEN" } else { "CLOSED" });
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

macro_rules! payload_type {
    ($name:ident, $field:ident, $ty:ty, $doc:literal) => {
        #[doc = $doc]
        #[derive(GraphQLObject)]
        #[graphql(context = Ctx)]
        pub struct $name {
            pub $field: Option<$ty>,
            /// Expected outcomes (validation, conflicts, illegal transitions); empty on success.
            pub user_errors: Vec<UserError>,
        }
    };
}

payload_type!(ProjectPayload, project, Project, "The result of a project mutation.");
payload_type!(MilestonePayload, milestone, Milestone, "The result of a milestone mutation.");
payload_type!(StepPayload, step, Step, "The result of a step mutation.");
payload_type!(ParticipationPayload, participation, Participation, "The result of a participation mutation.");
payload_type!(CallPayload, call, Call, "The result of a call mutation.");
payload_type!(OrganisationPayload, organisation, Organisation, "The result of an organisation mutation.");
payload_type!(NewsletterDefinitionPayload, definition, NewsletterDefinition, "The result of saving a newsletter.");
payload_type!(NewsletterEditionPayload, edition, NewsletterEdition, "The result of publishing an edition.");
payload_type!(ContactPayload, contact, Contact, "The result of a contact mutation.");
payload_type!(ReuseDeclarationPayload, reuse_declaration, ReuseDeclaration, "The result of a reuse mutation.");
payload_type!(DeletePayload, deleted_id, juniper::ID, "The result of a deletion: the id of the deleted record.");

pub struct Mutation;

/// Runs a service operation on the request's connection and drops every cached read afterwards.
/// A refused attempt (FORBIDDEN, UNAUTHENTICATED) is recorded in the change log with its actor.
fn run<T>(
    ctx: &Ctx,
    operation: &str,
    f: impl FnOnce(&mut crate::store::Db, &service::Actor) -> Result<T, AppError>,
) -> Result<T, AppError> {
    let r = crate::auth::policy::require_authenticated(&ctx.actor, operation)
        .and_then(|()| ctx.with_conn(|c| f(c, &ctx.actor)));
    if let Err(AppError::User { code: ErrorCode::Forbidden | ErrorCode::Unauthenticated, message, .. }) = &r
        && let Err(e) = ctx.with_conn(|c| service::record_denied(c, &ctx.actor, operation, message))
    {
        crate::error::log_internal(&format!("recording a denied attempt: {e}"));
    }
    ctx.forget();
    r
}

#[graphql_object(context = Ctx)]
impl Mutation {
    /// Coordinators: create an implementation project.
    fn create_project(context: &Ctx, input: service::CreateProjectInput) -> FieldResult<ProjectPayload> {
        let (p, user_errors) =
            payload(run(context, "createProject", |c, a| service::projects::create_project(c, a, input)))?;
        Ok(ProjectPayload { project: p.map(|p| context.projects(vec![p]).remove(0)), user_errors })
    }

    /// Coordinators: change a project's title, summary, lead Land, delivery model, status note or services.
    fn update_project(context: &Ctx, input: service::UpdateProjectInput) -> FieldResult<ProjectPayload> {
        let (p, user_errors) =
            payload(run(context, "updateProject", |c, a| service::projects::update_project(c, a, input)))?;
        Ok(ProjectPayload { project: p.map(|p| context.projects(vec![p]).remove(0)), user_errors })
    }

    /// Coordinators: move a project to another phase; only allowed transitions.
    fn change_project_phase(context: &Ctx, input: service::ChangePhaseInput) -> FieldResult<ProjectPayload> {
        let (p, user_errors) =
            payload(run(context, "changeProjectPhase", |c, a| service::projects::change_phase(c, a, input)))?;
        Ok(ProjectPayload { project: p.map(|p| context.projects(vec![p]).remove(0)), user_errors })
    }

    fn add_milestone(context: &Ctx, input: service::AddMilestoneInput) -> FieldResult<MilestonePayload> {
        let (m, user_errors) =
            payload(run(context, "addMilestone", |c, a| service::projects::add_milestone(c, a, input)))?;
        Ok(MilestonePayload { milestone: m.map(Milestone), user_errors })
    }

    /// Coordinators: append a step to a project's plan.
    fn add_step(context: &Ctx, input: service::AddStepInput) -> FieldResult<StepPayload> {
        let (s, user_errors) = payload(run(context, "addStep", |c, a| service::projects::add_step(c, a, input)))?;
        Ok(StepPayload { step: s.map(Step), user_errors })
    }

    /// Coordinators: set a step's status (planned, in progress, done).
    fn set_step_status(context: &Ctx, input: service::SetStepStatusInput) -> FieldResult<StepPayload> {
        let (s, user_errors) =
            payload(run(context, "setStepStatus", |c, a| service::projects::set_step_status(c, a, input)))?;
        Ok(StepPayload { step: s.map(Step), user_errors })
    }

    fn complete_milestone(context: &Ctx, input: service::CompleteMilestoneInput) -> FieldResult<MilestonePayload> {
        let (m, user_errors) =
            payload(run(context, "completeMilestone", |c, a| service::projects::complete_milestone(c, a, input)))?;
        Ok(MilestonePayload { milestone: m.map(Milestone), user_errors })
    }

    /// Coordinators: record an organisation's participation (confirmed unless `confirmed: false`).
    fn add_participation(context: &Ctx, input: service::AddParticipationInput) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) =
            payload(run(context, "addParticipation", |c, a| service::participation::add_participation(c, a, input)))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    fn confirm_participation(
        context: &Ctx,
        input: service::ParticipationStatusInput,
    ) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) = payload(run(context, "confirmParticipation", |c, a| {
            service::participation::confirm_participation(c, a, input)
        }))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    fn withdraw_participation(
        context: &Ctx,
        input: service::ParticipationStatusInput,
    ) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) = payload(run(context, "withdrawParticipation", |c, a| {
            service::participation::withdraw_participation(c, a, input)
        }))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    /// Kommunen: sign up for a project as PILOT, CORE_TEAM or EXTENDED_TEAM (status REQUESTED).
    fn sign_up(context: &Ctx, input: service::SignUpInput) -> FieldResult<ParticipationPayload> {
        let (p, user_errors) = payload(run(context, "signUp", |c, a| service::participation::sign_up(c, a, input)))?;
        Ok(ParticipationPayload { participation: p.map(|p| context.participations(vec![p]).remove(0)), user_errors })
    }

    /// Coordinators: open a call for participation.
    fn open_call(context: &Ctx, input: service::OpenCallInput) -> FieldResult<CallPayload> {
        let (call, user_errors) =
            payload(run(context, "openCall", |c, a| service::participation::open_call(c, a, input)))?;
        Ok(CallPayload { call: call.map(|c| context.calls(vec![c]).remove(0)), user_errors })
    }

    fn close_call(context: &Ctx, input: service::CloseCallInput) -> FieldResult<CallPayload> {
        let (call, user_errors) =
            payload(run(context, "closeCall", |c, a| service::participation::close_call(c, a, input)))?;
        Ok(CallPayload { call: call.map(|c| context.calls(vec![c]).remove(0)), user_errors })
    }

    /// Coordinators: delete a call opened by mistake (answers already given stay as participations).
    /// Peers replicating it delete it too.
    fn delete_call(context: &Ctx, input: service::CloseCallInput) -> FieldResult<DeletePayload> {
        let (id, user_errors) =
            payload(run(context, "deleteCall", |c, a| service::participation::delete_call(c, a, input)))?;
        Ok(DeletePayload { deleted_id: id.map(|i| juniper::ID::new(i.to_string())), user_errors })
    }

    /// Kommunen and Länder: declare interest in reusing a project's solution.
    fn declare_reuse_interest(
        context: &Ctx,
        input: service::DeclareReuseInput,
    ) -> FieldResult<ReuseDeclarationPayload> {
        let (r, user_errors) =
            payload(run(context, "declareReuseInterest", |c, a| service::participation::declare_reuse(c, a, input)))?;
        Ok(ReuseDeclarationPayload { reuse_declaration: r.map(|r| context.reuse(vec![r]).remove(0)), user_errors })
    }

    /// Move a reuse declaration along its lifecycle (INTEREST → NEGOTIATING → AGREED → ONBOARDING → LIVE, or DECLINED).
    fn advance_reuse_declaration(
        context: &Ctx,
        input: service::AdvanceReuseInput,
    ) -> FieldResult<ReuseDeclarationPayload> {
        let (r, user_errors) = payload(run(context, "advanceReuseDeclaration", |c, a| {
            service::participation::advance_reuse(c, a, input)
        }))?;
        Ok(ReuseDeclarationPayload { reuse_declaration: r.map(|r| context.reuse(vec![r]).remove(0)), user_errors })
    }

    fn withdraw_reuse_declaration(
        context: &Ctx,
        input: service::WithdrawReuseInput,
    ) -> FieldResult<ReuseDeclarationPayload> {
        let (r, user_errors) = payload(run(context, "withdrawReuseDeclaration", |c, a| {
            service::participation::withdraw_reuse(c, a, input)
        }))?;
        Ok(ReuseDeclarationPayload { reuse_declaration: r.map(|r| context.reuse(vec![r]).remove(0)), user_errors })
    }

    /// Add a contact person to an organisation or a project.
    fn add_contact(context: &Ctx, input: service::AddContactInput) -> FieldResult<ContactPayload> {
        let (c, user_errors) = payload(run(context, "addContact", |c, a| service::contacts::add_contact(c, a, input)))?;
        Ok(ContactPayload { contact: c.map(Contact), user_errors })
    }

    /// Admins: register an organisation; AGS, ARS and Kreisschlüssel must be consistent with its Land.
    fn create_organisation(context: &Ctx, input: service::CreateOrganisationInput) -> FieldResult<OrganisationPayload> {
        let (o, user_errors) = payload(run(context, "createOrganisation", |c, a| {
            service::organisations::create_organisation(c, a, input)
        }))?;
        Ok(OrganisationPayload { organisation: o.map(|o| context.organisations(vec![o]).remove(0)), user_errors })
    }

    /// Coordinators of the topic field: define a newsletter.
    fn save_newsletter_definition(
        context: &Ctx,
        input: service::SaveNewsletterDefinitionInput,
    ) -> FieldResult<NewsletterDefinitionPayload> {
        let (d, user_errors) = payload(run(context, "saveNewsletterDefinition", |c, a| {
            service::newsletter::save_definition(c, a, input)
        }))?;
        Ok(NewsletterDefinitionPayload { definition: d.map(NewsletterDefinition), user_errors })
    }

    /// Coordinators of the topic field: publish the next edition; the same idempotency key
    /// returns the edition it published the first time.
    fn publish_newsletter_edition(
        context: &Ctx,
        input: service::PublishEditionInput,
    ) -> FieldResult<NewsletterEditionPayload> {
        let (e, user_errors) = payload(run(context, "publishNewsletterEdition", |c, a| {
            service::newsletter::publish_edition(c, a, input)
        }))?;
        Ok(NewsletterEditionPayload { edition: e.map(NewsletterEdition), user_errors })
    }

    /// Anyone: subscribe an e-mail address (double opt-in: the subscription counts once confirmed).
    /// The answer does not tell whether the address was subscribed already.
    fn subscribe_newsletter(context: &Ctx, input: service::SubscribeInput) -> FieldResult<Vec<UserError>> {
        let (_, user_errors) =
            payload(run(context, "subscribeNewsletter", |c, a| service::newsletter::subscribe(c, a, input)))?;
        Ok(user_errors)
    }

    /// Anyone holding the link: confirm a subscription (double opt-in).
    fn confirm_newsletter_subscription(context: &Ctx, token: String) -> FieldResult<SubscriptionState> {
        let s = run(context, "confirmNewsletterSubscription", |c, a| service::newsletter::confirm(c, a, &token))
            .map_err(field_error)?;
        Ok(SubscriptionState { status: s.status })
    }

    /// Anyone holding the link from an edition: unsubscribe.
    fn unsubscribe_newsletter(context: &Ctx, token: String) -> FieldResult<SubscriptionState> {
        let s = run(context, "unsubscribeNewsletter", |c, a| service::newsletter::unsubscribe(c, a, &token))
            .map_err(field_error)?;
        Ok(SubscriptionState { status: s.status })
    }
}

/// The state of a newsletter subscription: PENDING, CONFIRMED or UNSUBSCRIBED.
#[derive(GraphQLObject)]
pub struct SubscriptionState {
    pub status: String,
}

#[cfg(test)]
mod cursor_tests {
    use super::{decode_cursor, encode_cursor};

    #[test]
    fn cursors_round_trip_and_refuse_what_they_did_not_make() {
        for n in [0, 1, 99, 1_000_000] {
            assert_eq!(decode_cursor("offset", &encode_cursor("offset", n)).unwrap(), n);
        }
        // Another list's cursor, text that is not ours, odd or overlong hex, negative or huge numbers.
        let foreign = encode_cursor("change", 5);
        let negative: String = "offset:-1".bytes().map(|b| format!("{b:02x}")).collect();
        let huge = encode_cursor("offset", i64::MAX);
        for c in [foreign.as_str(), "zz", "abc", "", negative.as_str(), huge.as_str(), &"61".repeat(40)] {
            let e = decode_cursor("offset", c).unwrap_err();
            assert!(e.to_string().contains("after: not a cursor"), "{c}: {e}");
        }
    }
}
