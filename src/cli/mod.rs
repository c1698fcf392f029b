//! The command line: one file per command group; `run` dispatches.

use std::net::TcpListener;
use std::path::PathBuf;

use std::time::Duration;

use clap::{Parser, Subcommand};
use ozg_registry::settings::Settings;
use ozg_registry::startup::{self, Seeding};
use ozg_registry::store::PoolOptions;
use ozg_registry::store::changes::Verification;
use ozg_registry::store::rows::OrganisationRow;

mod federation;
mod issuer;
mod newsletter;
mod token;

use federation::{FederationCommand, federation};
use issuer::{IssuerCommand, issuer};
use newsletter::{NewsletterAction, newsletter_action};
use token::{TokenCommand, token};

/// ozg-registry: OZG implementation projects, participation and reuse, as a GraphQL API.
///
/// Settings come from environment variables (see the README), read once at start; a flag overrides
/// its variable. Unset, empty or blank is the default; a malformed value stops the command.
#[derive(Parser)]
#[command(version, about)]
pub struct Cli {
    /// SQLite file path (or sqlite://path) or postgres://… URL [default: DATABASE_URL, else
    /// ozg-registry.db].
    #[arg(long, global = true)]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Migrate, seed an empty database, and serve the API.
    Serve {
        /// Address to listen on [default: OZG_REGISTRY_LISTEN, else 127.0.0.1:8080].
        #[arg(long)]
        listen: Option<String>,
        /// Folder with the seed files [default: OZG_REGISTRY_SEED_DIR, else ./seed].
        #[arg(long)]
        seed_dir: Option<PathBuf>,
        /// Do not seed an empty database.
        #[arg(long)]
        no_seed: bool,
        /// HTTP worker threads, 1 to 1024 [default: OZG_REGISTRY_WORKERS, else one per core].
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=1024))]
        workers: Option<u16>,
        /// Database connections in the pool, 1 to 1000 [default: OZG_REGISTRY_POOL_SIZE, else 10].
        #[arg(long, value_parser = clap::value_parser!(u32).range(1..=1000))]
        pool_size: Option<u32>,
    },
    /// Apply pending migrations.
    Migrate,
    /// Load the seed files; records that exist are left as they are.
    Seed {
        /// Folder with the seed files [default: OZG_REGISTRY_SEED_DIR, else ./seed].
        #[arg(long)]
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
enum AuditCommand {
    /// Recompute the hash chain of the change log; exits non-zero if it is broken.
    Verify,
}

pub fn run(cli: Cli) -> Result<(), String> {
    if let Command::Schema = cli.command {
        print!("{}", ozg_registry::graphql::sdl());
        return Ok(());
    }
    // Read once, here; a malformed variable stops every command that works with the database.
    let mut settings = Settings::from_env()?;
    if let Some(url) = cli.database_url {
        settings.database_url = url;
    }
    let s = &settings;
    let url = s.database_url.as_str();
    match cli.command {
        // Answered above, without settings.
        Command::Schema => Ok(()),
        Command::Migrate => {
            let pool = ozg_registry::store::connect(url, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let n = ozg_registry::store::migrate(&mut conn)?;
            println!("applied {n} migration(s)");
            Ok(())
        }
        Command::Seed { seed_dir } => {
            let dir = seed_dir.or_else(|| s.seed_dir.clone()).unwrap_or_else(startup::default_seed_dir);
            let pool = startup::prepare(url, None, &s.auth, PoolOptions::new(1))?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = ozg_registry::seed::run(&mut conn, &dir).map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(())
        }
        Command::Token(cmd) => token(s, cmd),
        Command::Backup { file } => {
            let mut conn = connect(s)?;
            let done = ozg_registry::store::maintenance::backup(&mut conn, url, &file)?;
            println!("{done}");
            Ok(())
        }
        Command::Generate { scale, seed } => {
            let scale = ozg_registry::generate::Scale::parse(&scale)?;
            let dir = s.seed_dir.clone().unwrap_or_else(startup::default_seed_dir);
            let seeding = Seeding { dir: &dir, projects: s.seed_projects };
            let pool = startup::prepare(url, Some(seeding), &s.auth, PoolOptions::new(1))?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = ozg_registry::generate::generate(&mut conn, scale, seed).map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(())
        }
        Command::Restore { file, force } => {
            let done = ozg_registry::store::maintenance::restore(url, &file, force)?;
            println!("{done}");
            Ok(())
        }
        Command::Check => {
            let mut conn = connect(s)?;
            let problems = ozg_registry::store::maintenance::check(&mut conn).map_err(|e| e.to_string())?;
            if problems.is_empty() {
                println!("database sound: integrity, foreign keys, change-log entries and audit chain checked");
                Ok(())
            } else {
                Err(format!("{} problem(s):\n{}", problems.len(), problems.join("\n")))
            }
        }
        Command::Newsletter { action: Some(action), .. } => newsletter_action(s, action),
        Command::Newsletter { action: None, topic_field, since, format } => {
            use ozg_registry::newsletter;
            let topic_field = topic_field.ok_or("--topic-field is required")?;
            let format = newsletter::Format::parse(&format).ok_or("format: one of html, md, text")?;
            let since = since
                .map(|s| ozg_registry::domain::Timestamp::parse(&s).map_err(|e| format!("since: {e}")))
                .transpose()?;
            let mut conn = connect(s)?;
            let issue = newsletter::build(&mut conn, &topic_field, since.as_ref()).map_err(|e| e.to_string())?;
            let body =
                newsletter::render(&issue, format, &newsletter::RenderContext::default()).map_err(|e| e.to_string())?;
            print!("{body}");
            Ok(())
        }
        Command::Issuer(cmd) => issuer(s, cmd),
        Command::Federation(cmd) => federation(s, cmd),
        Command::Audit(AuditCommand::Verify) => {
            let mut conn = connect(s)?;
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
            let listen = listen.unwrap_or_else(|| s.listen.clone());
            let dir = seed_dir.or_else(|| s.seed_dir.clone()).unwrap_or_else(startup::default_seed_dir);
            let pool_size = pool_size.unwrap_or(s.pool_size);
            let seed = Seeding { dir: &dir, projects: s.seed_projects };
            let pool =
                startup::prepare(url, (!no_seed).then_some(seed), &s.auth, startup::server_pool(pool_size, &s.http))?;
            let listener = TcpListener::bind(&listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let workers = workers
                .map(usize::from)
                .or(s.workers)
                .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            if s.http.graphiql {
                println!("ozg-registry listening on http://{addr}/graphql (GraphiQL: http://{addr}/graphiql)");
            } else {
                println!("ozg-registry listening on http://{addr}/graphql (web pages: http://{addr}/)");
            }
            {
                // Creates this instance's identity on first start; refuses a changed instance id.
                let mut conn = pool.get().map_err(|e| e.to_string())?;
                ozg_registry::federation::identity(&mut conn, &s.federation).map_err(|e| e.to_string())?;
            }
            let options = startup::ServeOptions {
                auth: s.auth.clone(),
                workers,
                http: s.http.clone(),
                federation: s.federation.clone(),
                hooks: s.hooks,
            };
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

/// One connection to the migrated database (whose token signing key exists).
pub(crate) fn connect(s: &Settings) -> Result<ozg_registry::store::PooledDb, String> {
    let pool = startup::prepare(&s.database_url, None, &s.auth, PoolOptions::new(1))?;
    pool.get().map_err(|e| e.to_string())
}

/// Parses 3600, 3600s, 30m, 12h or 30d.
pub(crate) fn parse_ttl(s: &str) -> Result<Duration, String> {
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

pub(crate) fn find_org(conn: &mut ozg_registry::store::Db, r: &str) -> Result<OrganisationRow, String> {
    use ozg_registry::store::read;
    let found = if let Some(a) = r.strip_prefix("ags:") {
        read::organisation_by_ags(conn, a)
    } else if let Some(id) = r.strip_prefix("id:") {
        read::organisation_by_id(conn, id.parse::<i32>().map_err(|_| format!("org: {r:?} is not id:<number>"))?.into())
    } else {
        read::organisation_by_slug(conn, r)
    };
    found.map_err(|e| e.to_string())?.ok_or_else(|| format!("org: no organisation {r:?}"))
}
