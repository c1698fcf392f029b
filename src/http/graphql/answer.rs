//! The body of a GraphQL answer, built from juniper's typed result and serialised once: the data
//! as juniper's `Value`, every error with a stable `extensions.code` and the request id, and our
//! `extensions` (the cost and the request id).

use std::borrow::Cow;

use juniper::parser::SourcePosition;
use juniper::{DefaultScalarValue, ExecutionError, GraphQLError, Object, OperationType};
use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::{Value, json};

type Data = juniper::Value<DefaultScalarValue>;

/// What juniper's execution comes to: the data and its field errors, or a request error.
pub(super) type Executed = Result<(Data, Vec<ExecutionError<DefaultScalarValue>>), GraphQLError>;

/// A GraphQL response as we send it.
#[derive(Serialize)]
pub(super) struct Answer<'a> {
    /// Present when the operation ran (even as `null`); absent for a request error.
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Data>,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Vec<AnswerError<'a>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    extensions: Option<Extensions<'a>>,
}

/// The answer's own `extensions`: what the query cost and the request id.
#[derive(Serialize)]
struct Extensions<'a> {
    cost: u64,
    #[serde(rename = "requestId")]
    request_id: &'a str,
}

/// One error of an answer (see the GraphQL spec: message, locations, path, extensions).
#[derive(Serialize)]
struct AnswerError<'a> {
    message: Cow<'a, str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    locations: Option<Vec<SourcePosition>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<Cow<'a, [String]>>,
    extensions: ErrorExtensions<'a>,
}

/// An error's `extensions`.
enum ErrorExtensions<'a> {
    /// `code` (the resolver's, else the default), the resolver's other extensions, `requestId`.
    Coded { code: Code<'a>, other: Option<&'a Object<DefaultScalarValue>>, request_id: &'a str },
    /// Extensions that are not an object are passed on untouched (none of ours are).
    Verbatim(&'a Data),
}

enum Code<'a> {
    Given(&'a Data),
    Default(&'static str),
}

impl Code<'_> {
    /// The code as counted in the metrics (a code that is not a string counts as INTERNAL).
    fn name(&self) -> &str {
        match self {
            Code::Given(juniper::Value::Scalar(DefaultScalarValue::String(s))) => s,
            Code::Given(_) => "INTERNAL",
            Code::Default(c) => c,
        }
    }
}

impl Serialize for ErrorExtensions<'_> {
    fn serialize<S: Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        let (code, other, request_id) = match self {
            ErrorExtensions::Verbatim(v) => return v.serialize(ser),
            ErrorExtensions::Coded { code, other, request_id } => (code, other, request_id),
        };
        let mut map = ser.serialize_map(None)?;
        match code {
            Code::Given(v) => map.serialize_entry("code", v)?,
            Code::Default(c) => map.serialize_entry("code", c)?,
        }
        for (k, v) in other.iter().flat_map(|o| o.iter()) {
            if k != "code" && k != "requestId" {
                map.serialize_entry(k, v)?;
            }
        }
        map.serialize_entry("requestId", request_id)?;
        map.end()
    }
}

impl<'a> Answer<'a> {
    /// The answer to an executed request. Errors before execution (syntax, validation, variable
    /// coercion) are the client's (BAD_USER_INPUT); a field error without a code is INTERNAL.
    /// The `extensions` are added when the request was measured (it parsed).
    pub(super) fn of(executed: &'a Executed, cost: Option<u64>, request_id: &'a str) -> Self {
        let (data, errors) = match executed {
            Ok((data, errors)) => {
                (Some(data), (!errors.is_empty()).then(|| errors.iter().map(|e| field_error(e, request_id)).collect()))
            }
            Err(e) => (None, Some(request_errors(e, request_id))),
        };
        Answer { data, errors, extensions: cost.map(|cost| Extensions { cost, request_id }) }
    }

    /// The answer to a write refused before it ran, for the root field `field`.
    pub(super) fn refused(field: &str, code: &'static str, message: String, request_id: &'a str) -> Self {
        static NULL: Data = juniper::Value::Null;
        let error = AnswerError {
            message: Cow::Owned(message),
            locations: None,
            path: Some(Cow::Owned(vec![field.to_owned()])),
            extensions: ErrorExtensions::Coded { code: Code::Default(code), other: None, request_id },
        };
        Answer { data: Some(&NULL), errors: Some(vec![error]), extensions: None }
    }

    /// Whether the operation ran (else the answer is a request error).
    pub(super) fn executed(&self) -> bool {
        self.data.is_some()
    }

    /// The codes of the answer's errors.
    pub(super) fn codes(&self) -> Vec<String> {
        let errors = self.errors.iter().flatten();
        errors
            .filter_map(|e| match &e.extensions {
                ErrorExtensions::Coded { code, .. } => Some(code.name().to_owned()),
                ErrorExtensions::Verbatim(_) => None,
            })
            .collect()
    }

    /// The answer as JSON, or `None` when it would be longer than `max` bytes (it is never
    /// serialised whole then).
    pub(super) fn to_json(&self, max: usize) -> Option<Vec<u8>> {
        let mut out = Capped { buf: Vec::new(), max };
        serde_json::to_writer(&mut out, self).ok()?;
        Some(out.buf)
    }
}

/// A message as sent: a scalar's coercion error says what format it expects.
fn explained(message: &str) -> Cow<'_, str> {
    crate::graphql::explain_scalar_error(message).map_or(Cow::Borrowed(message), Cow::Owned)
}

fn field_error<'a>(e: &'a ExecutionError<DefaultScalarValue>, request_id: &'a str) -> AnswerError<'a> {
    let ext = e.error().extensions();
    let extensions = match ext {
        juniper::Value::Null => ErrorExtensions::Coded { code: Code::Default("INTERNAL"), other: None, request_id },
        juniper::Value::Object(o) => ErrorExtensions::Coded {
            code: o.get_field_value("code").map_or(Code::Default("INTERNAL"), Code::Given),
            other: Some(o),
            request_id,
        },
        other => ErrorExtensions::Verbatim(other),
    };
    AnswerError {
        message: explained(e.error().message()),
        locations: Some(vec![*e.location()]),
        path: Some(Cow::Borrowed(e.path())),
        extensions,
    }
}

/// The errors of a request that did not run, with the messages and locations juniper gives them.
fn request_errors<'a>(e: &'a GraphQLError, request_id: &'a str) -> Vec<AnswerError<'a>> {
    let error = |message: Cow<'a, str>, locations: Option<Vec<SourcePosition>>| AnswerError {
        message: match message {
            Cow::Borrowed(m) => explained(m),
            Cow::Owned(m) => explained(&m).into_owned().into(),
        },
        locations,
        path: None,
        extensions: ErrorExtensions::Coded { code: Code::Default("BAD_USER_INPUT"), other: None, request_id },
    };
    let fixed = |message: &'static str| vec![error(Cow::Borrowed(message), None)];
    match e {
        GraphQLError::ParseError(p) => vec![error(Cow::Owned(p.item.to_string()), Some(vec![p.start()]))],
        GraphQLError::ValidationError(errors) => {
            errors.iter().map(|r| error(Cow::Borrowed(r.message()), Some(r.locations().to_vec()))).collect()
        }
        GraphQLError::NoOperationProvided => fixed("Must provide an operation"),
        GraphQLError::MultipleOperationsProvided => {
            fixed("Must provide operation name if query contains multiple operations")
        }
        GraphQLError::UnknownOperationName => fixed("Unknown operation"),
        GraphQLError::IsSubscription => fixed("Expected query, got subscription"),
        GraphQLError::NotSubscription => fixed("Expected subscription, got query"),
        GraphQLError::NotSupported(OperationType::Query) => fixed("Schema is not configured for queries"),
        GraphQLError::NotSupported(OperationType::Mutation) => fixed("Schema is not configured for mutations"),
        GraphQLError::NotSupported(OperationType::Subscription) => fixed("Schema is not configured for subscriptions"),
    }
}

/// The answer to a query stopped by a limit (before or while it ran).
/// Its `code` is LIMIT_EXCEEDED, or BAD_USER_INPUT for text no database stores.
pub(super) fn limit_body(code: &str, limit: &str, max: u64, message: &str, request_id: &str) -> Value {
    json!({ "errors": [{ "message": message, "extensions": {
        "code": code, "limit": limit, "max": max, "requestId": request_id } }] })
}

/// A buffer that refuses to grow past `max` bytes, so an answer is never serialised whole when it
/// is too large to send.
struct Capped {
    buf: Vec<u8>,
    max: usize,
}

impl std::io::Write for Capped {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        if self.buf.len() + b.len() > self.max {
            return Err(std::io::Error::other("response too large"));
        }
        self.buf.extend_from_slice(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use juniper::parser::{SourcePosition, Spanning};
    use juniper::{FieldError, GraphQLError, OperationType, ParseError, RuleError, graphql_value};
    use serde_json::{Value, json};

    use super::{Answer, Executed};

    fn answer(executed: &Executed, cost: Option<u64>) -> (Value, Vec<String>, bool) {
        let a = Answer::of(executed, cost, "rid");
        let body = a.to_json(usize::MAX).unwrap();
        (serde_json::from_slice(&body).unwrap(), a.codes(), a.executed())
    }

    /// Request errors keep juniper's own messages and locations, and get BAD_USER_INPUT.
    #[test]
    fn request_errors_as_juniper_words_them() {
        let at = SourcePosition::new(4, 1, 2);
        let errors = vec![
            GraphQLError::ParseError(Spanning::start_end(&at, &at, ParseError::UnexpectedEndOfFile)),
            GraphQLError::ValidationError(vec![RuleError::new("bad field", &[at]), RuleError::new("no place", &[])]),
            GraphQLError::NoOperationProvided,
            GraphQLError::MultipleOperationsProvided,
            GraphQLError::UnknownOperationName,
            GraphQLError::IsSubscription,
            GraphQLError::NotSubscription,
            GraphQLError::NotSupported(OperationType::Query),
            GraphQLError::NotSupported(OperationType::Mutation),
            GraphQLError::NotSupported(OperationType::Subscription),
        ];
        for e in errors {
            let juniper = serde_json::to_value(
                juniper::http::GraphQLResponse::<juniper::DefaultScalarValue>::from_result(Err(e.clone())),
            )
            .unwrap();
            let (ours, codes, executed) = answer(&Err(e), None);
            assert!(!executed && ours.get("data").is_none() && ours.get("extensions").is_none(), "{ours}");
            let (ours, theirs) = (ours["errors"].as_array().unwrap(), juniper["errors"].as_array().unwrap());
            assert_eq!(ours.len(), theirs.len());
            assert_eq!(codes, vec!["BAD_USER_INPUT"; ours.len()]);
            for (o, t) in ours.iter().zip(theirs) {
                let mut o = o.clone();
                assert_eq!(o["extensions"], json!({ "code": "BAD_USER_INPUT", "requestId": "rid" }));
                o.as_object_mut().unwrap().remove("extensions");
                assert_eq!(&o, t);
            }
        }
    }

    /// Field errors keep their code and other extensions; without a code they are INTERNAL.
    #[test]
    fn field_errors_get_codes_and_the_request_id() {
        let at = SourcePosition::new(0, 0, 0);
        let coded = FieldError::new("no such project", graphql_value!({ "code": "NOT_FOUND", "field": "slug" }));
        let plain = FieldError::new("boom", juniper::Value::Null);
        let data = graphql_value!({ "b": 1, "a": null });
        let executed: Executed = Ok((
            data,
            vec![juniper::ExecutionError::new(at, &["a"], coded), juniper::ExecutionError::new(at, &["b", "c"], plain)],
        ));
        let (v, codes, ran) = answer(&executed, Some(7));
        assert!(ran);
        assert_eq!(codes, ["NOT_FOUND", "INTERNAL"]);
        assert_eq!(
            v,
            json!({
                "data": { "b": 1, "a": null },
                "errors": [
                    { "message": "no such project", "locations": [{ "line": 1, "column": 1 }], "path": ["a"],
                      "extensions": { "code": "NOT_FOUND", "field": "slug", "requestId": "rid" } },
                    { "message": "boom", "locations": [{ "line": 1, "column": 1 }], "path": ["b", "c"],
                      "extensions": { "code": "INTERNAL", "requestId": "rid" } },
                ],
                "extensions": { "cost": 7, "requestId": "rid" },
            })
        );
    }

    /// An answer without errors is juniper's data, in the query's order, then our extensions.
    #[test]
    fn data_is_written_once_in_order() {
        let executed: Executed = Ok((graphql_value!({ "z": "x\"errors\":", "a": [1.5, true] }), vec![]));
        let a = Answer::of(&executed, Some(3), "rid");
        let body = String::from_utf8(a.to_json(usize::MAX).unwrap()).unwrap();
        assert_eq!(body, r#"{"data":{"z":"x\"errors\":","a":[1.5,true]},"extensions":{"cost":3,"requestId":"rid"}}"#);
        assert!(a.codes().is_empty());
        assert_eq!(a.to_json(body.len()).as_deref(), Some(body.as_bytes()));
        assert_eq!(a.to_json(body.len() - 1), None);
        let unmeasured = Answer::of(&executed, None, "rid");
        assert_eq!(unmeasured.to_json(usize::MAX).unwrap(), br#"{"data":{"z":"x\"errors\":","a":[1.5,true]}}"#);
    }

    #[test]
    fn a_refused_write() {
        let a = Answer::refused("createProject", "UNAUTHENTICATED", "sign in".into(), "rid");
        assert_eq!(a.codes(), ["UNAUTHENTICATED"]);
        let v: Value = serde_json::from_slice(&a.to_json(usize::MAX).unwrap()).unwrap();
        assert_eq!(
            v,
            json!({ "data": null, "errors": [{ "message": "sign in", "path": ["createProject"],
                "extensions": { "code": "UNAUTHENTICATED", "requestId": "rid" } }] })
        );
    }
}
