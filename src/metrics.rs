//! Prometheus metrics, kept in memory and written in the text exposition format at `/metrics`:
//! requests by route and status, a latency histogram by route, errors by code, requests refused by
//! the rate limits, the database pool, and federation sync per peer.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::Mutex;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 14] = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// The outcome of one federation sync with a peer.
#[derive(Debug, Clone, Default)]
pub struct PeerSync {
    pub runs: u64,
    pub failures: u64,
    pub records: u64,
    /// Unix seconds of the last successful sync.
    pub last_success: Option<i64>,
}

#[derive(Default)]
struct Inner {
    requests: BTreeMap<(String, String, u16), u64>,
    latency: BTreeMap<String, Histogram>,
    errors: BTreeMap<String, u64>,
    rate_limited: BTreeMap<&'static str, u64>,
    peers: BTreeMap<String, PeerSync>,
}

/// The `method` label: the standard methods as they are, anything a client makes up as `other`.
fn method_label(method: &str) -> &'static str {
    match method {
        "GET" => "GET",
        "HEAD" => "HEAD",
        "POST" => "POST",
        "PUT" => "PUT",
        "DELETE" => "DELETE",
        "PATCH" => "PATCH",
        "OPTIONS" => "OPTIONS",
        _ => "other",
    }
}

#[derive(Default)]
pub struct Metrics {
    inner: Mutex<Inner>,
}

/// What the pool looks like right now.
pub struct PoolGauge {
    pub size: u32,
    pub connections: u32,
    pub idle: u32,
}

impl Metrics {
    fn with<R>(&self, f: impl FnOnce(&mut Inner) -> R) -> R {
        f(&mut self.inner.lock().unwrap_or_else(|p| p.into_inner()))
    }

    /// One answered request. `route` is the matched route pattern and `method` one of the known
    /// methods or `other`, so labels stay few whatever clients send.
    pub fn request(&self, method: &str, route: &str, status: u16, seconds: f64) {
        let method = method_label(method);
        self.with(|m| {
            *m.requests.entry((method.to_owned(), route.to_owned(), status)).or_default() += 1;
            let h = m.latency.entry(route.to_owned()).or_default();
            h.count += 1;
            h.sum += seconds;
            for (i, le) in BUCKETS.iter().enumerate() {
                if seconds <= *le {
                    h.counts[i] += 1;
                }
            }
        });
    }

    /// One error with its stable code (`BAD_USER_INPUT`, `FORBIDDEN`, …).
    pub fn error(&self, code: &str) {
        let code: String = code.chars().filter(|c| c.is_ascii_uppercase() || *c == '_').take(40).collect();
        self.with(|m| *m.errors.entry(code).or_default() += 1);
    }

    pub fn rate_limited(&self, by: &'static str) {
        self.with(|m| *m.rate_limited.entry(by).or_default() += 1);
    }

    pub fn peer_sync(&self, peer: &str, ok: bool, records: u64, now: i64) {
        self.with(|m| {
            let p = m.peers.entry(peer.to_owned()).or_default();
            p.runs += 1;
            p.records += records;
            if ok {
                p.last_success = Some(now);
            } else {
                p.failures += 1;
            }
        });
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self, pool: &PoolGauge) -> String {
        let mut out = String::new();
        self.with(|m| {
            out.push_str("# HELP ozg_http_requests_total HTTP requests answered, by method, route and status.\n");
            out.push_str("# TYPE ozg_http_requests_total counter\n");
            for ((method, route, status), n) in &m.requests {
                let _ = writeln!(
                    out,
                    "ozg_http_requests_total{{method=\"{method}\",route=\"{}\",status=\"{status}\"}} {n}",
                    escape(route)
                );
            }
            out.push_str("# HELP ozg_http_request_duration_seconds Time to answer a request, by route.\n");
            out.push_str("# TYPE ozg_http_request_duration_seconds histogram\n");
            for (route, h) in &m.latency {
                let route = escape(route);
                for (i, le) in BUCKETS.iter().enumerate() {
                    let _ = writeln!(
                        out,
                        "ozg_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"{le}\"}} {}",
                        h.counts[i]
                    );
                }
                let _ = writeln!(
                    out,
                    "ozg_http_request_duration_seconds_bucket{{route=\"{route}\",le=\"+Inf\"}} {}",
                    h.count
                );
                let _ = writeln!(out, "ozg_http_request_duration_seconds_sum{{route=\"{route}\"}} {}", h.sum);
                let _ = writeln!(out, "ozg_http_request_duration_seconds_count{{route=\"{route}\"}} {}", h.count);
            }
            out.push_str("# HELP ozg_errors_total Errors reported to clients, by stable code.\n");
            out.push_str("# TYPE ozg_errors_total counter\n");
            for (code, n) in &m.errors {
                let _ = writeln!(out, "ozg_errors_total{{code=\"{code}\"}} {n}");
            }
            out.push_str("# HELP ozg_rate_limited_total Requests refused with 429, by the limit that refused them.\n");
            out.push_str("# TYPE ozg_rate_limited_total counter\n");
            for (by, n) in &m.rate_limited {
                let _ = writeln!(out, "ozg_rate_limited_total{{by=\"{by}\"}} {n}");
            }
            out.push_str("# HELP ozg_federation_sync_runs_total Sync runs with each peer registry.\n");
            out.push_str("# TYPE ozg_federation_sync_runs_total counter\n");
            for (peer, p) in &m.peers {
                let _ = writeln!(out, "ozg_federation_sync_runs_total{{peer=\"{}\"}} {}", escape(peer), p.runs);
            }
            out.push_str("# HELP ozg_federation_sync_failures_total Failed sync runs with each peer registry.\n");
            out.push_str("# TYPE ozg_federation_sync_failures_total counter\n");
            for (peer, p) in &m.peers {
                let _ = writeln!(out, "ozg_federation_sync_failures_total{{peer=\"{}\"}} {}", escape(peer), p.failures);
            }
            out.push_str("# HELP ozg_federation_sync_records_total Records taken over from each peer registry.\n");
            out.push_str("# TYPE ozg_federation_sync_records_total counter\n");
            for (peer, p) in &m.peers {
                let _ = writeln!(out, "ozg_federation_sync_records_total{{peer=\"{}\"}} {}", escape(peer), p.records);
            }
            out.push_str(
                "# HELP ozg_federation_last_success_timestamp_seconds When each peer last synced successfully.\n",
            );
            out.push_str("# TYPE ozg_federation_last_success_timestamp_seconds gauge\n");
            for (peer, p) in &m.peers {
                if let Some(t) = p.last_success {
                    let _ =
                        writeln!(out, "ozg_federation_last_success_timestamp_seconds{{peer=\"{}\"}} {t}", escape(peer));
                }
            }
        });
        out.push_str("# HELP ozg_db_pool_connections Database connections: the pool's size, open and idle.\n");
        out.push_str("# TYPE ozg_db_pool_connections gauge\n");
        let _ = writeln!(out, "ozg_db_pool_connections{{state=\"max\"}} {}", pool.size);
        let _ = writeln!(out, "ozg_db_pool_connections{{state=\"open\"}} {}", pool.connections);
        let _ = writeln!(out, "ozg_db_pool_connections{{state=\"idle\"}} {}", pool.idle);
        let _ =
            writeln!(out, "ozg_db_pool_connections{{state=\"in_use\"}} {}", pool.connections.saturating_sub(pool.idle));
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}
