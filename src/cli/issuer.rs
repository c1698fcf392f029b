//! `ozg-registry issuer …`: external identity providers whose tokens are accepted.

use super::connect;
use clap::Subcommand;
use ozg_registry::settings::Settings;

#[derive(Subcommand)]
// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
pub(crate) enum IssuerCommand {
    /// Accept tokens of an external issuer, verified with the keys at its JWKS URL.
    Add {
        /// The `iss` value of its tokens.
        #[arg(long)]
        issuer: String,
        #[arg(long)]
        jwks_url: String,
        /// The `aud` its tokens must carry.
        #[arg(long, default_value = "ozg-registry")]
        audience: String,
        /// Algorithms accepted from its keys (comma-separated).
        #[arg(long, default_value = "EdDSA,ES256,RS256")]
        algorithms: String,
        /// The claim that carries the role (municipality, coordinator, admin).
        #[arg(long, default_value = "ozg_role")]
        role_claim: String,
        /// The claim that carries the organisation (AGS, ags:<AGS> or slug).
        #[arg(long, default_value = "ozg_org")]
        org_claim: String,
        /// The claim that carries the scope (list or space-separated string).
        #[arg(long)]
        scope_claim: Option<String>,
        /// Sign people in to the web pages at this issuer (OpenID Connect, authorization code with
        /// PKCE) as this client; its ID tokens must carry this client id as `aud`. The issuer must
        /// publish /.well-known/openid-configuration.
        #[arg(long)]
        web_client_id: Option<String>,
        /// The client's secret, for a confidential client (else a public client with PKCE only);
        /// default: OZG_REGISTRY_WEB_CLIENT_SECRET.
        #[arg(long)]
        web_client_secret: Option<String>,
        /// The name on the sign-in button, e.g. "Servicekonto NRW".
        #[arg(long)]
        name: Option<String>,
    },
    /// List the configured issuers.
    List,
    /// Stop accepting an issuer's tokens.
    Remove { issuer: String },
}

pub(crate) fn issuer(settings: &Settings, cmd: IssuerCommand) -> Result<(), String> {
    use ozg_registry::store::auth as store;
    let mut conn = connect(settings)?;
    match cmd {
        IssuerCommand::Add {
            issuer,
            jwks_url,
            audience,
            algorithms,
            role_claim,
            org_claim,
            scope_claim,
            web_client_id,
            web_client_secret,
            name,
        } => {
            if !(jwks_url.starts_with("https://") || jwks_url.starts_with("http://")) {
                return Err("jwks-url: an http(s) URL".into());
            }
            for a in algorithms.split(',') {
                if !matches!(
                    a.trim(),
                    "EdDSA" | "ES256" | "ES384" | "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512"
                ) {
                    return Err(format!("algorithms: {a:?} is not an asymmetric JWS algorithm"));
                }
            }
            let web_client_secret = web_client_secret.or_else(|| settings.web_client_secret.clone());
            let now = ozg_registry::domain::Timestamp::now().to_db();
            store::insert_issuer(
                &mut conn,
                &store::NewIssuer {
                    issuer: &issuer,
                    jwks_url: &jwks_url,
                    audience: &audience,
                    algorithms: &algorithms,
                    role_claim: &role_claim,
                    organisation_claim: &org_claim,
                    scope_claim: scope_claim.as_deref(),
                    created_at: &now,
                    web_client_id: web_client_id.as_deref(),
                    web_client_secret: web_client_secret.as_deref().filter(|_| web_client_id.is_some()),
                    display_name: name.as_deref(),
                },
            )
            .map_err(|e| format!("cannot add {issuer}: {e}"))?;
            println!("accepting tokens of {issuer} (keys from {jwks_url})");
            if let Some(c) = &web_client_id {
                println!("signing people in to the web pages at {issuer} as client {c}");
            }
            Ok(())
        }
        IssuerCommand::List => {
            for i in store::issuers(&mut conn).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\taud={}\talgs={}\trole={}\torg={}\tweb-client={}",
                    i.issuer,
                    i.jwks_url,
                    i.audience,
                    i.algorithms,
                    i.role_claim,
                    i.organisation_claim,
                    i.web_client_id.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        IssuerCommand::Remove { issuer } => {
            let n = store::delete_issuer(&mut conn, &issuer).map_err(|e| e.to_string())?;
            if n == 0 {
                return Err(format!("no issuer {issuer}"));
            }
            println!("removed {issuer}");
            Ok(())
        }
    }
}
