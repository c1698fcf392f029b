//! Starting the service: open the database, migrate, seed an empty one, serve.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::middleware::from_fn;
use actix_web::{App, HttpServer, web};

use crate::auth::{AuthConfig, Authenticator};
use crate::graphql::schema;
use crate::http::{AppState, HttpConfig, observe, routes};
use crate::store::{self, DbPool, PoolOptions};

pub const DEFAULT_DATABASE_URL: &str = "ozg-registry.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The seed folder: `seed/` in the working directory, else the one beside the crate's sources.
pub fn default_seed_dir() -> PathBuf {
    let local = PathBuf::from("seed");
    if local.join("lands.toml").exists() { local } else { Path::new(env!("CARGO_MANIFEST_DIR")).join("seed") }
}

/// The pool the server uses: requests wait at most 3 s for a connection (then 503), and on
/// PostgreSQL no statement runs longer than the request timeout (at least 1 s).
pub fn server_pool(size: u32, http: &HttpConfig) -> PoolOptions {
    PoolOptions {
        size,
        checkout_wait: std::time::Duration::from_secs(3),
        statement_timeout: Some(http.request_timeout.max(std::time::Duration::from_secs(1))),
    }
}

/// What an empty database is seeded with: the seed folder, and whether its projects too (else
/// reference data only, for a second registry in a federation: `OZG_REGISTRY_SEED_PROJECTS=off`).
#[derive(Debug, Clone, Copy)]
pub struct Seeding<'a> {
    pub dir: &'a Path,
    pub projects: bool,
}

/// Opens the pool and applies pending migrations, and makes sure the instance's token signing key
/// exists (`auth`); with `seed`, seeds the database if it is empty. Migrations and seeding run on
/// a connection of their own, free of the server pool's statement timeout.
pub fn prepare(
    database_url: &str,
    seed: Option<Seeding>,
    auth: &AuthConfig,
    pool: PoolOptions,
) -> Result<DbPool, String> {
    let setup = store::connect(database_url, 1)?;
    let mut conn = setup.get().map_err(|e| format!("cannot open a connection: {e}"))?;
    store::migrate(&mut conn)?;
    // The instance's token signing key exists from the first start on.
    crate::auth::keys::signing_key(&mut conn, auth).map_err(|e| e.to_string())?;
    if let Some(seed) = seed
        && crate::seed::is_empty(&mut conn).map_err(|e| e.to_string())?
    {
        let report = crate::seed::run_scoped(&mut conn, seed.dir, seed.projects).map_err(|e| e.to_string())?;
        tracing::info!("seeded the empty database: {report}");
    }
    drop(conn);
    drop(setup);
    store::connect_with(database_url, pool)
}

/// Options of the HTTP server beyond the listener and the pool (from [`crate::settings::Settings`]).
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub auth: AuthConfig,
    pub workers: usize,
    pub http: HttpConfig,
    pub federation: crate::federation::FederationConfig,
    pub hooks: crate::settings::TestHooks,
}

/// Builds the HTTP server on an already bound listener (tests bind port 0).
pub fn serve(listener: TcpListener, pool: DbPool, options: ServeOptions) -> std::io::Result<Server> {
    let workers = options.workers;
    let auth = Authenticator::new(options.auth.clone(), pool.clone()).map_err(std::io::Error::other)?;
    let shutdown = options.http.shutdown_timeout.as_secs();
    let state = AppState::new(
        pool.clone(),
        Arc::new(auth),
        Arc::new(schema()),
        options.http,
        options.federation.clone(),
        options.hooks,
    );
    let metrics = state.metrics.clone();
    let state = web::Data::new(state);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            // gzip when the client asks for it (Accept-Encoding); small answers stay as they are.
            .wrap(actix_web::middleware::Compress::default())
            .wrap(from_fn(observe))
            .configure(routes)
            .configure(crate::web::routes)
    })
    .workers(workers)
    .shutdown_timeout(shutdown)
    .listen(listener)?
    .run();
    // Pulling peers' feeds in the background (needs a Tokio runtime: the caller's).
    crate::federation::sync::spawn(pool, options.federation, metrics);
    Ok(server)
}
