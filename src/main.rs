use std::net::TcpListener;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use ozg_registry::startup::{self, DEFAULT_DATABASE_URL, DEFAULT_LISTEN};

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
}

fn main() -> ExitCode {
    env_logger::Builder::from_env(env_logger::Env::default().default_filter_or("info")).init();
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
            let pool = startup::prepare(&cli.database_url, None, 1)?;
            let mut conn = pool.get().map_err(|e| e.to_string())?;
            let report = ozg_registry::seed::run(&mut conn, &dir).map_err(|e| e.to_string())?;
            println!("{report}");
            Ok(())
        }
        Command::Serve { listen, seed_dir, no_seed, workers, pool_size } => {
            let dir = seed_dir.unwrap_or_else(startup::default_seed_dir);
            let pool = startup::prepare(&cli.database_url, (!no_seed).then_some(dir.as_path()), pool_size)?;
            let listener = TcpListener::bind(&listen).map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            let addr = listener.local_addr().map_err(|e| e.to_string())?;
            let workers = workers.unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
            println!("ozg-registry listening on http://{addr}/graphql (GraphiQL: http://{addr}/graphiql)");
            let options = startup::ServeOptions { workers, query_count_header: false };
            let server = startup::serve(listener, pool, options).map_err(|e| e.to_string())?;
            actix_web::rt::System::new().block_on(server).map_err(|e| e.to_string())
        }
    }
}
