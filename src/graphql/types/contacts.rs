//! Contact persons (personal data).

use juniper::{FieldResult, ID, graphql_object};

use super::super::context::Ctx;
use super::*;

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
pub(super) fn require_signed_in(context: &Ctx) -> FieldResult<()> {
    if context.actor.is_authenticated() {
        Ok(())
    } else {
        Err(crate::graphql::errors::field_error(crate::error::AppError::user(
            crate::error::ErrorCode::Unauthenticated,
            None,
            "contact persons are shown to signed-in users only",
        )))
    }
}
