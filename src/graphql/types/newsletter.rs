//! Newsletter definitions and their published editions.

use juniper::{FieldResult, graphql_object};

use super::super::context::Ctx;
use super::super::errors::internal_error;
use super::*;

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
        Ok(self.0.published_at)
    }
    /// The previous edition's publication: "what changed" covers the time since.
    fn since(&self) -> Option<Timestamp> {
        self.0.since
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
