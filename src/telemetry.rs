//! Logging: to standard error, human-readable or one JSON object per line.

/// Logs go to standard error: human-readable by default, one JSON object per line with
/// `OZG_REGISTRY_LOG_FORMAT=json` (time, level, target, message and the record's fields, such as
/// `request_id`, `status` and `duration_ms` of the access log).
pub fn init_logging() {
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
