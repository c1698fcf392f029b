//! The settings of a run: read once at start from the environment by [`Settings::from_env`] (the
//! only place that reads it, besides the log settings in `telemetry`), changed by the command
//! line's flags, and passed to what needs them. One rule for every variable: unset, empty or only
//! spaces is the default; a malformed value is an error naming the variable and what it allows,
//! and the command does not start. Tests build their settings in code (`Settings::default()` plus
//! changes) and never read the environment.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::auth::AuthConfig;
use crate::federation::FederationConfig;
use crate::http::HttpConfig;
use crate::http::rate::Rate;
use crate::startup::{DEFAULT_DATABASE_URL, DEFAULT_LISTEN};

/// Everything an operator can set.
#[derive(Clone)]
pub struct Settings {
    /// `DATABASE_URL` (or `--database-url`): a SQLite file path (or sqlite://path) or postgres://… URL.
    pub database_url: String,
    /// `OZG_REGISTRY_LISTEN` (or `--listen`): the address `serve` listens on.
    pub listen: String,
    /// `OZG_REGISTRY_SEED_DIR` (or `--seed-dir`): the seed files (`None`: `./seed`, else the crate's).
    pub seed_dir: Option<PathBuf>,
    /// `OZG_REGISTRY_SEED_PROJECTS`: `off` seeds reference data only, no projects.
    pub seed_projects: bool,
    /// `OZG_REGISTRY_WORKERS` (or `--workers`): HTTP worker threads (`None`: one per core).
    pub workers: Option<usize>,
    /// `OZG_REGISTRY_POOL_SIZE` (or `--pool-size`): database connections of `serve`.
    pub pool_size: u32,
    /// `OZG_REGISTRY_WEB_CLIENT_SECRET` (or `--web-client-secret`) for `issuer add`.
    pub web_client_secret: Option<String>,
    /// Limits, switches, timeouts and rate limits of the HTTP server.
    pub http: HttpConfig,
    /// How tokens are issued and checked.
    pub auth: AuthConfig,
    /// This instance in the federation, and the background sync.
    pub federation: FederationConfig,
    /// Hooks for the tests that run the binary; off unless set.
    pub hooks: TestHooks,
}

/// Hooks for tests that run the binary (tests/api/faults.rs); all off by default.
#[derive(Debug, Clone, Copy, Default)]
pub struct TestHooks {
    /// `OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS` (0: off): a mutation sent with an
    /// Idempotency-Key sleeps this long after it ran and before its answer is stored and its
    /// transaction commits, so that a test can kill the server at that moment.
    pub pause_after_mutation: Option<Duration>,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            database_url: DEFAULT_DATABASE_URL.into(),
            listen: DEFAULT_LISTEN.into(),
            seed_dir: None,
            seed_projects: true,
            workers: None,
            pool_size: 10,
            web_client_secret: None,
            http: HttpConfig::default(),
            auth: AuthConfig::default(),
            federation: FederationConfig::default(),
            hooks: TestHooks::default(),
        }
    }
}

impl fmt::Debug for Settings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Settings")
            .field("database_url", &self.database_url)
            .field("listen", &self.listen)
            .field("seed_dir", &self.seed_dir)
            .field("seed_projects", &self.seed_projects)
            .field("workers", &self.workers)
            .field("pool_size", &self.pool_size)
            .field("web_client_secret", &self.web_client_secret.as_ref().map(|_| "…"))
            .field("http", &self.http)
            .field("auth", &self.auth)
            .field("federation", &self.federation)
            .field("hooks", &self.hooks)
            .finish()
    }
}

/// The variables read at start; a value of one of them that is not UTF-8 is refused.
const PREFIX: &str = "OZG_REGISTRY_";

impl Settings {
    /// The settings from the process environment: the one place it is read.
    pub fn from_env() -> Result<Self, String> {
        for (name, value) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if (name.starts_with(PREFIX) || name == "DATABASE_URL") && value.to_str().is_none() {
                return Err(format!("{name}: the value is not valid UTF-8"));
            }
        }
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// The settings from `get` (a variable's value, `None` when unset), with the one rule: unset,
    /// empty or only spaces is the default, a malformed value an error naming the variable.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let v = Vars(&get);
        let d = Settings::default();
        let pause = v.number("OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS", 0, 600_000, "milliseconds")?.unwrap_or(0);
        Ok(Settings {
            database_url: v.text("DATABASE_URL").unwrap_or(d.database_url),
            listen: v.text("OZG_REGISTRY_LISTEN").unwrap_or(d.listen),
            seed_dir: v.text("OZG_REGISTRY_SEED_DIR").map(PathBuf::from),
            seed_projects: v.switch("OZG_REGISTRY_SEED_PROJECTS", d.seed_projects)?,
            workers: v.number("OZG_REGISTRY_WORKERS", 1, 1024, "")?.map(|n| n as usize),
            pool_size: v.number("OZG_REGISTRY_POOL_SIZE", 1, 1000, "")?.map_or(d.pool_size, |n| n as u32),
            web_client_secret: v.text("OZG_REGISTRY_WEB_CLIENT_SECRET"),
            http: http(&v)?,
            auth: auth(&v)?,
            federation: federation(&v)?,
            hooks: TestHooks { pause_after_mutation: (pause > 0).then(|| Duration::from_millis(pause)) },
        })
    }
}

/// The variables, read with the one rule.
struct Vars<'a>(&'a dyn Fn(&str) -> Option<String>);

impl Vars<'_> {
    /// The value, trimmed; `None` when unset, empty or only spaces.
    fn text(&self, name: &str) -> Option<String> {
        (self.0)(name).map(|v| v.trim().to_owned()).filter(|v| !v.is_empty())
    }

    /// `on`/`true`/`1` or `off`/`false`/`0`.
    fn switch(&self, name: &str, default: bool) -> Result<bool, String> {
        match self.text(name).as_deref() {
            None => Ok(default),
            Some("on" | "true" | "1") => Ok(true),
            Some("off" | "false" | "0") => Ok(false),
            Some(v) => Err(format!("{name}: {v:?} is not on or off")),
        }
    }

    /// A whole number from `min` to `max` (`unit`, e.g. "seconds", only names it in the message).
    fn number(&self, name: &str, min: u64, max: u64, unit: &str) -> Result<Option<u64>, String> {
        self.text(name)
            .map(|v| match v.parse::<u64>() {
                Ok(n) if (min..=max).contains(&n) => Ok(n),
                _ if unit.is_empty() => Err(format!("{name}: {v:?} is not a number from {min} to {max}")),
                _ => Err(format!("{name}: {v:?} is not a number of {unit} from {min} to {max}")),
            })
            .transpose()
    }

    /// Seconds from 0 to a day.
    fn secs(&self, name: &str, default: Duration) -> Result<Duration, String> {
        Ok(self.number(name, 0, 86_400, "seconds")?.map_or(default, Duration::from_secs))
    }

    /// `N/s`, `N/min`, `N/h` or `off`.
    fn rate(&self, name: &str, default: Option<Rate>) -> Result<Option<Rate>, String> {
        self.text(name).map_or(Ok(default), |v| Rate::parse(name, &v))
    }
}

fn http(v: &Vars) -> Result<HttpConfig, String> {
    let mut c = HttpConfig::default();
    c.limits.introspection = v.switch("OZG_REGISTRY_INTROSPECTION", c.limits.introspection)?;
    c.graphiql = v.switch("OZG_REGISTRY_GRAPHIQL", c.graphiql)?;
    c.metrics = v.switch("OZG_REGISTRY_METRICS", c.metrics)?;
    c.query_count_header = v.switch("OZG_REGISTRY_QUERY_COUNT_HEADER", c.query_count_header)?;
    if let Some(n) = v.number("OZG_REGISTRY_MAX_COST", 100, 1_000_000_000, "")? {
        c.limits.max_cost = n;
    }
    if let Some(n) = v.number("OZG_REGISTRY_MAX_OBJECTS", 1_000, 100_000_000, "")? {
        c.limits.max_objects = n;
    }
    if let Some(n) = v.number("OZG_REGISTRY_MAX_RESPONSE_BYTES", 65_536, 1 << 32, "bytes")? {
        c.limits.max_response_bytes = n;
    }
    if let Some(ms) = v.number("OZG_REGISTRY_REQUEST_TIMEOUT_MS", 1, 600_000, "milliseconds")? {
        c.request_timeout = Duration::from_millis(ms);
    }
    if let Some(s) = v.number("OZG_REGISTRY_SHUTDOWN_TIMEOUT_SECS", 0, 3600, "seconds")? {
        c.shutdown_timeout = Duration::from_secs(s);
    }
    c.rate_per_address = v.rate("OZG_REGISTRY_RATE_LIMIT_ADDRESS", c.rate_per_address)?;
    c.rate_per_token = v.rate("OZG_REGISTRY_RATE_LIMIT_TOKEN", c.rate_per_token)?;
    Ok(c)
}

fn auth(v: &Vars) -> Result<AuthConfig, String> {
    let d = AuthConfig::default();
    Ok(AuthConfig {
        issuer: v.text("OZG_REGISTRY_ISSUER").unwrap_or(d.issuer),
        audience: v.text("OZG_REGISTRY_AUDIENCE").unwrap_or(d.audience),
        signing_key_file: v.text("OZG_REGISTRY_SIGNING_KEY_FILE").map(PathBuf::from),
        jwks_refresh_interval: v.secs("OZG_REGISTRY_JWKS_REFRESH_SECS", d.jwks_refresh_interval)?,
        leeway: d.leeway,
    })
}

fn federation(v: &Vars) -> Result<FederationConfig, String> {
    let d = FederationConfig::default();
    let instance_id = v.text("OZG_REGISTRY_INSTANCE_ID");
    if let Some(id) = &instance_id {
        crate::federation::check_instance_id(id).map_err(|e| format!("OZG_REGISTRY_INSTANCE_ID: {e}"))?;
    }
    let public_url = v.text("OZG_REGISTRY_PUBLIC_URL");
    if let Some(u) = &public_url
        && !(u.starts_with("https://") || u.starts_with("http://"))
    {
        return Err(format!("OZG_REGISTRY_PUBLIC_URL: {u:?} is not an http(s) URL like https://registry.example.org"));
    }
    Ok(FederationConfig {
        instance_id,
        instance_name: v.text("OZG_REGISTRY_INSTANCE_NAME"),
        public_url: public_url.map(|u| u.trim_end_matches('/').to_owned()),
        key_file: v.text("OZG_REGISTRY_FEDERATION_KEY_FILE").map(PathBuf::from),
        sync_interval: v.secs("OZG_REGISTRY_SYNC_INTERVAL_SECS", d.sync_interval)?,
        reconcile_interval: v.secs("OZG_REGISTRY_RECONCILE_INTERVAL_SECS", d.reconcile_interval)?,
        peer_timeout: v.secs("OZG_REGISTRY_PEER_TIMEOUT_SECS", d.peer_timeout)?.max(Duration::from_secs(1)),
        lease_ttl: v.secs("OZG_REGISTRY_JOB_LEASE_SECS", d.lease_ttl)?.max(Duration::from_secs(2)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from(pairs: &[(&str, &str)]) -> Result<Settings, String> {
        Settings::from_lookup(|k| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned()))
    }

    /// Every variable with a well-formed value, to check that each is read.
    const GOOD: &[(&str, &str)] = &[
        ("DATABASE_URL", "postgres://db/registry"),
        ("OZG_REGISTRY_LISTEN", "0.0.0.0:9000"),
        ("OZG_REGISTRY_SEED_DIR", "/srv/seed"),
        ("OZG_REGISTRY_SEED_PROJECTS", "off"),
        ("OZG_REGISTRY_WORKERS", "3"),
        ("OZG_REGISTRY_POOL_SIZE", "4"),
        ("OZG_REGISTRY_WEB_CLIENT_SECRET", "s3cret"),
        ("OZG_REGISTRY_INTROSPECTION", "off"),
        ("OZG_REGISTRY_GRAPHIQL", "false"),
        ("OZG_REGISTRY_METRICS", "0"),
        ("OZG_REGISTRY_QUERY_COUNT_HEADER", "on"),
        ("OZG_REGISTRY_MAX_COST", "500"),
        ("OZG_REGISTRY_MAX_OBJECTS", "2000"),
        ("OZG_REGISTRY_MAX_RESPONSE_BYTES", "70000"),
        ("OZG_REGISTRY_REQUEST_TIMEOUT_MS", "250"),
        ("OZG_REGISTRY_SHUTDOWN_TIMEOUT_SECS", "5"),
        ("OZG_REGISTRY_RATE_LIMIT_ADDRESS", "off"),
        ("OZG_REGISTRY_RATE_LIMIT_TOKEN", "20/s"),
        ("OZG_REGISTRY_ISSUER", "https://idp.example"),
        ("OZG_REGISTRY_AUDIENCE", "registry"),
        ("OZG_REGISTRY_SIGNING_KEY_FILE", "/keys/sign.pem"),
        ("OZG_REGISTRY_JWKS_REFRESH_SECS", "60"),
        ("OZG_REGISTRY_INSTANCE_ID", "nrw.kdn"),
        ("OZG_REGISTRY_INSTANCE_NAME", "NRW"),
        ("OZG_REGISTRY_PUBLIC_URL", "https://registry.example/"),
        ("OZG_REGISTRY_FEDERATION_KEY_FILE", "/keys/feed.pem"),
        ("OZG_REGISTRY_SYNC_INTERVAL_SECS", "0"),
        ("OZG_REGISTRY_RECONCILE_INTERVAL_SECS", "600"),
        ("OZG_REGISTRY_PEER_TIMEOUT_SECS", "4"),
        ("OZG_REGISTRY_JOB_LEASE_SECS", "9"),
        ("OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS", "1500"),
    ];

    /// The variables that take any text (names, paths, addresses checked where they are used).
    const FREE_TEXT: &[&str] = &[
        "DATABASE_URL",
        "OZG_REGISTRY_LISTEN",
        "OZG_REGISTRY_SEED_DIR",
        "OZG_REGISTRY_WEB_CLIENT_SECRET",
        "OZG_REGISTRY_ISSUER",
        "OZG_REGISTRY_AUDIENCE",
        "OZG_REGISTRY_SIGNING_KEY_FILE",
        "OZG_REGISTRY_INSTANCE_NAME",
        "OZG_REGISTRY_FEDERATION_KEY_FILE",
    ];

    /// Values that each variable with a form mostly refuses.
    const BAD: &[&str] = &["abc", "-1", "1.5", "10000000000000", "maybe", "ftp://x", "NRW!"];

    #[test]
    fn unset_empty_and_blank_are_the_defaults() {
        let defaults = format!("{:?}", Settings::default());
        assert_eq!(format!("{:?}", from(&[]).unwrap()), defaults);
        for blank in ["", " ", "\t \n"] {
            let all: Vec<(&str, &str)> = GOOD.iter().map(|(n, _)| (*n, blank)).collect();
            assert_eq!(format!("{:?}", from(&all).unwrap()), defaults, "every variable set to {blank:?}");
        }
    }

    #[test]
    fn every_variable_is_read() {
        let s = from(GOOD).unwrap();
        assert_eq!(
            (s.database_url.as_str(), s.listen.as_str(), s.seed_dir.as_deref(), s.seed_projects),
            ("postgres://db/registry", "0.0.0.0:9000", Some(std::path::Path::new("/srv/seed")), false)
        );
        assert_eq!((s.workers, s.pool_size, s.web_client_secret.as_deref()), (Some(3), 4, Some("s3cret")));
        let h = &s.http;
        assert_eq!((h.limits.introspection, h.graphiql, h.metrics, h.query_count_header), (false, false, false, true));
        assert_eq!((h.limits.max_cost, h.limits.max_objects, h.limits.max_response_bytes), (500, 2000, 70_000));
        assert_eq!((h.request_timeout.as_millis(), h.shutdown_timeout.as_secs()), (250, 5));
        assert!(h.rate_per_address.is_none());
        assert_eq!(h.rate_per_token.map(|r| (r.requests, r.per.as_secs())), Some((20, 1)));
        let a = &s.auth;
        assert_eq!((a.issuer.as_str(), a.audience.as_str()), ("https://idp.example", "registry"));
        assert_eq!(
            (a.signing_key_file.as_deref(), a.jwks_refresh_interval.as_secs()),
            (Some("/keys/sign.pem".as_ref()), 60)
        );
        let f = &s.federation;
        assert_eq!(
            (f.instance_id.as_deref(), f.instance_name.as_deref(), f.public_url.as_deref()),
            (Some("nrw.kdn"), Some("NRW"), Some("https://registry.example"))
        );
        assert_eq!(f.key_file.as_deref(), Some("/keys/feed.pem".as_ref()));
        let secs = [f.sync_interval, f.reconcile_interval, f.peer_timeout, f.lease_ttl].map(|d| d.as_secs());
        assert_eq!(secs, [0, 600, 4, 9]);
        assert_eq!(s.hooks.pause_after_mutation, Some(Duration::from_millis(1500)));
        // Values are trimmed; 0 switches the pause off.
        let s =
            from(&[("OZG_REGISTRY_ISSUER", "  iss  "), ("OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS", "0")]).unwrap();
        assert_eq!((s.auth.issuer.as_str(), s.hooks.pause_after_mutation), ("iss", None));
    }

    #[test]
    fn a_malformed_value_is_refused_naming_the_variable() {
        let e = from(&[("OZG_REGISTRY_JWKS_REFRESH_SECS", "abc")]).unwrap_err();
        assert_eq!(e, "OZG_REGISTRY_JWKS_REFRESH_SECS: \"abc\" is not a number of seconds from 0 to 86400");
        // Every variable that has a form refuses what does not have it, and names itself.
        for (name, _) in GOOD.iter().filter(|(n, _)| !FREE_TEXT.contains(n)) {
            let refused: Vec<&str> = BAD.iter().copied().filter(|bad| from(&[(name, bad)]).is_err()).collect();
            assert!(refused.len() >= 3, "{name} refuses only {refused:?}");
            for bad in refused {
                let e = from(&[(name, bad)]).unwrap_err();
                assert!(e.starts_with(&format!("{name}: ")), "{name}={bad}: {e}");
            }
        }
        for (name, bad) in [
            ("OZG_REGISTRY_POOL_SIZE", "0"),
            ("OZG_REGISTRY_WORKERS", "0"),
            ("OZG_REGISTRY_MAX_COST", "99"),
            ("OZG_REGISTRY_RATE_LIMIT_TOKEN", "0/s"),
            ("OZG_REGISTRY_SEED_PROJECTS", "no"),
            ("OZG_REGISTRY_TEST_PAUSE_AFTER_MUTATION_MS", "soon"),
            ("OZG_REGISTRY_INSTANCE_ID", "Not An Id"),
            ("OZG_REGISTRY_PUBLIC_URL", "registry.example"),
        ] {
            let e = from(&[(name, bad)]).unwrap_err();
            assert!(e.starts_with(&format!("{name}: ")), "{name}={bad}: {e}");
        }
    }
}
