//! The GraphQL API: schema, per-request context with batch loaders, and error mapping.

pub mod context;
pub mod errors;
pub mod inputs;
pub mod limits;
pub mod root;
pub mod types;

use juniper::{EmptySubscription, RootNode};

pub use context::{Ctx, Shared};
pub use root::{Mutation, Query};

pub type Schema = RootNode<Query, Mutation, EmptySubscription<Ctx>>;

pub fn schema() -> Schema {
    Schema::new(Query, Mutation, EmptySubscription::new())
}

/// The SDL the server serves; `schema.graphql` in the repository must equal it.
pub fn sdl() -> String {
    let mut s = schema().as_sdl();
    if !s.ends_with('\n') {
        s.push('\n');
    }
    s
}

/// The custom scalars and the format each expects, for error messages.
pub const SCALAR_FORMATS: &[(&str, &str)] = &[
    ("OzgId", crate::domain::OzgId::EXPECTED),
    ("LeikaKey", crate::domain::LeikaKey::EXPECTED),
    ("Ags", crate::domain::Ags::EXPECTED),
    ("Ars", crate::domain::Ars::EXPECTED),
    ("DistrictKey", crate::domain::DistrictKey::EXPECTED),
    ("PartialDate", crate::domain::PartialDate::EXPECTED),
    ("DateTime", crate::domain::Timestamp::EXPECTED),
];

/// juniper's validation drops the reason a scalar gives for refusing a literal; name the expected
/// format in the message again.
pub fn explain_scalar_error(message: &str) -> Option<String> {
    SCALAR_FORMATS.iter().find_map(|(name, expected)| {
        let mentioned = message.contains(&format!("\"{name}\""))
            || message.contains(&format!("\"{name}!\""))
            || message.contains(&format!("type {name}"));
        (mentioned && !message.contains(expected)).then(|| format!("{message}: {name} expects {expected}"))
    })
}
