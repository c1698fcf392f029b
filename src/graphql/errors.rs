//! How errors reach clients: expected outcomes as `userErrors` in mutation payloads, request-level
//! failures as GraphQL `errors` with a stable `extensions.code`. Internal detail is never shown.

use juniper::{FieldError, GraphQLObject, graphql_value};

use crate::error::{AppError, ErrorCode, log_internal};

/// Stable codes, shared by `userErrors[].code` and `errors[].extensions.code` (the GraphQL form
/// of [`ErrorCode`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, juniper::GraphQLEnum)]
#[graphql(
    name = "ErrorCode",
    description = "Stable codes, shared by `userErrors[].code` and `errors[].extensions.code`."
)]
pub enum Code {
    BadUserInput,
    NotFound,
    Conflict,
    Forbidden,
    IllegalTransition,
    AlreadyExists,
    Unauthenticated,
    Internal,
    /// The HTTP request itself is malformed (not JSON, a batch, a wrong media type, …).
    BadRequest,
    /// A query limit (depth, aliases, fields, tokens, list items, page size, cost, introspection);
    /// `extensions.limit` names it and `extensions.max` gives its bound.
    LimitExceeded,
    /// Too many requests from this address or token (HTTP 429 with `Retry-After`).
    RateLimited,
    /// The request did not finish within the request timeout (HTTP 503).
    Timeout,
    /// The database is not reachable (HTTP 503 with `Retry-After`); retry later.
    Unavailable,
}

impl From<ErrorCode> for Code {
    fn from(c: ErrorCode) -> Self {
        match c {
            ErrorCode::BadUserInput => Code::BadUserInput,
            ErrorCode::NotFound => Code::NotFound,
            ErrorCode::Conflict => Code::Conflict,
            ErrorCode::Forbidden => Code::Forbidden,
            ErrorCode::IllegalTransition => Code::IllegalTransition,
            ErrorCode::AlreadyExists => Code::AlreadyExists,
            ErrorCode::Unauthenticated => Code::Unauthenticated,
            ErrorCode::Internal => Code::Internal,
            ErrorCode::BadRequest => Code::BadRequest,
            ErrorCode::LimitExceeded => Code::LimitExceeded,
            ErrorCode::RateLimited => Code::RateLimited,
            ErrorCode::Timeout => Code::Timeout,
            ErrorCode::Unavailable => Code::Unavailable,
        }
    }
}

/// An expected outcome of a mutation that the client can act on.
#[derive(Debug, Clone, GraphQLObject)]
pub struct UserError {
    /// Stable machine code.
    pub code: Code,
    /// The input field the error is about, when there is one (e.g. "slug", "expectedVersion").
    pub field: Option<String>,
    /// What is wrong and what is allowed.
    pub message: String,
    /// With CONFLICT: the record's current version.
    pub current_version: Option<i32>,
}

/// A request-level error with `extensions.code`.
pub fn field_error(e: AppError) -> FieldError {
    match e {
        AppError::User { code, field, message, .. } => {
            let ext = match field {
                Some(f) => graphql_value!({ "code": (code.as_str()), "field": (f) }),
                None => graphql_value!({ "code": (code.as_str()) }),
            };
            FieldError::new(message, ext)
        }
        AppError::Internal(detail) => internal_error(&detail),
    }
}

pub fn internal_error(detail: &dyn std::fmt::Display) -> FieldError {
    let incident = log_internal(detail);
    FieldError::new(
        format!("internal error; the incident is logged as {incident}"),
        graphql_value!({ "code": "INTERNAL", "incident": (incident) }),
    )
}

/// Splits a service result into (result, userErrors), or a request-level error for internal ones.
pub fn payload<T>(r: Result<T, AppError>) -> Result<(Option<T>, Vec<UserError>), FieldError> {
    match r {
        Ok(v) => Ok((Some(v), vec![])),
        Err(e @ AppError::User { code: ErrorCode::Unauthenticated, .. }) => Err(field_error(e)),
        Err(AppError::User { code, field, message, current_version }) => {
            Ok((None, vec![UserError { code: code.into(), field, message, current_version }]))
        }
        Err(e @ AppError::Internal(_)) => Err(field_error(e)),
    }
}
