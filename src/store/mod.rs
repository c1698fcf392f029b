//! Storage: diesel on embedded SQLite or PostgreSQL, chosen at run time by the database URL.
//! This module is the only place with SQL and the only place that looks at the backend.

pub mod auth;
pub mod bulk;
pub mod changes;
pub mod federation;
pub mod idempotency;
pub mod leases;
pub mod maintenance;
pub mod newsletter;
pub mod read;
pub mod rows;
pub mod schema;
pub mod sessions;
pub mod types;
pub mod write;

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use diesel::Connection;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::pg::PgConnection;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel::sqlite::SqliteConnection;
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};

use crate::error::AppResult;

const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
const PG_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// One connection to either backend.
#[derive(diesel::MultiConnection)]
pub enum Db {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

pub type DbPool = Pool<Manager>;
pub type PooledDb = PooledConnection<Manager>;

/// Until when (milliseconds since the Unix epoch) connections are tested before they are handed
/// out. A healthy pool hands out connections without a round trip; any internal error (a lost
/// connection among them) opens a window in which every checkout pings first, so dead
/// connections are dropped instead of failing the next requests.
static SUSPECT_UNTIL: AtomicU64 = AtomicU64::new(0);
const SUSPECT_WINDOW: Duration = Duration::from_secs(30);

fn now_millis() -> u64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_millis() as u64)
}

/// Something went wrong that may be a lost connection: test connections at checkout for a while.
pub fn suspect_connections() {
    SUSPECT_UNTIL.fetch_max(now_millis() + SUSPECT_WINDOW.as_millis() as u64, Ordering::Relaxed);
}

/// Whether the connection still answers (one round trip; for error paths).
pub fn alive(conn: &mut Db) -> bool {
    use diesel::r2d2::R2D2Connection;
    conn.ping().is_ok()
}

/// Makes the pool drop this connection when it is returned instead of handing it out again.
pub fn discard(conn: &mut Db) {
    match conn {
        Db::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error(),
        Db::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error(),
    }
}

/// diesel's connection manager, but a checkout costs no round trip unless connections are
/// suspect (see [`suspect_connections`]).
#[derive(Debug)]
pub struct Manager(ConnectionManager<Db>);

impl diesel::r2d2::ManageConnection for Manager {
    type Connection = Db;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<Db, Self::Error> {
        self.0.connect()
    }

    fn is_valid(&self, conn: &mut Db) -> Result<(), Self::Error> {
        if now_millis() < SUSPECT_UNTIL.load(Ordering::Relaxed) { self.0.is_valid(conn) } else { Ok(()) }
    }

    fn has_broken(&self, conn: &mut Db) -> bool {
        self.0.has_broken(conn)
    }
}

/// Which backend a database URL selects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Normalises a `DATABASE_URL`: `postgres://…`/`postgresql://…` select PostgreSQL; `sqlite://path`,
/// `sqlite:path` or a plain file path select SQLite.
pub fn parse_url(url: &str) -> (Backend, String) {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        (Backend::Postgres, url.to_owned())
    } else if let Some(path) = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:")) {
        (Backend::Sqlite, path.to_owned())
    } else {
        (Backend::Sqlite, url.to_owned())
    }
}

/// How a pool is set up.
#[derive(Debug, Clone, Copy)]
pub struct PoolOptions {
    pub size: u32,
    /// How long a request waits for a connection before it fails (503): short for the server, so
    /// that requests fail fast while the database is away.
    pub checkout_wait: Duration,
    /// PostgreSQL's `statement_timeout` on every connection (SQLite has none; the query limits
    /// bound its work).
    pub statement_timeout: Option<Duration>,
}

impl PoolOptions {
    /// For commands: a small pool that waits patiently and lets statements run as long as they need.
    pub fn new(size: u32) -> Self {
        PoolOptions { size, checkout_wait: Duration::from_secs(30), statement_timeout: None }
    }
}

#[derive(Debug)]
struct ConnectionSetup {
    statement_timeout: Option<Duration>,
}

/// SQLite: WAL with `synchronous = FULL`: a committed write survives a power loss, not only a crash.
/// PostgreSQL: the statement timeout.
impl CustomizeConnection<Db, diesel::r2d2::Error> for ConnectionSetup {
    fn on_acquire(&self, conn: &mut Db) -> Result<(), diesel::r2d2::Error> {
        if let (Db::Pg(c), Some(t)) = (&mut *conn, self.statement_timeout) {
            c.batch_execute(&format!("SET statement_timeout = {}", t.as_millis().max(1)))
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        if let Db::Sqlite(c) = conn {
            c.batch_execute(
                "PRAGMA busy_timeout = 10000; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL; \
                 PRAGMA foreign_keys = ON;",
            )
            .map_err(diesel::r2d2::Error::QueryError)?;
            // SQLite's own lower() folds ASCII only; searches must fold "Ä" like PostgreSQL does.
            read::lower_utils::register_impl(c, |s: String| s.to_lowercase())
                .map_err(diesel::r2d2::Error::QueryError)?;
        }
        Ok(())
    }
}

/// Opens a pool. The database is created if it is a SQLite file that does not exist yet.
/// Connection errors name the backend and the cause (diesel's multi-connection would hide it).
pub fn connect(url: &str, max_size: u32) -> Result<DbPool, String> {
    connect_with(url, PoolOptions::new(max_size))
}

/// Opens a pool with the given options (see [`connect`]).
pub fn connect_with(url: &str, options: PoolOptions) -> Result<DbPool, String> {
    let (backend, target) = parse_url(url);
    // Try one direct connection first: its error says what is wrong (host down, bad path, …).
    match backend {
        Backend::Postgres => {
            PgConnection::establish(&target).map_err(|e| format!("cannot connect to PostgreSQL: {e}"))?;
        }
        Backend::Sqlite => {
            if let Some(dir) = std::path::Path::new(&target).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            SqliteConnection::establish(&target).map_err(|e| format!("cannot open SQLite database {target}: {e}"))?;
        }
    }
    let manager = Manager(ConnectionManager::<Db>::new(match backend {
        Backend::Postgres => target,
        Backend::Sqlite => format!("sqlite://{target}"),
    }));
    Pool::builder()
        .max_size(options.size)
        .connection_timeout(options.checkout_wait)
        .connection_customizer(Box::new(ConnectionSetup { statement_timeout: options.statement_timeout }))
        .build(manager)
        .map_err(|e| format!("cannot open the connection pool: {e}"))
}

/// Applies the embedded migrations of the connection's backend; returns how many ran.
/// Seals change-log entries written before the hash chain existed.
pub fn migrate(conn: &mut Db) -> Result<usize, String> {
    let ran = match conn {
        Db::Pg(c) => c.run_pending_migrations(PG_MIGRATIONS).map(|v| v.len()),
        Db::Sqlite(c) => c.run_pending_migrations(SQLITE_MIGRATIONS).map(|v| v.len()),
    };
    let ran = ran.map_err(|e| format!("migration failed: {e}"))?;
    write_tx(conn, |c| changes::seal_unsealed(c).map_err(Into::into))
        .map_err(|e| format!("sealing the change log: {e}"))?;
    Ok(ran)
}

/// The writers of this process to SQLite (an embedded database has one writer at a time anyway).
static SQLITE_WRITER: std::sync::Mutex<()> = std::sync::Mutex::new(());

thread_local! {
    /// Whether this thread holds [`SQLITE_WRITER`] (the mutex is not reentrant: taking it again
    /// on the same thread would hang).
    static HOLDS_SQLITE_WRITER: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// This thread's hold on [`SQLITE_WRITER`].
struct SqliteWriter {
    _guard: std::sync::MutexGuard<'static, ()>,
}

impl SqliteWriter {
    fn take() -> AppResult<SqliteWriter> {
        if HOLDS_SQLITE_WRITER.get() {
            // A write transaction on a second connection while this thread writes on another
            // would wait for itself.
            return Err(crate::error::AppError::Internal(
                "a SQLite write transaction began on a second connection of the same thread".into(),
            ));
        }
        let guard = SQLITE_WRITER.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        HOLDS_SQLITE_WRITER.set(true);
        Ok(SqliteWriter { _guard: guard })
    }
}

impl Drop for SqliteWriter {
    fn drop(&mut self) {
        HOLDS_SQLITE_WRITER.set(false);
    }
}

/// A write transaction begun by hand, for work that cannot run inside a closure (the GraphQL
/// handler hands its connection to the query context while the transaction is open); [`write_tx`]
/// is the closure form. It ends with [`WriteTx::commit`] or [`WriteTx::rollback`]. Dropped without
/// either, its connection stays inside the transaction: the pool counts such a connection as
/// broken and closes it, which rolls the transaction back.
#[must_use = "a write transaction must be committed or rolled back"]
pub struct WriteTx {
    /// SQLite: this process's one writer, held until the transaction ends.
    _writer: Option<SqliteWriter>,
}

/// Begins a write transaction: on SQLite an IMMEDIATE one, taken after this process's other
/// writers (see [`write_tx`]); on PostgreSQL a plain one. Every [`write_tx`] on the same connection
/// until it ends is a nested part of it (a savepoint).
pub fn begin_write(conn: &mut Db) -> AppResult<WriteTx> {
    match conn {
        Db::Pg(c) => {
            AnsiTransactionManager::begin_transaction(c)?;
            Ok(WriteTx { _writer: None })
        }
        Db::Sqlite(c) => {
            // One writer at a time queues here rather than in SQLite's busy handler, which polls
            // with growing sleeps and lets a waiting writer lose again and again (seconds at p99
            // under a stream of writes).
            let writer = SqliteWriter::take()?;
            AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
            Ok(WriteTx { _writer: Some(writer) })
        }
    }
}

impl WriteTx {
    /// Commits; when the commit fails, rolls back and returns the commit's error.
    pub fn commit(self, conn: &mut Db) -> AppResult<()> {
        let committed = match conn {
            Db::Pg(c) => AnsiTransactionManager::commit_transaction(c),
            Db::Sqlite(c) => AnsiTransactionManager::commit_transaction(c),
        };
        if let Err(e) = committed {
            let _ = self.rollback(conn);
            return Err(e.into());
        }
        Ok(())
    }

    /// Rolls back everything written since [`begin_write`].
    pub fn rollback(self, conn: &mut Db) -> AppResult<()> {
        let rolled_back = match conn {
            Db::Pg(c) => rollback_if_open(c),
            Db::Sqlite(c) => rollback_if_open(c),
        };
        Ok(rolled_back?)
    }
}

/// Rolls back the connection's transaction, if it still has one (a failed commit may have ended it).
fn rollback_if_open<C>(c: &mut C) -> diesel::QueryResult<()>
where
    C: Connection<TransactionManager = AnsiTransactionManager>,
{
    match AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()? {
        Some(_) => AnsiTransactionManager::rollback_transaction(c),
        None => Ok(()),
    }
}

/// Whether the connection is inside a transaction.
fn in_transaction(conn: &mut Db) -> diesel::QueryResult<bool> {
    let depth = match conn {
        Db::Pg(c) => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?,
        Db::Sqlite(c) => AnsiTransactionManager::transaction_manager_status_mut(c).transaction_depth()?,
    };
    Ok(depth.is_some())
}

/// Runs `f` in a write transaction. On SQLite it is an IMMEDIATE transaction, so concurrent writers
/// queue on the busy timeout instead of failing on a lock upgrade; on PostgreSQL it is a plain
/// transaction (optimistic version checks and unique keys guard the races).
///
/// Inside a transaction already open on the connection (one of [`begin_write`]: a mutation sent
/// with an Idempotency-Key runs whole in one), `f` runs in a savepoint of it instead: its writes
/// are undone alone when it fails and commit with the enclosing transaction. On SQLite the
/// enclosing transaction holds the writer already, so the savepoint takes nothing more.
pub fn write_tx<T>(conn: &mut Db, f: impl FnOnce(&mut Db) -> AppResult<T>) -> AppResult<T> {
    if in_transaction(conn)? {
        debug_assert!(
            matches!(conn, Db::Pg(_)) || HOLDS_SQLITE_WRITER.get(),
            "a nested SQLite write_tx inside a transaction that is no write transaction"
        );
        return conn.transaction(f);
    }
    match conn {
        Db::Pg(_) => conn.transaction(f),
        Db::Sqlite(_) => {
            let tx = begin_write(conn)?;
            match f(conn) {
                Ok(v) => tx.commit(conn).map(|()| v),
                Err(e) => {
                    tx.rollback(conn)?;
                    Err(e)
                }
            }
        }
    }
}

/// Whether a diesel error is a unique-key violation (two writers raced for the same natural key).
pub fn is_unique_violation(e: &diesel::result::Error) -> bool {
    matches!(e, diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _))
}

/// The PostgreSQL backend process serving a connection (its pid), asked once per connection and
/// kept with it; `None` on SQLite, whose statements run in this process and are bounded by the
/// query limits.
#[derive(Debug, Clone, Copy)]
struct BackendPid(i32);

pub fn backend_pid(conn: &mut PooledDb) -> Option<i32> {
    if let Some(BackendPid(pid)) = PooledConnection::extensions(conn).get::<BackendPid>() {
        return Some(*pid);
    }
    let Db::Pg(c) = &mut **conn else { return None };
    #[derive(diesel::QueryableByName)]
    struct Pid {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        pid: i32,
    }
    use diesel::RunQueryDsl;
    let pid = diesel::sql_query("SELECT pg_backend_pid() AS pid").get_result::<Pid>(c).ok()?.pid;
    PooledConnection::extensions_mut(conn).insert(BackendPid(pid));
    Some(pid)
}

/// Cancels the statement the backend `pid` is running (a request's answer was given up), over
/// another connection of the pool; an idle backend ignores it.
pub fn cancel_backend(pool: &DbPool, pid: i32) {
    use diesel::RunQueryDsl;
    let Ok(mut conn) = pool.get_timeout(Duration::from_secs(1)) else {
        tracing::warn!(pid, "cancelling a PostgreSQL backend: no connection free");
        return;
    };
    if let Db::Pg(c) = &mut *conn
        && let Err(e) = diesel::sql_query(format!("SELECT pg_cancel_backend({pid})")).execute(c)
    {
        tracing::warn!(pid, "cancelling a PostgreSQL backend: {e}");
    }
}

#[cfg(test)]
mod tests {
    use diesel::RunQueryDsl;

    use super::*;
    use crate::error::AppError;

    /// A fresh SQLite database file with one table.
    fn sqlite(name: &str) -> (Db, std::path::PathBuf) {
        let n = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        let path = std::env::temp_dir().join(format!("ozg-write-tx-{name}-{n}.db"));
        let mut conn = Db::Sqlite(SqliteConnection::establish(path.to_str().unwrap()).unwrap());
        conn.batch_execute("CREATE TABLE t (x INTEGER NOT NULL)").unwrap();
        (conn, path)
    }

    fn insert(conn: &mut Db, x: i32) -> AppResult<()> {
        diesel::sql_query(format!("INSERT INTO t (x) VALUES ({x})")).execute(conn)?;
        Ok(())
    }

    fn rows(conn: &mut Db) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct N {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            n: i64,
        }
        diesel::sql_query("SELECT COUNT(*) AS n FROM t").get_result::<N>(conn).unwrap().n
    }

    #[test]
    fn write_tx_inside_begin_write_is_a_savepoint() {
        let (mut conn, path) = sqlite("nested");
        let tx = begin_write(&mut conn).unwrap();
        write_tx(&mut conn, |c| insert(c, 1)).unwrap();
        let failed = write_tx(&mut conn, |c| {
            insert(c, 2)?;
            Err::<(), _>(AppError::Internal("refused".into()))
        });
        assert!(failed.is_err());
        // The failed part is undone alone; the connection is still inside the outer transaction.
        assert_eq!(rows(&mut conn), 1);
        assert!(in_transaction(&mut conn).unwrap());
        tx.commit(&mut conn).unwrap();
        assert!(!in_transaction(&mut conn).unwrap());
        assert_eq!(rows(&mut conn), 1);

        // Rolled back, the outer transaction takes its nested parts with it.
        let tx = begin_write(&mut conn).unwrap();
        write_tx(&mut conn, |c| insert(c, 3)).unwrap();
        tx.rollback(&mut conn).unwrap();
        assert_eq!(rows(&mut conn), 1);
        // The writer was given back: a plain write transaction still works.
        write_tx(&mut conn, |c| insert(c, 4)).unwrap();
        assert_eq!(rows(&mut conn), 2);
        drop(conn);
        let _ = std::fs::remove_file(path);
    }

    #[test]
    fn a_second_sqlite_writer_on_the_same_thread_is_refused() {
        let (mut conn, path) = sqlite("second");
        let mut other = Db::Sqlite(SqliteConnection::establish(path.to_str().unwrap()).unwrap());
        let tx = begin_write(&mut conn).unwrap();
        // Would wait for itself on the writer mutex; refused instead.
        assert!(write_tx(&mut other, |c| insert(c, 1)).is_err());
        assert!(!in_transaction(&mut other).unwrap());
        tx.commit(&mut conn).unwrap();
        write_tx(&mut other, |c| insert(c, 1)).unwrap();
        assert_eq!(rows(&mut conn), 1);
        drop((conn, other));
        let _ = std::fs::remove_file(path);
    }
}
