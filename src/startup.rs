//! Starting the service: open the database, migrate, seed an empty one, serve.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use actix_web::dev::Server;
use actix_web::{App, HttpServer, web};

use crate::auth::{AuthConfig, Authenticator};
use crate::graphql::schema;
use crate::http::{AppState, routes};
use crate::store::{self, DbPool};

pub const DEFAULT_DATABASE_URL: &str = "ozg-registry.db";
pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";

/// The seed folder: `seed/` in the working directory, else the one beside the crate's sources.
pub fn default_seed_dir() -> PathBuf {
    let local = PathBuf::from("seed");
    if local.join("lands.toml").exists() { local } else { Path::new(env!("CARGO_MANIFEST_DIR")).join("seed") }
}

/// Opens the pool and applies pending migrations; with `seed_dir`, seeds the database if it is empty.
pub fn prepare(database_url: &str, seed_dir: Option<&Path>, pool_size: u32) -> Result<DbPool, String> {
    let pool = store::connect(database_url, pool_size)?;
    let mut conn = pool.get().map_err(|e| format!("cannot open a connection: {e}"))?;
    store::migrate(&mut conn)?;
    // The instance's token signing key exists from the first start on.
    crate::auth::keys::signing_key(&mut conn, &AuthConfig::from_env()).map_err(|e| e.to_string())?;
    if let Some(dir) = seed_dir
        && crate::seed::is_empty(&mut conn).map_err(|e| e.to_string())?
    {
        let report = crate::seed::run(&mut conn, dir).map_err(|e| e.to_string())?;
        log::info!("seeded the empty database: {report}");
    }
    Ok(pool)
}

/// Options of the HTTP server beyond the listener and the pool.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub auth: AuthConfig,
    pub workers: usize,
    /// Send `x-db-queries` with each GraphQL response.
    pub query_count_header: bool,
}

/// Builds the HTTP server on an already bound listener (tests bind port 0).
pub fn serve(listener: TcpListener, pool: DbPool, options: ServeOptions) -> std::io::Result<Server> {
    let workers = options.workers;
    let auth = Authenticator::new(options.auth.clone(), pool.clone()).map_err(std::io::Error::other)?;
    let state = web::Data::new(AppState {
        auth: Arc::new(auth),
        pool,
        schema: Arc::new(schema()),
        query_count_header: options.query_count_header,
    });
    let server = HttpServer::new(move || App::new().app_data(state.clone()).configure(routes))
        .workers(workers)
        .listen(listener)?
        .run();
    Ok(server)
}
