//! Identities and authorisation: tokens (local issuer and external OIDC issuers), roles and scopes,
//! and the one table of rules every write goes through.

mod actor;

pub use actor::{Actor, Role, Scope};
