//! The query and mutation roots: pagination, filters, the query root, the mutation root.

#[macro_use]
mod pagination;
mod filters;
mod mutation;
mod query;

pub use filters::*;
pub use mutation::*;
pub use pagination::*;
pub use query::*;
