//! Starts the real service on port 0 against a fresh database per test: a copy of a migrated and
//! seeded SQLite template file, or a PostgreSQL database cloned from a seeded template database.

use std::path::PathBuf;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};

use actix_web::dev::ServerHandle;
use diesel::{Connection, RunQueryDsl, pg::PgConnection};
use ozg_registry::http::HttpConfig;
use ozg_registry::settings::Settings;
use ozg_registry::store::PoolOptions;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

static NEXT: AtomicUsize = AtomicUsize::new(0);

pub fn seed_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("seed")
}

/// The PostgreSQL server tests use; on CI the machine's own. A missing server fails the tests.
pub fn pg_admin_url() -> String {
    std::env::var("TEST_DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn pg_url(db: &str) -> String {
    let admin = pg_admin_url();
    let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap_or(admin);
    format!("{base}/{db}")
}

fn pg_exec(sql: &str) {
    let mut c = PgConnection::establish(&pg_admin_url())
        .unwrap_or_else(|e| panic!("PostgreSQL is required for the tests ({}): {e}", pg_admin_url()));
    diesel::sql_query(sql).execute(&mut c).unwrap_or_else(|e| panic!("{sql}: {e}"));
}

/// A name for the templates that changes whenever migrations, seed files or the code change, so a
/// template built from older files is never reused.
fn content_hash() -> String {
    fn walk(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir).unwrap().map(|e| e.unwrap().path()).collect();
        entries.sort();
        for p in entries {
            if p.is_dir() { walk(&p, out) } else { out.push(p) }
        }
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    walk(&root.join("migrations"), &mut files);
    walk(&root.join("seed"), &mut files);
    // The code that migrates and seeds too: a template is only reused for exactly the same build.
    walk(&root.join("src"), &mut files);
    let mut h: u64 = 0xcbf29ce484222325;
    for f in files {
        for b in f.strip_prefix(&root).unwrap().to_string_lossy().bytes().chain(std::fs::read(&f).unwrap()) {
            h = (h ^ u64::from(b)).wrapping_mul(0x100000001b3);
        }
    }
    format!("{h:016x}")
}

fn sqlite_template() -> &'static PathBuf {
    static T: OnceLock<PathBuf> = OnceLock::new();
    T.get_or_init(|| {
        let path = std::env::temp_dir().join(format!("ozg-registry-template-{}.db", content_hash()));
        if path.exists() {
            return path;
        }
        // Templates of older migrations or seed files are of no further use.
        for entry in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
            let n = entry.file_name().to_string_lossy().into_owned();
            // Content-hash names only (16 hex digits); a name with a process id is being built.
            // Another run (of other code) may still copy from a recent one: only old ones go.
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|age| age > std::time::Duration::from_secs(3600)));
            if n.starts_with("ozg-registry-template-") && n.len() == "ozg-registry-template-.db".len() + 16 && old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
        let building = std::env::temp_dir().join(format!("ozg-registry-template-{}.db", std::process::id()));
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", building.display()));
        }
        let pool = prepare_template(building.to_str().unwrap());
        let mut conn = pool.get().unwrap();
        diesel::sql_query("PRAGMA wal_checkpoint(TRUNCATE)").execute(&mut *conn).unwrap();
        diesel::sql_query("PRAGMA journal_mode = DELETE").execute(&mut *conn).unwrap();
        drop(conn);
        drop(pool);
        std::fs::rename(&building, &path).expect("publish template");
        path
    })
}

#[derive(diesel::QueryableByName)]
struct DbName {
    #[diesel(sql_type = diesel::sql_types::Text)]
    datname: String,
}

fn pg_template() -> &'static String {
    static T: OnceLock<String> = OnceLock::new();
    T.get_or_init(|| {
        let name = format!("ozg_registry_tmpl_{}", content_hash());
        ensure_pg_template(&name);
        name
    })
}

/// Builds the template database `name` unless it exists. Called again when a test finds it gone:
/// a test run of other code on the same server (another checkout) may have dropped it as stale.
fn ensure_pg_template(name: &str) {
    let mut admin = PgConnection::establish(&pg_admin_url())
        .unwrap_or_else(|e| panic!("PostgreSQL is required for the tests ({}): {e}", pg_admin_url()));
    // One process builds the template; others wait for it.
    diesel::sql_query("SELECT pg_advisory_lock(726202611)").execute(&mut admin).unwrap();
    let exists =
        diesel::sql_query(format!("SELECT 1 FROM pg_database WHERE datname = '{name}'")).execute(&mut admin).unwrap()
            > 0;
    if !exists {
        // Templates of older migrations or seed files are of no further use; the four newest
        // stay, since other runs (of other code, in other checkouts) may still copy from them.
        let stale: Vec<String> = diesel::sql_query(
            "SELECT datname FROM pg_database WHERE datname LIKE 'ozg\\_registry\\_tmpl\\_%' ORDER BY oid DESC OFFSET 4",
        )
        .load::<DbName>(&mut admin)
        .unwrap()
        .into_iter()
        .map(|d| d.datname)
        .collect();
        for old in stale {
            pg_exec(&format!("DROP DATABASE IF EXISTS {old} WITH (FORCE)"));
        }
        let building = format!("{name}_building");
        pg_exec(&format!("DROP DATABASE IF EXISTS {building} WITH (FORCE)"));
        pg_exec(&format!("CREATE DATABASE {building}"));
        let pool = prepare_template(&pg_url(&building));
        drop(pool);
        pg_exec(&format!("ALTER DATABASE {building} RENAME TO {name}"));
    }
    diesel::sql_query("SELECT pg_advisory_unlock(726202611)").execute(&mut admin).unwrap();
}

/// A path under the temporary directory for a test's own file or folder (a backup, a copy of the
/// seed); removed when dropped, with SQLite's `-wal`, `-shm` and `-journal` companions, also when
/// the test fails halfway.
pub struct TempPath(pub PathBuf);

impl TempPath {
    pub fn new(prefix: &str) -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        TempPath(std::env::temp_dir().join(format!("{prefix}-{}-{n}-{nanos}", std::process::id())))
    }
}

impl Drop for TempPath {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

/// A fresh, migrated and seeded database; removed when dropped.
pub struct TestDb {
    pub backend: Backend,
    pub url: String,
    name: String,
}

impl TestDb {
    pub fn new(backend: Backend) -> Self {
        Self::create(backend, true)
    }

    /// A database with the schema only (or nothing at all for SQLite), for seeding tests.
    pub fn empty(backend: Backend) -> Self {
        Self::create(backend, false)
    }

    fn create(backend: Backend, seeded: bool) -> Self {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        match backend {
            Backend::Sqlite => {
                let path = std::env::temp_dir().join(format!("ozg-registry-test-{}-{n}.db", std::process::id()));
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
                }
                if seeded {
                    std::fs::copy(sqlite_template(), &path).expect("copy template");
                }
                let url = path.to_str().unwrap().to_owned();
                TestDb { backend, name: url.clone(), url }
            }
            Backend::Postgres => {
                let name = format!("ozg_registry_t_{}_{n}", std::process::id());
                pg_exec(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                if seeded {
                    let template = pg_template();
                    let create = format!("CREATE DATABASE {name} TEMPLATE {template}");
                    let first = PgConnection::establish(&pg_admin_url())
                        .map_err(|e| e.to_string())
                        .and_then(|mut c| diesel::sql_query(&create).execute(&mut c).map_err(|e| e.to_string()));
                    if first.is_err() {
                        // The template was dropped meanwhile by another checkout's run: build it again.
                        pg_exec(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
                        ensure_pg_template(template);
                        pg_exec(&create);
                    }
                } else {
                    pg_exec(&format!("CREATE DATABASE {name}"));
                }
                TestDb { backend, url: pg_url(&name), name }
            }
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match self.backend {
            Backend::Sqlite => {
                for suffix in ["", "-wal", "-shm"] {
                    let _ = std::fs::remove_file(format!("{}{suffix}", self.name));
                }
            }
            Backend::Postgres => {
                if let Ok(mut c) = PgConnection::establish(&pg_admin_url()) {
                    let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name))
                        .execute(&mut c);
                }
            }
        }
    }
}

/// Migrates and seeds (with projects) a template database.
fn prepare_template(url: &str) -> ozg_registry::store::DbPool {
    let seed = ozg_registry::startup::Seeding { dir: &seed_dir(), projects: true };
    ozg_registry::startup::prepare(url, Some(seed), &test_settings().auth, PoolOptions::new(1)).expect("template")
}

/// The configuration tests run with: production defaults, but no rate limits (tests send many
/// requests from one address) and the query count header on.
pub fn test_config() -> HttpConfig {
    HttpConfig { rate_per_address: None, rate_per_token: None, query_count_header: true, ..HttpConfig::default() }
}

/// The settings tests run with, built in code (the developer's environment is never read): the
/// defaults with [`test_config`], an unknown `kid` fetching the JWKS again at once, and no
/// background sync.
pub fn test_settings() -> Settings {
    let mut s = Settings { http: test_config(), ..Settings::default() };
    s.auth.jwks_refresh_interval = std::time::Duration::ZERO;
    s.federation.sync_interval = std::time::Duration::ZERO;
    s
}

pub struct TestApp {
    pub addr: String,
    pub client: reqwest::Client,
    /// An admin token of the instance's own issuer; requests carry it unless they say otherwise.
    pub admin: String,
    handle: ServerHandle,
    /// Keeps the database until the app is dropped (fields drop in order: server first).
    _db: TestDb,
}

impl TestApp {
    pub async fn spawn(backend: Backend) -> Self {
        Self::spawn_with(backend, test_config()).await
    }

    /// Starts the app with the given HTTP configuration (limits, switches, rate limits).
    pub async fn spawn_with(backend: Backend, http: HttpConfig) -> Self {
        let db = tokio::task::spawn_blocking(move || TestDb::new(backend)).await.unwrap();
        let url = db.url.clone();
        let settings = Settings { http, ..test_settings() };
        let pool_options = ozg_registry::startup::server_pool(8, &settings.http);
        let auth = settings.auth.clone();
        let pool = tokio::task::spawn_blocking(move || {
            ozg_registry::startup::prepare(&url, None, &auth, pool_options).expect("prepare")
        })
        .await
        .unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let options = ozg_registry::startup::ServeOptions {
            auth: settings.auth,
            workers: 2,
            http: settings.http,
            federation: settings.federation,
            hooks: settings.hooks,
        };
        let server = ozg_registry::startup::serve(listener, pool, options).expect("server");
        let handle = server.handle();
        tokio::spawn(server);
        let db_url = db.url.clone();
        let admin =
            tokio::task::spawn_blocking(move || issue_token(&db_url, &["--role", "admin", "--subject", "test-admin"]))
                .await
                .unwrap();
        TestApp { addr, client: reqwest::Client::new(), admin, handle, _db: db }
    }

    pub async fn post_raw(&self, body: impl Into<reqwest::Body>, content_type: &str) -> reqwest::Response {
        self.post_with(body, content_type, Some(&format!("Bearer {}", self.admin))).await
    }

    /// Posts with any Authorization header (or none).
    pub async fn post_with(
        &self,
        body: impl Into<reqwest::Body>,
        content_type: &str,
        authorization: Option<&str>,
    ) -> reqwest::Response {
        let mut r = self.client.post(format!("{}/graphql", self.addr)).header("content-type", content_type).body(body);
        if let Some(a) = authorization {
            r = r.header("authorization", a);
        }
        r.send().await.expect("request")
    }

    pub fn backend(&self) -> Backend {
        self._db.backend
    }

    pub fn db_url(&self) -> String {
        self._db.url.clone()
    }

    /// A token minted by the CLI against this app's database.
    pub async fn token(&self, args: &[&str]) -> String {
        let url = self._db.url.clone();
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        tokio::task::spawn_blocking(move || issue_token(&url, &args.iter().map(String::as_str).collect::<Vec<_>>()))
            .await
            .unwrap()
    }

    /// Runs a GraphQL request as `token` (None: anonymous); asserts HTTP 200.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let auth = token.map(|t| format!("Bearer {t}"));
        let resp = self.post_with(body, "application/json", auth.as_deref()).await;
        let status = resp.status();
        let v: Value = resp.json().await.expect("json body");
        assert_eq!(status, 200, "HTTP status for {query}: {v}");
        assert_no_internals(&v);
        v
    }

    /// Runs a GraphQL request as admin; asserts HTTP 200 and returns the whole response body.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let body = json!({ "query": query, "variables": variables }).to_string();
        let resp = self.post_raw(body, "application/json").await;
        let status = resp.status();
        let v: Value = resp.json().await.expect("json body");
        assert_eq!(status, 200, "HTTP status for {query}: {v}");
        v
    }

    /// Runs a query that must succeed; returns `data`.
    pub async fn data(&self, query: &str, variables: Value) -> Value {
        let v = self.gql(query, variables).await;
        assert!(v.get("errors").is_none(), "unexpected errors: {v}");
        v["data"].clone()
    }

    /// Runs a request that must fail at request level; returns the first error.
    pub async fn error(&self, query: &str, variables: Value) -> Value {
        let v = self.gql(query, variables).await;
        let e = v["errors"][0].clone();
        assert!(e.is_object(), "expected an error: {v}");
        assert_no_internals(&v);
        e
    }

    /// How many change-log entries there are.
    pub async fn change_count(&self) -> i64 {
        self.data("{ changes(first: 1) { totalCount } }", json!({})).await["changes"]["totalCount"].as_i64().unwrap()
    }

    /// The current version of a project.
    pub async fn project_version(&self, slug: &str) -> i64 {
        let d = self.data("query($s: String!) { project(slug: $s) { version } }", json!({ "s": slug })).await;
        d["project"]["version"].as_i64().unwrap()
    }
}

impl Drop for TestApp {
    fn drop(&mut self) {
        let h = self.handle.clone();
        // Stop the server; the database is removed by TestDb's drop.
        std::mem::drop(tokio::spawn(async move { h.stop(false).await }));
    }
}

/// Runs the CLI against a database; returns whether it succeeded and what it printed.
pub fn run_cli(db_url: &str, args: &[&str]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ozg-registry"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("OZG_REGISTRY_SEED_DIR", seed_dir())
        .env("RUST_LOG", "error")
        .output()
        .expect("run the binary");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Like [`run_cli`], with extra environment variables.
pub fn run_cli_env(db_url: &str, args: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ozg-registry"))
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("OZG_REGISTRY_SEED_DIR", seed_dir())
        .env("RUST_LOG", "error")
        .envs(env.iter().copied())
        .output()
        .expect("run the binary");
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

/// Mints a token with the CLI (`ozg-registry token issue …`) on the given database.
pub fn issue_token(db_url: &str, args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_ozg-registry"))
        .args(["token", "issue"])
        .args(args)
        .env("DATABASE_URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run the binary");
    assert!(out.status.success(), "token issue {args:?}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Internal error text (SQL, diesel, panics) must never reach clients.
pub fn assert_no_internals(v: &Value) {
    let s = v.to_string().to_lowercase();
    for leak in ["diesel", "sqlite", "postgres", "syntax error at", "constraint failed", "panicked", "duplicate key"] {
        assert!(!s.contains(leak), "internal text {leak:?} leaked: {v}");
    }
}

/// The userErrors of a mutation payload; asserts there is exactly one and returns it.
pub fn user_error(data: &Value, mutation: &str) -> Value {
    let errs = data[mutation]["userErrors"].as_array().unwrap_or_else(|| panic!("no userErrors in {data}"));
    assert_eq!(errs.len(), 1, "expected one user error: {data}");
    errs[0].clone()
}

/// Declares a test scenario that runs against both backends, each with a fresh database.
/// Like `both_backends!`, for one scenario that needs its own HTTP configuration.
/// Holds an ACCESS EXCLUSIVE lock on PostgreSQL tables of the app's database until the returned
/// connection is dropped: every statement of the server that touches them waits, so a request
/// outlives its request timeout (the server's answer to a slow or stuck database).
pub async fn lock_tables(app: &TestApp, tables: &[&str]) -> diesel::PgConnection {
    assert_eq!(app.backend(), Backend::Postgres, "table locks are taken on PostgreSQL");
    let url = app.db_url();
    let sql = format!("LOCK TABLE {} IN ACCESS EXCLUSIVE MODE", tables.join(", "));
    tokio::task::spawn_blocking(move || {
        use diesel::{Connection, RunQueryDsl};
        let mut c = diesel::PgConnection::establish(&url).unwrap();
        diesel::sql_query("BEGIN").execute(&mut c).unwrap();
        diesel::sql_query(sql).execute(&mut c).unwrap();
        c
    })
    .await
    .unwrap()
}

macro_rules! both_backends_with {
    ($name:ident, $config:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn sqlite() {
                let app = $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Sqlite, $config).await;
                super::$name(&app).await;
            }
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn postgres() {
                let app = $crate::helpers::TestApp::spawn_with($crate::helpers::Backend::Postgres, $config).await;
                super::$name(&app).await;
            }
        }
    };
}

macro_rules! both_backends {
    ($($name:ident),* $(,)?) => {
        $(
            mod $name {
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn sqlite() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Sqlite).await;
                    super::$name(&app).await;
                }
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn postgres() {
                    let app = $crate::helpers::TestApp::spawn($crate::helpers::Backend::Postgres).await;
                    super::$name(&app).await;
                }
            }
        )*
    };
}
