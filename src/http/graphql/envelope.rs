//! The HTTP envelope of a GraphQL request: its content type, the media type of the answer
//! (GraphQL over HTTP), the body (bounded by `MAX_BODY`) and the request object in it.

use actix_web::http::{StatusCode, header};
use actix_web::{HttpRequest, HttpResponse, web};
use juniper::http::GraphQLRequest;
use serde_json::Value;

use super::Refused;
use crate::http::{MAX_BODY, fail};

/// The media type of a GraphQL response, from the request's `Accept`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Media {
    /// `application/graphql-response+json`: request errors are 4xx.
    GraphqlResponse,
    /// `application/json`: every GraphQL result is 200 (the legacy behaviour clients expect).
    Json,
}

impl Media {
    pub(super) fn content_type(self) -> &'static str {
        match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json",
        }
    }

    /// The status of an answer that is a request error (nothing ran, or a limit stopped it):
    /// 400 under graphql-response+json; under application/json every GraphQL result is 200.
    pub(super) fn request_error_status(self) -> StatusCode {
        if self == Media::GraphqlResponse { StatusCode::BAD_REQUEST } else { StatusCode::OK }
    }
}

/// Picks the response type: `application/graphql-response+json` when the client accepts it,
/// else `application/json` (also for `*/*`, `application/*` and no `Accept` at all); `None` when the
/// client accepts neither.
pub(super) fn negotiate(req: &HttpRequest) -> Option<Media> {
    let Some(accept) = req.headers().get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    let mut json = false;
    for part in accept.split(',') {
        let mut params = part.split(';');
        let media = params.next().unwrap_or("").trim().to_ascii_lowercase();
        let refused = params.any(|p| {
            let p = p.trim().replace(' ', "");
            p == "q=0" || p == "q=0.0" || p == "q=0.00" || p == "q=0.000"
        });
        if refused {
            continue;
        }
        match media.as_str() {
            "application/graphql-response+json" => return Some(Media::GraphqlResponse),
            "application/json" | "*/*" | "application/*" => json = true,
            _ => {}
        }
    }
    json.then_some(Media::Json)
}

pub(super) fn not_acceptable(req: &HttpRequest) -> HttpResponse {
    fail(req, StatusCode::NOT_ACCEPTABLE, "BAD_REQUEST", "accept application/graphql-response+json or application/json")
}

/// 415 unless the body is sent as `application/json`.
pub(super) fn unsupported_content(req: &HttpRequest) -> Option<HttpResponse> {
    let json_content = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .is_some_and(|ct| ct == "application/json");
    (!json_content).then(|| {
        fail(
            req,
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "BAD_REQUEST",
            "send the request as Content-Type: application/json",
        )
    })
}

/// Reads the body up to `MAX_BODY`; beyond it answers 413 in the GraphQL error shape.
pub(super) async fn read_body(req: &HttpRequest, mut payload: web::Payload) -> Result<web::BytesMut, HttpResponse> {
    use futures_util::StreamExt;
    let mut body = web::BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk
            .map_err(|_| fail(req, StatusCode::BAD_REQUEST, "BAD_REQUEST", "the request body could not be read"))?;
        if body.len() + chunk.len() > MAX_BODY {
            return Err(fail(
                req,
                StatusCode::PAYLOAD_TOO_LARGE,
                "BAD_REQUEST",
                &format!("the request body exceeds {MAX_BODY} bytes"),
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The parts of a request the limits look at.
pub(super) struct RawRequest {
    pub(super) query: String,
    pub(super) operation_name: Option<String>,
    pub(super) variables: serde_json::Map<String, Value>,
}

/// Checks the body is one GraphQL request object and turns it into juniper's request.
pub(super) fn parse_request(req: &HttpRequest, body: &[u8]) -> Result<(GraphQLRequest, RawRequest), Refused> {
    let bad = |m: &str| Box::new(fail(req, StatusCode::BAD_REQUEST, "BAD_REQUEST", m));
    let v: Value = serde_json::from_slice(body).map_err(|e| bad(&format!("the body is not valid JSON: {e}")))?;
    let Value::Object(obj) = &v else {
        return Err(bad(if v.is_array() {
            "batched requests are not supported: send one request object per POST"
        } else {
            "the body must be a JSON object with a \"query\" string"
        }));
    };
    match obj.get("query") {
        Some(Value::String(_)) => {}
        _ => return Err(bad("\"query\" must be a string holding a GraphQL document")),
    }
    if !matches!(obj.get("operationName"), None | Some(Value::Null) | Some(Value::String(_))) {
        return Err(bad("\"operationName\" must be a string or null"));
    }
    if !matches!(obj.get("variables"), None | Some(Value::Null) | Some(Value::Object(_))) {
        return Err(bad("\"variables\" must be a JSON object or null"));
    }
    if !matches!(obj.get("extensions"), None | Some(Value::Null) | Some(Value::Object(_))) {
        return Err(bad("\"extensions\" must be a JSON object or null"));
    }
    if let Some(k) = obj.keys().find(|k| !matches!(k.as_str(), "query" | "operationName" | "variables" | "extensions"))
    {
        return Err(bad(&format!(
            "unknown request member {k:?}; allowed: query, operationName, variables, extensions"
        )));
    }
    if contains_nul(&v) {
        return Err(bad("text must not contain NUL characters (\\u0000)"));
    }
    let raw = RawRequest {
        query: obj.get("query").and_then(Value::as_str).unwrap_or_default().to_owned(),
        operation_name: obj.get("operationName").and_then(Value::as_str).map(str::to_owned),
        variables: obj.get("variables").and_then(Value::as_object).cloned().unwrap_or_default(),
    };
    let mut v = v;
    if let Value::Object(o) = &mut v {
        // juniper does not read extensions; they are accepted and ignored.
        o.remove("extensions");
    }
    let request = serde_json::from_value(v).map_err(|e| bad(&format!("malformed request: {e}")))?;
    Ok((request, raw))
}

/// Whether any string (or key) in the request holds a NUL character, which no database stores.
fn contains_nul(v: &Value) -> bool {
    match v {
        Value::String(s) => s.contains('\0'),
        Value::Array(a) => a.iter().any(contains_nul),
        Value::Object(o) => o.iter().any(|(k, v)| k.contains('\0') || contains_nul(v)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use actix_web::test::TestRequest;

    use super::{Media, negotiate};

    fn accepting(accept: Option<&str>) -> Option<Media> {
        let mut req = TestRequest::post().uri("/graphql");
        if let Some(a) = accept {
            req = req.insert_header(("accept", a));
        }
        negotiate(&req.to_http_request())
    }

    #[test]
    fn graphql_response_json_is_preferred() {
        let gr = Some(Media::GraphqlResponse);
        assert_eq!(accepting(Some("application/graphql-response+json")), gr);
        assert_eq!(accepting(Some("application/json, application/graphql-response+json")), gr);
        assert_eq!(accepting(Some("application/json;q=0.9, application/graphql-response+json;q=0.1")), gr);
        assert_eq!(accepting(Some("*/*, Application/GraphQL-Response+JSON; charset=utf-8")), gr);
    }

    #[test]
    fn json_and_wildcards_give_application_json() {
        for accept in
            ["application/json", "*/*", "application/*", "text/html, application/json;q=0.5", " application/json "]
        {
            assert_eq!(accepting(Some(accept)), Some(Media::Json), "{accept}");
        }
    }

    #[test]
    fn no_accept_gives_application_json() {
        assert_eq!(accepting(None), Some(Media::Json));
    }

    #[test]
    fn q_zero_refuses_a_type() {
        assert_eq!(accepting(Some("application/graphql-response+json;q=0, application/json")), Some(Media::Json));
        assert_eq!(accepting(Some("application/graphql-response+json; q=0.0")), None);
        assert_eq!(accepting(Some("application/json;q=0.00, */*; q = 0.000")), None);
        assert_eq!(
            accepting(Some("application/json;q=0, application/graphql-response+json")),
            Some(Media::GraphqlResponse)
        );
        // A quality that is not zero accepts.
        assert_eq!(accepting(Some("application/json;q=0.001")), Some(Media::Json));
    }

    #[test]
    fn other_types_are_not_acceptable() {
        assert_eq!(accepting(Some("text/html")), None);
        assert_eq!(accepting(Some("application/xml, text/*")), None);
        assert_eq!(accepting(Some("")), None);
    }
}
