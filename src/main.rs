use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use std::time::Duration;

use clap::{Parser, Subcommand};
use ozg_registry::auth::keys::{self, TokenRequest};
use ozg_registry::auth::{AuthConfig, Role, Scope};
use ozg_registry::startup::{self, DEFAULT_DATABASE_URL, DEFAULT_LISTEN};
use ozg_registry::store::PoolOptions;
use ozg_registry::store::changes::Verification;
use ozg_registry::store::rows::OrganisationRow;

/// ozg-registry: OZG implementation projects, participation and reuse, as a GraphQL API.
#[derive(Parser)]
#[command(version, about)]
struct Cli {
    /// SQLite file path (or sqlite://path) or postgres://… URL.
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL, global = true)]
    database_url: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, seed an empty database, and serve the API.
    Serve {
        /// Address to listen on.
        #[arg(long, env = "OZG_REGISTRY_LISTEN", default_value = DEFAULT_LISTEN)]
        listen: String,
        /// Folder with the seed files (default: ./seed).
        #[arg(long, env = "OZG_REGISTRY_SEED_DIR")]
        seed_dir: Option<PathBuf>,
        /// Do not seed an empty database.
        #[arg(long)]
        no_seed: bool,
        /// HTTP worker threads (default: one per core).
        #[arg(long, env = "OZG_REGISTRY_WORKERS")]
        workers: Option<usize>,
        /// Database connections in the pool.
        #[arg(long, env = "OZG_REGISTRY_POOL_SIZE", default_value_t = 10)]
        pool_size: u32,
    },
    /// Apply pending migrations.
    Migrate,
    /// Load the seed files; records that exist are left as they are.
    Seed {
        #[arg(long, env = "OZG_REGISTRY_SEED_DIR")]
        seed_dir: Option<PathBuf>,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
    /// Issue or revoke tokens of this instance's own issuer.
    #[command(subcommand)]
    Token(TokenCommand),
    /// Configure external token issuers (OIDC identity providers of Länder and associations).
    #[command(subcommand)]
    Issuer(IssuerCommand),
    /// Check the change log's hash chain.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Federation with other registries: this instance's identity, peers, syncing.
    #[command(subcommand)]
    Federation(FederationCommand),
    /// Take a consistent copy of the database while the service runs (SQLite: VACUUM INTO;
    /// PostgreSQL: pg_dump).
    Backup {
        /// The new file to write.
        file: PathBuf,
    },
    /// Add synthetic but plausible data on top of the reference data (for benchmarks and scale
    /// tests): small (1,000 projects), medium (10,000) or nationwide (100,000 projects, 11,000
    /// Kommunen, 1,000,000 participations and reuse declarations).
    Generate {
        #[arg(long)]
        scale: String,
        /// The random seed (the same seed gives the same data).
        #[arg(long, default_value_t = 2026)]
        seed: u64,
    },
    /// Replace the database with a backup (stop the service first), then check it.
    Restore {
        /// A file written by `backup`.
        file: PathBuf,
        /// Replace a database that holds data.
        #[arg(long)]
        force: bool,
    },
    /// Check the database: integrity, foreign keys, every record with its change-log entry, the
    /// audit chain. Exits non-zero when something is wrong.
    Check,
    /// Generate the newsletter of a topic field from the registry's data, or work with a defined
    /// newsletter's subscribers.
    #[command(args_conflicts_with_subcommands = true)]
    Newsletter {
        #[command(subcommand)]
        action: Option<NewsletterAction>,
        /// Topic field slug, e.g. ein_auswanderung.
        #[arg(long)]
        topic_field: Option<String>,
        /// Report what changed since this instant (RFC 3339), e.g. 2020-12-01T00:00:00Z.
        #[arg(long)]
        since: Option<String>,
        /// html, md or text.
        #[arg(long, default_value = "text")]
        format: String,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
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
        /// The registry's public base URL for the link.
        #[arg(long, env = "OZG_REGISTRY_PUBLIC_URL", default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Revoke a token by its id (jti); it is refused from then on.
    Revoke {
        jti: String,
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand)]
// Parsed once per run: the size of the largest variant does not matter.
#[allow(clippy::large_enum_variant)]
enum IssuerCommand {
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
        /// The client's secret, for a confidential client (else a public client with PKCE only).
        #[arg(long, env = "OZG_REGISTRY_WEB_CLIENT_SECRET", hide_env_values = true)]
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

#[derive(Subcommand)]
enum FederationCommand {
    /// Show this instance's id and public key; set the id (before peers know it, or with --force).
    Identity {
        #[arg(long)]
        instance_id: Option<String>,
        /// Change an id that exists already (peers will see this instance's records as new ones).
        #[arg(long)]
        force: bool,
    },
    /// Peers this registry replicates from.
    #[command(subcommand)]
    Peer(PeerCommand),
    /// Pull every peer's feed once (or one peer's).
    Sync {
        #[arg(long)]
        peer: Option<String>,
        /// Ask peers whose circuit is open, too.
        #[arg(long)]
        force: bool,
    },
}

#[derive(Subcommand)]
enum PeerCommand {
    /// Register a peer: its base URL, its instance id, and its public key (or --trust-fetched-key).
    Add {
        #[arg(long)]
        url: String,
        #[arg(long)]
        instance_id: String,
        /// The peer's Ed25519 public key (the JWK's x, base64url).
        #[arg(long)]
        public_key: Option<String>,
        /// Pin the key the peer serves now.
        #[arg(long)]
        trust_fetched_key: bool,
    },
    /// List peers with their sync status.
    List,
    /// Stop replicating from a peer (its records stay, read-only).
    Remove { instance_id: String },
}

#[derive(Subcommand)]
enum NewsletterAction {
    /// List a newsletter's subscribers with the confirmation link each would be mailed.
    Subscribers {
        #[arg(long)]
        definition: String,
        /// The registry's public base URL for the links.
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
    /// Show exactly what one subscriber receives of an edition (default: the latest).
    RenderFor {
        #[arg(long)]
        definition: String,
        /// The subscriber's e-mail address.
        #[arg(long)]
        email: String,
        #[arg(long)]
        edition: Option<i32>,
        #[arg(long, default_value = "text")]
        format: String,
        #[arg(long, default_value = "http://127.0.0.1:8080")]
        base_url: String,
    },
}

#[derive(Subcommand)]
enum AuditCommand {
    /// Recompute the hash chain of the change log; exits non-zero if it is broken.
    Verify,
}

fn main() -> ExitCode {
    init_logging();
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> Result<(), String> {
    match cli.command {
        Command::Schema => {
            print!("{}", ozg_registry::graphql::sdl());
            Ok(())
        }
        Command::Migrate => {
            let pool = ozg_registry::store::connect(&cli.database_url, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let n = ozg_registry::store::migrate(&mut conn)?;
            println!("applied {n} migration(s)");
            Ok(())
        }
        Command::Seed { seed_dir } => {
            let dir = seed_dir.unwrap_or_else(startup::default_seed_dir);
            let pool = startup::prepare(&cli.database_url, None, PoolOptions::new(1))?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = ozg_registry::seed::run(&mut conn, &dir).map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(())
        }
        Command::Token(cmd) => token(&cli.database_url, cmd),
        Command::Backup { file } => {
            let mut conn = connect(&cli.database_url)?;
            let done = ozg_registry::store::maintenance::backup(&mut conn, &cli.database_url, &file)?;
            println!("{done}");
            Ok(())
        }
        Command::Generate { scale, seed } => {
            let scale = ozg_registry::generate::Scale::parse(&scale)?;
            let pool = startup::prepare(&cli.database_url, Some(&startup::default_seed_dir()), PoolOptions::new(1))?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = ozg_registry::generate::generate(&mut conn, scale, seed).map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(())
        }
        Command::Restore { file, force } => {
            let done = ozg_registry::store::maintenance::restore(&cli.database_url, &file, force)?;
            println!("{done}");
            Ok(())
        }
        Command::Check => {
            let mut conn = connect(&cli.database_url)?;
            let problems = ozg_registry::store::maintenance::check(&mut conn).map_err(|e| e.to_string())?;
            if problems.is_empty() {
                println!("database sound: integrity, foreign keys, change-log entries and audit chain checked");
                Ok(())
            } else {
                Err(format!("{} problem(s):\n{}", problems.len(), problems.join("\n")))
            }
        }
        Command::Newsletter { action: Some(action), .. } => newsletter_action(&cli.database_url, action),
        Command::Newsletter { action: None, topic_field, since, format } => {
            use ozg_registry::newsletter;
            let topic_field = topic_field.ok_or("--topic-field is required")?;
            let format = newsletter::Format::parse(&format).ok_or("format: one of html, md, text")?;
            let since = since
                .map(|s| ozg_registry::domain::Timestamp::parse(&s).map_err(|e| format!("since: {e}")))
                .transpose()?;
            let mut conn = connect(&cli.database_url)?;
            let issue = newsletter::build(&mut conn, &topic_field, since.as_ref()).map_err(|e| e.to_string())?;
            let body =
                newsletter::render(&issue, format, &newsletter::RenderContext::default()).map_err(|e| e.to_string())?;
            print!("{body}");
            Ok(())
        }
        Command::Issuer(cmd) => issuer(&cli.database_url, cmd),
        Command::Federation(cmd) => federation(&cli.database_url, cmd),
        Command::Audit(AuditCommand::Verify) => {
            let mut conn = connect(&cli.database_url)?;
            match ozg_registry::store::changes::verify(&mut conn).map_err(|e| e.to_string())? {
                Verification::Intact { entries } => {
                    println!("change log intact: {entries} entries, hash chain verified");
                    Ok(())
                }
                Verification::Broken { entry_id, reason } => {
                    Err(format!("change log broken at entry {entry_id}: {reason}"))
                }
            }
        }
        Command::Serve { listen, seed_dir, no_seed, workers, pool_size } => {
            let dir = seed_dir.unwrap_or_else(startup::default_seed_dir);
            let http = ozg_registry::http::HttpConfig::from_env()?;
            let pool = startup::prepare(
                &cli.database_url,
                (!no_seed).then_some(dir.as_path()),
                startup::server_pool(pool_size, &http),
            )?;
            let listener = TcpListener::bind(&listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            if http.graphiql {
                println!("ozg-registry listening on http://{addr}/graphql (GraphiQL: http://{addr}/graphiql)");
            } else {
                println!("ozg-registry listening on http://{addr}/graphql (web pages: http://{addr}/)");
            }
            let federation = ozg_registry::federation::FederationConfig::from_env()?;
            {
                // Creates this instance's identity on first start; refuses a changed instance id.
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                ozg_registry::federation::identity(&mut conn, &federation).map_err(|e| e.to_string())?;
            }
            let options =
                startup::ServeOptions { auth: ozg_registry::auth::AuthConfig::from_env()?, workers, http, federation };
            let jobs_pool = pool.clone();
            let served = actix_web::rt::System::new().block_on(async move {
                let server = startup::serve(listener, pool, options).map_err(|e| e.to_string())?;
                server.await.map_err(|e| e.to_string())
            });
            // A graceful stop hands the background jobs to another process at once.
            ozg_registry::jobs::release(&jobs_pool, ozg_registry::jobs::FEDERATION);
            served
        }
    }
}

fn connect(url: &str) -> Result<ozg_registry::store::PooledDb, String> {
    let pool = startup::prepare(url, None, PoolOptions::new(1))?;
    pool.get().map_err(|e| e.to_string())
}

/// Logs go to standard error: human-readable by default, one JSON object per line with
/// `OZG_REGISTRY_LOG_FORMAT=json` (time, level, target, message and the record's fields, such as
/// `request_id`, `status` and `duration_ms` of the access log).
fn init_logging() {
    use std::io::Write;
    let mut builder = env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info"));
    if std::env::var("OZG_REGISTRY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json")) {
        builder.format(|buf, record| {
            struct Fields(serde_json::Map<String, serde_json::Value>);
            impl<'k> log::kv::VisitSource<'k> for Fields {
                fn visit_pair(
                    &mut self,
                    key: log::kv::Key<'k>,
                    value: log::kv::Value<'k>,
                ) -> Result<(), log::kv::Error> {
                    let v = if let Some(n) = value.to_i64() {
                        serde_json::json!(n)
                    } else if let Some(n) = value.to_u64() {
                        serde_json::json!(n)
                    } else if let Some(f) = value.to_f64() {
                        serde_json::json!(f)
                    } else {
                        serde_json::json!(value.to_string())
                    };
                    self.0.insert(key.to_string(), v);
                    Ok(())
                }
            }
            let mut fields = Fields(serde_json::Map::new());
            let _ = record.key_values().visit(&mut fields);
            let mut line = serde_json::Map::new();
            line.insert("time".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into());
            line.insert("level".into(), record.level().as_str().into());
            line.insert("target".into(), record.target().into());
            line.insert("message".into(), record.args().to_string().into());
            line.extend(fields.0);
            writeln!(buf, "{}", serde_json::Value::Object(line))
        });
    }
    builder.init();
}

/// Parses 3600, 3600s, 30m, 12h or 30d.
fn parse_ttl(s: &str) -> Result<Duration, String> {
    let (n, unit) = s.trim().split_at(s.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(s.trim().len()));
    let n: u64 = n.parse().map_err(|_| format!("ttl: {s:?} is not like 3600s, 30m, 12h or 30d"))?;
    let secs = match unit {
        "" | "s" => n,
        "m" => n * 60,
        "h" => n * 3600,
        "d" => n * 86400,
        _ => return Err(format!("ttl: {s:?} is not like 3600s, 30m, 12h or 30d")),
    };
    if secs == 0 || secs > 366 * 86400 {
        return Err("ttl: between 1 second and 366 days".into());
    }
    Ok(Duration::from_secs(secs))
}

fn find_org(conn: &mut ozg_registry::store::Db, r: &str) -> Result<OrganisationRow, String> {
    use ozg_registry::store::read;
    let found = if let Some(a) = r.strip_prefix("ags:") {
        read::organisation_by_ags(conn, a)
    } else if let Some(id) = r.strip_prefix("id:") {
        read::organisation_by_id(conn, id.parse().map_err(|_| format!("org: {r:?} is not id:<number>"))?)
    } else {
        read::organisation_by_slug(conn, r)
    };
    found.map_err(|e| e.to_string())?.ok_or_else(|| format!("org: no organisation {r:?}"))
}

fn token(url: &str, cmd: TokenCommand) -> Result<(), String> {
    let cfg = AuthConfig::from_env()?;
    let mut conn = connect(url)?;
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
            let (token, claims) = keys::issue(&mut conn, &cfg, &req).map_err(|e| e.to_string())?;
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

fn federation(url: &str, cmd: FederationCommand) -> Result<(), String> {
    use ozg_registry::federation::{self, FederationConfig, client::PeerClient, peers, sync};
    use ozg_registry::store::federation as store;
    let cfg = FederationConfig::from_env()?;
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().map_err(|e| e.to_string())?;
    match cmd {
        FederationCommand::Identity { instance_id, force } => {
            let mut conn = connect(url)?;
            if let Some(id) = &instance_id {
                federation::check_instance_id(id)?;
                let stored = store::identity(&mut conn).map_err(|e| e.to_string())?;
                match stored {
                    Some(row) if &row.instance_id != id && !force => {
                        return Err(format!(
                            "this database is instance {:?}; pass --force to rename it (peers will see its records as new ones)",
                            row.instance_id
                        ));
                    }
                    Some(_) => {
                        store::set_instance_id(&mut conn, id).map_err(|e| e.to_string())?;
                    }
                    None => {}
                }
            }
            let cfg = FederationConfig { instance_id: instance_id.or(cfg.instance_id), ..cfg };
            let me = federation::identity(&mut conn, &cfg).map_err(|e| e.to_string())?;
            println!("instance {}\npublic key {}", me.instance_id, me.key.public_x());
            Ok(())
        }
        FederationCommand::Peer(PeerCommand::Add { url: peer_url, instance_id, public_key, trust_fetched_key }) => {
            let mut conn = connect(url)?;
            let client = PeerClient::new(cfg.peer_timeout)?;
            let done = runtime.block_on(peers::register(
                &mut conn,
                &client,
                &peer_url,
                &instance_id,
                public_key.as_deref(),
                trust_fetched_key,
            ))?;
            println!("{done}");
            Ok(())
        }
        FederationCommand::Peer(PeerCommand::List) => {
            let mut conn = connect(url)?;
            for p in store::peers(&mut conn).map_err(|e| e.to_string())? {
                println!(
                    "{}\t{}\tcursor {}\timported {}\tlast success {}\tlast error {}",
                    p.instance_id,
                    p.base_url,
                    p.feed_cursor,
                    p.imported,
                    p.last_success_at.as_deref().unwrap_or("-"),
                    p.last_error.as_deref().unwrap_or("-")
                );
            }
            Ok(())
        }
        FederationCommand::Peer(PeerCommand::Remove { instance_id }) => {
            let mut conn = connect(url)?;
            match store::delete_peer(&mut conn, &instance_id).map_err(|e| e.to_string())? {
                0 => Err(format!("no peer {instance_id}")),
                _ => {
                    println!("peer {instance_id} removed; its records stay, read-only");
                    Ok(())
                }
            }
        }
        FederationCommand::Sync { peer, force } => {
            let pool = startup::prepare(url, None, PoolOptions::new(2))?;
            let client = PeerClient::new(cfg.peer_timeout)?;
            // One sync at a time per database: wait for the lease as long as a dead holder's lasts.
            let outcomes = runtime
                .block_on(ozg_registry::jobs::run_once(
                    &pool,
                    ozg_registry::jobs::FEDERATION,
                    cfg.lease_ttl,
                    cfg.lease_ttl + std::time::Duration::from_secs(1),
                    sync::round(&pool, &client, &cfg, peer.as_deref(), force, None),
                ))?
                .map_err(|e| e.to_string())?;
            if let Some(p) = &peer
                && outcomes.is_empty()
            {
                return Err(format!("no peer {p}"));
            }
            let mut failed = false;
            for o in &outcomes {
                println!("{o}");
                failed |= o.error.is_some();
            }
            if failed { Err("a peer failed to sync (see above)".into()) } else { Ok(()) }
        }
    }
}

fn issuer(url: &str, cmd: IssuerCommand) -> Result<(), String> {
    use ozg_registry::store::auth as store;
    let mut conn = connect(url)?;
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

fn newsletter_action(url: &str, action: NewsletterAction) -> Result<(), String> {
    use ozg_registry::store::newsletter as store;
    let mut conn = connect(url)?;
    match action {
        NewsletterAction::Subscribers { definition, base_url } => {
            let def = store::definition_by_slug(&mut conn, &definition)
                .map_err(|e| e.to_string())?
                .ok_or("no such newsletter")?;
            for s in store::subscribers(&mut conn, def.id).map_err(|e| e.to_string())? {
                let link = if s.status == "PENDING" {
                    format!("{base_url}/newsletter/confirm?token={}", s.confirm_token)
                } else {
                    String::new()
                };
                println!("{}\t{}\t{link}", s.email, s.status);
            }
            Ok(())
        }
        NewsletterAction::RenderFor { definition, email, edition, format, base_url } => {
            let format = ozg_registry::newsletter::Format::parse(&format).ok_or("format: one of html, md, text")?;
            let def = store::definition_by_slug(&mut conn, &definition)
                .map_err(|e| e.to_string())?
                .ok_or("no such newsletter")?;
            let sub = store::subscriber_by_email(&mut conn, def.id, &email.to_lowercase())
                .map_err(|e| e.to_string())?
                .filter(|s| s.status == "CONFIRMED")
                .ok_or("no confirmed subscriber with that address")?;
            let editions = store::editions(&mut conn, def.id).map_err(|e| e.to_string())?;
            let ed = match edition {
                Some(n) => editions.into_iter().find(|e| e.number == n),
                None => editions.into_iter().last(),
            }
            .ok_or("no such edition")?;
            let link = format!("{base_url}/newsletter/unsubscribe?token={}", sub.unsubscribe_token);
            println!("To: {}\nSubject: {} – Ausgabe {}\n", sub.email, def.title, ed.number);
            print!("{}", ozg_registry::service::newsletter::render_for(&ed, format, &link));
            Ok(())
        }
    }
}
