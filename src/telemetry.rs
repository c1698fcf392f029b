//! Logging with `tracing`: to standard error, human-readable or one JSON object per line.
//!
//! Every request runs in a `request` span (opened by `http::observe`) holding its `request_id`,
//! `method` and `path`, so each line written for the request carries them, also on the blocking
//! pool: work handed to another thread runs through [`carry_span`]. Records of libraries that log
//! with the `log` crate (actix, mio) are bridged into the same output.

use std::io::{IsTerminal, Write};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Subscriber, span};
use tracing_subscriber::filter::Targets;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::{Context, Layer, SubscriberExt};
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;

/// The target of the `request` span: switching it off (`RUST_LOG=…,ozg_registry::request=off`)
/// drops the request id from the lines.
pub const REQUEST_TARGET: &str = "ozg_registry::request";

/// Logs go to standard error: human-readable by default, one JSON object per line with
/// `OZG_REGISTRY_LOG_FORMAT=json` (see [`JsonLines`]). `RUST_LOG` filters by target and level
/// (`info` when unset: e.g. `warn`, `info,ozg_registry::sql=trace`, `debug,actix_server=warn`).
pub fn init_logging() {
    let json = std::env::var("OZG_REGISTRY_LOG_FORMAT").is_ok_and(|f| f.eq_ignore_ascii_case("json"));
    let (filter, refused) = filter_of(std::env::var("RUST_LOG").ok().as_deref());
    let registry = tracing_subscriber::registry().with(filter);
    let installed = if json {
        registry.with(JsonLines::new(std::io::stderr)).try_init()
    } else {
        let text =
            tracing_subscriber::fmt::layer().with_writer(std::io::stderr).with_ansi(std::io::stderr().is_terminal());
        registry.with(text).try_init()
    };
    if let Err(e) = installed {
        eprintln!("logging could not be set up: {e}");
    }
    if let Some(e) = refused {
        tracing::warn!("RUST_LOG is not understood ({e}); logging at info");
    }
}

/// The filter `RUST_LOG` names (comma-separated `level` and `target=level`), `info` when it is
/// unset or empty, and `info` with the parse error when it is not understood.
fn filter_of(rust_log: Option<&str>) -> (Targets, Option<String>) {
    let default = || Targets::new().with_default(tracing::Level::INFO);
    match rust_log.map(str::trim).filter(|s| !s.is_empty()) {
        None => (default(), None),
        Some(s) => match s.parse::<Targets>() {
            Ok(t) => (t, None),
            Err(e) => (default(), Some(e.to_string())),
        },
    }
}

/// Runs `f` in the span current where it is called: for work handed to the blocking pool
/// (`web::block`, `spawn_blocking`) or another thread, which does not enter the caller's span by
/// itself. Call it on the caller's side: `web::block(carry_span(move || …))`.
pub fn carry_span<T>(f: impl FnOnce() -> T) -> impl FnOnce() -> T {
    let span = tracing::Span::current();
    move || span.in_scope(f)
}

/// One JSON object per line: `time` (RFC 3339, UTC, milliseconds), `level`, `target`, `message`,
/// then the fields of the spans the event happened in, outermost first (for a request:
/// `request_id`, `method`, `path`), then the event's own fields (such as `status`, `duration_ms`
/// of the access log, `incident` of an internal error), all top-level; an event's field wins over
/// a span's of the same name. Records bridged from the `log` crate carry their own target.
pub struct JsonLines<W> {
    make_writer: W,
}

impl<W> JsonLines<W> {
    pub fn new(make_writer: W) -> Self {
        JsonLines { make_writer }
    }
}

/// A span's fields, kept in its extensions for the lines written inside it.
struct SpanFields(Map<String, Value>);

/// Collects fields as JSON values: numbers and booleans as such, everything else as text.
struct Collect<'a>(&'a mut Map<String, Value>);

impl Visit for Collect<'_> {
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), serde_json::json!(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().into(), value.into());
    }
    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        self.0.insert(field.name().into(), format!("{value:?}").into());
    }
}

impl<S, W> Layer<S> for JsonLines<W>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    W: for<'w> MakeWriter<'w> + 'static,
{
    fn on_new_span(&self, attrs: &span::Attributes<'_>, id: &span::Id, ctx: Context<'_, S>) {
        let mut fields = Map::new();
        attrs.record(&mut Collect(&mut fields));
        if let Some(span) = ctx.span(id) {
            span.extensions_mut().insert(SpanFields(fields));
        }
    }

    fn on_record(&self, id: &span::Id, values: &span::Record<'_>, ctx: Context<'_, S>) {
        if let Some(span) = ctx.span(id)
            && let Some(fields) = span.extensions_mut().get_mut::<SpanFields>()
        {
            values.record(&mut Collect(&mut fields.0));
        }
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let mut own = Map::new();
        event.record(&mut Collect(&mut own));
        let meta = event.metadata();
        // A record bridged from the `log` crate names its target in a field.
        let target = match own.remove("log.target") {
            Some(Value::String(t)) => t,
            _ => meta.target().to_owned(),
        };
        own.retain(|k, _| !k.starts_with("log."));
        let mut line = Map::new();
        line.insert("time".into(), chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true).into());
        line.insert("level".into(), meta.level().as_str().into());
        line.insert("target".into(), target.into());
        line.insert("message".into(), own.remove("message").unwrap_or_else(|| "".into()));
        if let Some(scope) = ctx.event_scope(event) {
            for span in scope.from_root() {
                if let Some(fields) = span.extensions().get::<SpanFields>() {
                    line.extend(fields.0.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
        }
        line.extend(own);
        let mut text = Value::Object(line).to_string();
        text.push('\n');
        // One write per line, so lines of concurrent requests do not interleave.
        let _ = self.make_writer.make_writer().write_all(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    #[derive(Clone, Default)]
    struct Buffer(Arc<Mutex<Vec<u8>>>);

    impl Write for Buffer {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn lines(buffer: &Buffer) -> Vec<Value> {
        let text = String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap();
        text.lines().map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}"))).collect()
    }

    #[test]
    fn a_json_line_has_the_span_fields_and_its_own_top_level() {
        let buffer = Buffer::default();
        let writer = buffer.clone();
        let dispatch =
            tracing::Dispatch::new(tracing_subscriber::registry().with(JsonLines::new(move || writer.clone())));
        // Another thread, with the same subscriber (as the global one is everywhere).
        let elsewhere = |f: Box<dyn FnOnce() + Send>| {
            let d = dispatch.clone();
            std::thread::spawn(move || tracing::dispatcher::with_default(&d, f)).join().unwrap();
        };
        tracing::dispatcher::with_default(&dispatch, || {
            let span = tracing::error_span!(target: REQUEST_TARGET, "request", request_id = "r-1", method = "GET");
            let _g = span.enter();
            tracing::info!(target: "ozg_registry::access", status = 200u16, duration_ms = 1.5, "GET / 200");
            // Handed to another thread, the closure runs in the caller's span; without, it does not.
            elsewhere(Box::new(carry_span(|| tracing::error!(incident = "ab12", method = "own", "incident ab12: x"))));
            elsewhere(Box::new(|| tracing::warn!("without the span")));
        });
        let lines = lines(&buffer);
        assert_eq!(lines.len(), 3, "{lines:?}");
        let access = &lines[0];
        assert_eq!(access["level"], "INFO");
        assert_eq!(access["target"], "ozg_registry::access");
        assert_eq!(access["message"], "GET / 200");
        assert_eq!(access["request_id"], "r-1");
        assert_eq!(access["status"], 200);
        assert_eq!(access["duration_ms"], 1.5);
        assert!(access["time"].as_str().is_some_and(|t| t.ends_with('Z')), "{access}");
        let incident = &lines[1];
        assert_eq!(incident["level"], "ERROR");
        assert_eq!(incident["request_id"], "r-1");
        assert_eq!(incident["incident"], "ab12");
        assert_eq!(incident["method"], "own", "the event's field wins");
        assert!(lines[2].get("request_id").is_none(), "{}", lines[2]);
    }

    #[test]
    fn rust_log_is_read_as_targets_and_levels() {
        let (f, e) = filter_of(None);
        assert!(e.is_none() && f.would_enable("actix_server", &tracing::Level::INFO));
        assert!(!f.would_enable("ozg_registry::sql", &tracing::Level::TRACE));
        let (f, e) = filter_of(Some("warn,ozg_registry::sql=trace"));
        assert!(e.is_none());
        assert!(f.would_enable("ozg_registry::sql", &tracing::Level::TRACE));
        assert!(!f.would_enable("ozg_registry::access", &tracing::Level::INFO));
        assert!(f.would_enable(REQUEST_TARGET, &tracing::Level::ERROR));
        let (f, e) = filter_of(Some("ozg_registry=loud"));
        assert!(e.is_some() && f.would_enable("ozg_registry", &tracing::Level::INFO));
    }
}
