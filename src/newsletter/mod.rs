//! The newsletter, generated from the registry: one issue per topic field, with a section per project
//! and "what changed since …" from the change log. The text lives in templates (templates/), rendered
//! with minijinja: HTML escaped automatically, Markdown escaped by a filter, plain text as is.

pub mod http;
use std::collections::{BTreeMap, HashMap, HashSet};

use minijinja::value::Serde;
use minijinja::{Environment, Value};
use serde::{Deserialize, Serialize};

use crate::domain::*;
use crate::error::{AppError, AppResult};
use crate::store::rows::*;
use crate::store::{Db, changes, read};

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, juniper::GraphQLEnum)]
#[graphql(name = "NewsletterFormat")]
pub enum Format {
    Html,
    Markdown,
    Text,
}

impl Format {
    pub fn parse(s: &str) -> Option<Format> {
        match s.to_ascii_lowercase().as_str() {
            "html" => Some(Format::Html),
            "md" | "markdown" => Some(Format::Markdown),
            "text" | "txt" => Some(Format::Text),
            _ => None,
        }
    }
    fn template(self) -> &'static str {
        match self {
            Format::Html => "newsletter.html",
            Format::Markdown => "newsletter.md",
            Format::Text => "newsletter.txt",
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterIssue")]
pub struct Issue {
    pub title: String,
    pub topic_field: String,
    pub topic_field_slug: String,
    /// Who leads the topic field (Länder and federal ministries).
    pub topic_field_leads: Vec<String>,
    pub generated_at: String,
    pub generated_label: String,
    pub since: Option<String>,
    pub since_label: Option<String>,
    pub sections: Vec<Section>,
    pub changes: Vec<ChangeItem>,
    /// Where readers can take part: projects with open calls.
    pub open_calls: Vec<CallItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterSection")]
pub struct Section {
    pub slug: String,
    pub title: String,
    pub summary: Option<String>,
    pub services: Vec<ServiceItem>,
    pub lead_land: Option<String>,
    pub delivery_model: String,
    pub phase: String,
    pub phase_label: String,
    pub status_note: Option<String>,
    pub roles: Vec<RoleGroup>,
    pub steps: Vec<StepItem>,
    pub milestones: Vec<MilestoneItem>,
    /// The first milestone not reached yet, or the first step not done: what comes next.
    pub next: Option<String>,
    pub platforms: Vec<PlatformItem>,
    pub relations: Vec<RelationItem>,
    pub reuse: Vec<ReuseItem>,
    pub calls: Vec<CallItem>,
    pub events: Vec<EventItem>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterServiceItem")]
pub struct ServiceItem {
    pub ozg_id: String,
    pub name: String,
    pub topic_field: String,
    pub priority: Option<String>,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterRoleGroup")]
pub struct RoleGroup {
    pub role: String,
    pub label: String,
    pub organisations: Vec<String>,
    pub notes: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterStepItem")]
pub struct StepItem {
    pub position: i32,
    pub title: String,
    pub description: Option<String>,
    pub status: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterMilestoneItem")]
pub struct MilestoneItem {
    pub title: String,
    pub planned: Option<String>,
    pub actual: Option<String>,
    pub reached: bool,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterPlatformItem")]
pub struct PlatformItem {
    pub name: String,
    pub usage: String,
    pub note: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterRelationItem")]
pub struct RelationItem {
    pub kind: String,
    pub label: String,
    pub project: String,
    pub outgoing: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterReuseItem")]
pub struct ReuseItem {
    pub organisation: String,
    pub status: String,
    pub label: String,
    pub note: Option<String>,
    pub planned_live: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterCallItem")]
pub struct CallItem {
    pub project: String,
    pub title: String,
    pub body: String,
    pub issuer: String,
    pub roles: Vec<String>,
    pub opened: Option<String>,
    pub closes: Option<String>,
    pub invites_reuse: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterEventItem")]
pub struct EventItem {
    pub title: String,
    pub held: Option<String>,
    pub place: Option<String>,
    pub outcome: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, juniper::GraphQLObject)]
#[graphql(name = "NewsletterChangeItem")]
pub struct ChangeItem {
    #[graphql(skip)]
    #[serde(default)]
    pub id: i64,
    pub at: String,
    pub at_label: String,
    pub project: Option<String>,
    pub summary: String,
}

pub(crate) fn date_label(d: Option<PartialDate>) -> Option<String> {
    d.map(|d| d.label())
}

/// "30. November 2026" for a timestamp.
pub(crate) fn day_label(ts: &Timestamp) -> String {
    ts.day().label()
}

/// Rows grouped by the project they belong to.
fn by_project<R>(rows: &[R], key: impl Fn(&R) -> ProjectId) -> HashMap<ProjectId, Vec<&R>> {
    let mut groups: HashMap<ProjectId, Vec<&R>> = HashMap::new();
    for r in rows {
        groups.entry(key(r)).or_default().push(r);
    }
    groups
}

/// A project's rows of one kind, in their original order.
fn of<'a, R>(groups: &'a HashMap<ProjectId, Vec<&'a R>>, project: ProjectId) -> impl Iterator<Item = &'a R> {
    groups.get(&project).into_iter().flatten().copied()
}

/// Builds the issue for a topic field; `since` bounds "what changed".
pub fn build(conn: &mut Db, topic_slug: &str, since: Option<&Timestamp>) -> AppResult<Issue> {
    let topics = read::topic_fields(conn)?;
    let topic = topics
        .iter()
        .find(|t| t.slug == topic_slug)
        .ok_or_else(|| crate::service::unknown_topic_field("topicField", topic_slug, &topics))?;
    let lands: HashMap<String, String> = read::lands(conn)?.into_iter().map(|l| (l.code, l.name)).collect();
    let leads = read::topic_field_leads(conn, std::slice::from_ref(&topic.slug))?
        .into_iter()
        .map(|l| match (l.land_code, l.federal_ministry) {
            (Some(c), _) => lands.get(&c).cloned().unwrap_or(c),
            (None, Some(m)) => m,
            (None, None) => String::new(),
        })
        .collect();

    let filter = read::ProjectFilter { topic_field: Some(topic.slug.clone()), ..Default::default() };
    let projects = read::projects_rows(conn, &filter, 0, 1000)?;
    let Built { sections, open_calls, titles } = sections(conn, &projects, &topics, &lands)?;
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();

    // What changed: public entries about these projects since the given time, oldest first.
    let mut change_items = Vec::new();
    let id_set: HashSet<ProjectId> = ids.iter().copied().collect();
    if let Some(since) = since {
        let mut f = changes::ChangeFilter { since: Some(since.to_db()), ..Default::default() };
        loop {
            let (rows, _) = changes::page(conn, &f, 500)?;
            let Some(last) = rows.last() else { break };
            f.after_id = Some(last.id);
            for r in rows.iter().filter(|r| !r.personal && r.project_id.is_some_and(|p| id_set.contains(&p))) {
                change_items.push(ChangeItem {
                    id: r.id,
                    at: r.at.to_db(),
                    at_label: day_label(&r.at),
                    project: r.project_id.and_then(|p| titles.get(&p).cloned()),
                    summary: r.summary.clone(),
                });
            }
        }
    }
    let now = Timestamp::now();
    Ok(Issue {
        title: format!("OZG-Newsletter {}", topic.name),
        topic_field: topic.name.clone(),
        topic_field_slug: topic.slug.clone(),
        topic_field_leads: leads,
        generated_label: day_label(&now),
        generated_at: now.to_db(),
        since: since.map(|s| s.to_db()),
        since_label: since.map(day_label),
        sections,
        changes: change_items,
        open_calls,
    })
}

/// The sections of some projects, their open calls, and the titles of these and related projects.
pub struct Built {
    pub sections: Vec<Section>,
    pub open_calls: Vec<CallItem>,
    pub titles: HashMap<ProjectId, String>,
}

/// Builds a section per project with one query per kind of detail for all of them at once.
pub fn sections(
    conn: &mut Db,
    projects: &[ProjectRow],
    topics: &[TopicFieldRow],
    lands: &HashMap<String, String>,
) -> AppResult<Built> {
    let ids: Vec<ProjectId> = projects.iter().map(|p| p.id).collect();

    // One query per kind of detail, for all projects at once.
    let links = read::project_services_by_projects(conn, &ids)?;
    let service_ids: Vec<String> = links.iter().map(|l| l.ozg_id.clone()).collect();
    let services: HashMap<String, OzgServiceRow> =
        read::ozg_services_by_ids(conn, &service_ids)?.into_iter().map(|s| (s.ozg_id.clone(), s)).collect();
    let topic_names: HashMap<String, String> = topics.iter().map(|t| (t.slug.clone(), t.name.clone())).collect();
    let participations = read::participations_by_projects(conn, &ids)?;
    let steps = read::steps_by_projects(conn, &ids)?;
    let milestones = read::milestones_by_projects(conn, &ids)?;
    let platform_uses = read::project_platforms_by_projects(conn, &ids)?;
    let platforms: HashMap<PlatformId, PlatformRow> =
        read::platforms_by_ids(conn, &platform_uses.iter().map(|u| u.platform_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|p| (p.id, p))
            .collect();
    let relations = read::relations_by_projects(conn, &ids)?;
    let reuse = read::reuse_by_projects(conn, &ids)?;
    let calls = read::calls_by_projects(conn, &ids)?;
    let call_roles = read::call_roles_by_calls(conn, &calls.iter().map(|c| c.id).collect::<Vec<_>>())?;
    let event_links = read::event_projects_by_projects(conn, &ids)?;
    let events: HashMap<EventId, EventRow> =
        read::events_by_ids(conn, &event_links.iter().map(|e| e.event_id).collect::<Vec<_>>())?
            .into_iter()
            .map(|e| (e.id, e))
            .collect();
    let mut org_ids: Vec<OrganisationId> = participations.iter().map(|p| p.organisation_id).collect();
    org_ids.extend(reuse.iter().map(|r| r.organisation_id));
    org_ids.extend(calls.iter().map(|c| c.issuer_id));
    org_ids.extend(events.values().filter_map(|e| e.location_id));
    let orgs: HashMap<OrganisationId, String> =
        read::organisations_by_ids(conn, &org_ids)?.into_iter().map(|o| (o.id, o.name)).collect();
    let mut other_ids: Vec<ProjectId> = relations.iter().flat_map(|r| [r.from_project_id, r.to_project_id]).collect();
    other_ids.retain(|i| !ids.contains(i));
    let mut titles: HashMap<ProjectId, String> = projects.iter().map(|p| (p.id, p.title.clone())).collect();
    titles.extend(read::projects_by_ids(conn, &other_ids)?.into_iter().map(|p| (p.id, p.title)));
    let org = |id: OrganisationId| orgs.get(&id).cloned().unwrap_or_default();

    let call_item = |c: &CallRow, project: &str| CallItem {
        project: project.to_owned(),
        title: c.title.clone(),
        body: c.body.clone(),
        issuer: org(c.issuer_id),
        roles: call_roles.iter().filter(|r| r.call_id == c.id).map(|r| r.role.label().to_owned()).collect(),
        opened: Some(c.opened_on.label()),
        closes: date_label(c.closes_on),
        invites_reuse: c.invites_reuse,
    };

    // Each kind of detail grouped by project once, so a section takes its own with one lookup.
    let participations = by_project(&participations, |x| x.project_id);
    let milestones = by_project(&milestones, |x| x.project_id);
    let steps = by_project(&steps, |x| x.project_id);
    let calls = by_project(&calls, |x| x.project_id);
    let links = by_project(&links, |x| x.project_id);
    let platform_uses = by_project(&platform_uses, |x| x.project_id);
    let reuse = by_project(&reuse, |x| x.project_id);
    let event_links = by_project(&event_links, |x| x.project_id);
    let mut relations_of: HashMap<ProjectId, Vec<&RelationRow>> = HashMap::new();
    for r in &relations {
        relations_of.entry(r.from_project_id).or_default().push(r);
        if r.to_project_id != r.from_project_id {
            relations_of.entry(r.to_project_id).or_default().push(r);
        }
    }

    let mut sections = Vec::new();
    let mut open_calls = Vec::new();
    for p in projects {
        // Roles in a fixed order, confirmed and requested participations (withdrawn ones are past).
        let mut groups: BTreeMap<usize, RoleGroup> = BTreeMap::new();
        for pa in of(&participations, p.id).filter(|x| x.status != ParticipationStatus::Withdrawn) {
            let role = pa.role;
            let pos = ParticipationRole::ALL.iter().position(|r| *r == role).unwrap_or(99);
            let g = groups.entry(pos).or_insert_with(|| RoleGroup {
                role: role.code().to_owned(),
                label: role.label().to_owned(),
                organisations: vec![],
                notes: vec![],
            });
            let mut name = org(pa.organisation_id);
            if pa.status == ParticipationStatus::Requested {
                name.push_str(" (angefragt)");
            }
            g.organisations.push(name);
            g.notes.extend(pa.note.clone());
        }
        // A milestone of a phase the project has left is reached, even where the date is unknown.
        let order = |ph: Phase| Phase::ALL.iter().position(|x| *x == ph);
        let current = Some(p.phase).filter(|ph| !ph.is_side_state()).and_then(order);
        let passed = |m: &MilestoneRow| match (m.phase.and_then(order), current) {
            (Some(mp), Some(cp)) => mp < cp,
            _ => false,
        };
        let ms: Vec<MilestoneItem> = of(&milestones, p.id)
            .map(|m| MilestoneItem {
                title: m.title.clone(),
                planned: date_label(m.planned),
                actual: date_label(m.actual),
                reached: m.actual.is_some() || passed(m),
                note: m.note.clone(),
            })
            .collect();
        let st: Vec<StepItem> = of(&steps, p.id)
            .map(|s| StepItem {
                position: s.position,
                title: s.title.clone(),
                description: s.description.clone(),
                status: s.status.label().to_owned(),
            })
            .collect();
        let next = of(&milestones, p.id)
            .filter(|m| m.actual.is_none() && m.planned.is_some())
            .map(|m| format!("{} ({})", m.title, date_label(m.planned).unwrap_or_default()))
            .next()
            .or_else(|| {
                of(&steps, p.id)
                    .find(|s| s.status != StepStatus::Done)
                    .map(|s| format!("Schritt {}: {}", s.position, s.title))
            });
        let section_calls: Vec<CallItem> =
            of(&calls, p.id).filter(|c| c.status == CallStatus::Open).map(|c| call_item(c, &p.title)).collect();
        open_calls.extend(section_calls.iter().cloned());
        sections.push(Section {
            slug: p.slug.clone(),
            title: p.title.clone(),
            summary: p.summary.clone(),
            services: of(&links, p.id)
                .filter_map(|l| services.get(&l.ozg_id).map(|s| (l, s)))
                .map(|(l, s)| ServiceItem {
                    ozg_id: s.ozg_id.clone(),
                    name: s.name.clone(),
                    topic_field: topic_names.get(&s.topic_field_slug).cloned().unwrap_or_default(),
                    priority: (s.federal_priority != FederalPriority::Unspecified)
                        .then(|| s.federal_priority.label().to_owned()),
                    note: l.note.clone().or_else(|| s.priority_note.clone()),
                })
                .collect(),
            lead_land: p.lead_land_code.as_ref().and_then(|c| lands.get(c).cloned()),
            delivery_model: p.delivery_model.label().to_owned(),
            phase: p.phase.code().to_owned(),
            phase_label: p.phase.label().to_owned(),
            status_note: p.status_note.clone(),
            roles: groups.into_values().collect(),
            steps: st,
            milestones: ms,
            next,
            platforms: of(&platform_uses, p.id)
                .filter_map(|u| platforms.get(&u.platform_id).map(|pl| (u, pl)))
                .map(|(u, pl)| PlatformItem {
                    name: pl.name.clone(),
                    usage: u.usage.label().to_owned(),
                    note: u.note.clone(),
                })
                .collect(),
            relations: of(&relations_of, p.id)
                .map(|r| {
                    let outgoing = r.from_project_id == p.id;
                    let other = if outgoing { r.to_project_id } else { r.from_project_id };
                    RelationItem {
                        kind: r.kind.code().to_owned(),
                        label: r.kind.label().to_owned(),
                        project: titles.get(&other).cloned().unwrap_or_default(),
                        outgoing,
                    }
                })
                .collect(),
            reuse: of(&reuse, p.id)
                .filter(|r| r.status != ReuseStatus::Withdrawn)
                .map(|r| ReuseItem {
                    organisation: org(r.organisation_id),
                    status: r.status.code().to_owned(),
                    label: r.status.label().to_owned(),
                    note: r.note.clone(),
                    planned_live: date_label(r.planned_live),
                })
                .collect(),
            calls: section_calls,
            events: of(&event_links, p.id)
                .filter_map(|l| events.get(&l.event_id).map(|e| (l, e)))
                .map(|(l, e)| EventItem {
                    title: e.title.clone(),
                    held: Some(e.held_on.label()),
                    place: e.location_id.map(org),
                    outcome: l.outcome.clone(),
                })
                .collect(),
        });
    }
    Ok(Built { sections, open_calls, titles })
}

/// Escapes the characters Markdown would read as markup.
fn md_escape(s: String) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        if "\\`*_{}[]<>()#+-.!|".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The templates, parsed once per process.
fn environment() -> &'static Environment<'static> {
    static ENV: std::sync::OnceLock<Environment<'static>> = std::sync::OnceLock::new();
    ENV.get_or_init(build_environment)
}

fn build_environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.add_filter("md", md_escape);
    for (name, source) in [
        ("newsletter.html", include_str!("../../templates/newsletter.html")),
        ("newsletter.md", include_str!("../../templates/newsletter.md")),
        ("newsletter.txt", include_str!("../../templates/newsletter.txt")),
        ("section.txt", include_str!("../../templates/section.txt")),
        ("feed.xml", include_str!("../../templates/feed.xml")),
    ] {
        env.add_template(name, source).expect("templates are checked by the tests");
    }
    env
}

/// Extra values a rendering may show: the link to unsubscribe, the site's base URL.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RenderContext {
    pub base_url: String,
    pub unsubscribe_url: Option<String>,
}

pub fn render(issue: &Issue, format: Format, ctx: &RenderContext) -> AppResult<String> {
    let env = environment();
    let tmpl = env.get_template(format.template()).map_err(|e| AppError::Internal(format!("template: {e}")))?;
    tmpl.render(minijinja::context! { issue => Value::from(Serde(issue)), ctx => Value::from(Serde(ctx)) })
        .map_err(|e| AppError::Internal(format!("rendering {}: {e}", format.template())))
}

/// An Atom feed of the public changes to a topic field's projects.
pub fn feed(conn: &mut Db, topic_slug: &str, base_url: &str) -> AppResult<String> {
    let issue = build(conn, topic_slug, Some(&Timestamp::parse("1900-01-01T00:00:00Z").expect("valid")))?;
    let mut entries: Vec<&ChangeItem> = issue.changes.iter().collect();
    entries.reverse();
    entries.truncate(50);
    let updated = entries.first().map(|e| e.at.clone()).unwrap_or_else(|| issue.generated_at.clone());
    let env = environment();
    let tmpl = env.get_template("feed.xml").map_err(|e| AppError::Internal(format!("template: {e}")))?;
    tmpl.render(minijinja::context! {
        issue => Value::from(Serde(&issue)),
        entries => Value::from(Serde(&entries)),
        updated => updated,
        base_url => base_url,
    })
    .map_err(|e| AppError::Internal(format!("rendering the feed: {e}")))
}
