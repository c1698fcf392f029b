//! The GraphQL API: schema, per-request context with batch loaders, and error mapping.

pub mod context;
pub mod errors;
pub mod root;
pub mod types;

use juniper::{EmptySubscription, RootNode};

pub use context::Ctx;
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
