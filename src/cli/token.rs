//! `ozg-registry token …`: tokens of this instance and one-time sign-in links.

use super::{connect, find_org, parse_ttl};
use clap::Subcommand;
use ozg_registry::auth::keys::{self, TokenRequest};
use ozg_registry::auth::{Role, Scope};
use ozg_registry::settings::Settings;

#[derive(Subcommand)]
pub(crate) enum TokenCommand {
    /// Mint a token; prints it on standard output and its id (jti) on standard error.
    Issue {
        /// municipality, coordinator or admin.
        #[arg(long)]
        role: String,
        /// The organisation: ags:<AGS>, id:<id> or a slug.
        #[arg(long)]
        org: Option<String>,
        /// Scope items for coordinators (repeatable): topic:<slug>, land:<DE-XX>, project:<slug>.
        #[arg(long = "scope")]
        scope: Vec<String>,
        /// Lifetime: e.g. 3600s, 30m, 12h, 30d.
        #[arg(long, default_value = "30d")]
        ttl: String,
        /// The token's subject (a person or system); defaults to the role and organisation.
        #[arg(long)]
        subject: Option<String>,
    },
    /// Create a one-time sign-in link for the web pages (e.g. for a Kommune's staff member); prints
    /// the link. It signs in once, within its lifetime, with the given role and organisation.
    Link {
        /// The organisation: ags:<AGS>, id:<id> or a slug.
        #[arg(long)]
        org: String,
        /// municipality, coordinator or admin.
        #[arg(long, default_value = "municipality")]
        role: String,
        /// Scope items for coordinators (repeatable): topic:<slug>, land:<DE-XX>, project:<slug>.
        #[arg(long = "scope")]
        scope: Vec<String>,
        /// Lifetime, at most 7d: e.g. 30m, 24h.
        #[arg(long, default_value = "24h")]
        ttl: String,
        /// Who signs in (a person's name or address); defaults to the role and organisation.
        #[arg(long)]
        subject: Option<String>,
        /// The registry's public base URL for the link (default: OZG_REGISTRY_PUBLIC_URL, else
        /// http://127.0.0.1:8080).
        #[arg(long)]
        base_url: Option<String>,
    },
    /// Revoke a token by its id (jti); it is refused from then on.
    Revoke {
        jti: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

pub(crate) fn token(settings: &Settings, cmd: TokenCommand) -> Result<(), String> {
    let cfg = &settings.auth;
    let mut conn = connect(settings)?;
    match cmd {
        TokenCommand::Issue { role, org, scope, ttl, subject } => {
            let role = Role::parse_token_role(&role).ok_or("role: one of municipality, coordinator, admin")?;
            let org = org.map(|o| find_org(&mut conn, &o)).transpose()?;
            let scope = Scope::parse(scope.iter().map(String::as_str))?;
            let subject = subject.unwrap_or_else(|| match &org {
                Some(o) => format!("{}@{}", role, o.slug),
                None => role.to_string(),
            });
            let req = TokenRequest { subject, role, organisation_id: org.map(|o| o.id), scope, ttl: parse_ttl(&ttl)? };
            let (token, claims) = keys::issue(&mut conn, cfg, &req).map_err(|e| e.to_string())?;
            println!("{token}");
            eprintln!("jti {} expires {}", claims.jti, claims.exp);
            Ok(())
        }
        TokenCommand::Link { org, role, scope, ttl, subject, base_url } => {
            use ozg_registry::auth::session::{self, Grant};
            let role = Role::parse_token_role(&role).ok_or("role: one of municipality, coordinator, admin")?;
            let org = find_org(&mut conn, &org)?;
            let scope = Scope::parse(scope.iter().map(String::as_str))?;
            let subject = subject.unwrap_or_else(|| format!("{}@{}", role, org.slug));
            let grant = Grant { subject, role, organisation_id: Some(org.id), scope };
            let code = session::create_link(&mut conn, &grant, parse_ttl(&ttl)?).map_err(|e| e.to_string())?;
            let base_url = base_url
                .or_else(|| settings.federation.public_url.clone())
                .unwrap_or_else(|| "http://127.0.0.1:8080".into());
            println!("{}/anmelden/link?code={code}", base_url.trim_end_matches('/'));
            eprintln!("signs in once as {} for {} within {ttl}", grant.subject, org.name);
            Ok(())
        }
        TokenCommand::Revoke { jti, reason } => {
            let now = ozg_registry::domain::Timestamp::now().to_db();
            let done = ozg_registry::store::auth::revoke(&mut conn, &jti, reason.as_deref(), &now)
                .map_err(|e| e.to_string())?;
            println!("{}", if done { format!("revoked {jti}") } else { format!("{jti} was revoked already") });
            Ok(())
        }
    }
}
