//! Identities and authorisation: tokens (local issuer and external OIDC issuers), roles and scopes,
//! and the one table of rules every write goes through (`policy`).

mod actor;
pub mod keys;
pub mod policy;
pub mod session;
mod verify;

pub use actor::{Actor, Role, Scope};
pub use keys::AuthConfig;
pub use verify::{AuthError, Authenticator, Credentials, Verified};
