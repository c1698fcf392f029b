//! One error type for the whole application, with stable machine codes clients can act on.
//! Internal causes are logged with an incident id and never shown to clients.

use std::fmt;

use crate::domain::{InvalidCode, InvalidId};

/// Stable codes, shared by `userErrors[].code` and `errors[].extensions.code`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorCode {
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

impl ErrorCode {
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorCode::BadUserInput => "BAD_USER_INPUT",
            ErrorCode::NotFound => "NOT_FOUND",
            ErrorCode::Conflict => "CONFLICT",
            ErrorCode::Forbidden => "FORBIDDEN",
            ErrorCode::IllegalTransition => "ILLEGAL_TRANSITION",
            ErrorCode::AlreadyExists => "ALREADY_EXISTS",
            ErrorCode::Unauthenticated => "UNAUTHENTICATED",
            ErrorCode::Internal => "INTERNAL",
            ErrorCode::BadRequest => "BAD_REQUEST",
            ErrorCode::LimitExceeded => "LIMIT_EXCEEDED",
            ErrorCode::RateLimited => "RATE_LIMITED",
            ErrorCode::Timeout => "TIMEOUT",
            ErrorCode::Unavailable => "UNAVAILABLE",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// An expected outcome a client can act on; `field` names the input field when there is one.
    #[error("{message}")]
    User { code: ErrorCode, field: Option<String>, message: String, current_version: Option<i32> },
    /// Anything else: logged, reported to clients as INTERNAL without detail.
    #[error("internal error: {0}")]
    Internal(String),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn user(code: ErrorCode, field: Option<&str>, message: impl Into<String>) -> Self {
        AppError::User { code, field: field.map(str::to_owned), message: message.into(), current_version: None }
    }
    pub fn bad_input(field: &str, message: impl Into<String>) -> Self {
        Self::user(ErrorCode::BadUserInput, Some(field), message)
    }
    pub fn not_found(field: &str, message: impl Into<String>) -> Self {
        Self::user(ErrorCode::NotFound, Some(field), message)
    }
    pub fn already_exists(field: &str, message: impl Into<String>) -> Self {
        Self::user(ErrorCode::AlreadyExists, Some(field), message)
    }
    pub fn illegal_transition(field: &str, message: impl Into<String>) -> Self {
        Self::user(ErrorCode::IllegalTransition, Some(field), message)
    }
    pub fn conflict(current_version: i32) -> Self {
        AppError::User {
            code: ErrorCode::Conflict,
            field: Some("expectedVersion".into()),
            message: format!(
                "the record was changed by someone else; its current version is {current_version}: reload it and retry"
            ),
            current_version: Some(current_version),
        }
    }
    pub fn invalid_id(field: &str, e: InvalidId) -> Self {
        Self::bad_input(field, format!("{field}: {e}"))
    }
    pub fn invalid_code(field: &str, e: InvalidCode) -> Self {
        Self::bad_input(field, format!("{field}: {e}"))
    }
    pub fn code(&self) -> ErrorCode {
        match self {
            AppError::User { code, .. } => *code,
            AppError::Internal(_) => ErrorCode::Internal,
        }
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(e: diesel::result::Error) -> Self {
        match &e {
            // PostgreSQL's statement_timeout cancelled the statement (SQLSTATE 57014).
            diesel::result::Error::DatabaseError(_, info) if info.message().contains("statement timeout") => {
                AppError::user(
                    ErrorCode::Timeout,
                    None,
                    "a database statement ran longer than the request timeout; ask for less or retry later",
                )
            }
            _ => AppError::Internal(format!("database: {e}")),
        }
    }
}

impl From<diesel::r2d2::PoolError> for AppError {
    fn from(e: diesel::r2d2::PoolError) -> Self {
        AppError::Internal(format!("connection pool: {e}"))
    }
}

/// Logs an internal error under a fresh incident id and returns the id, which is all a client sees.
pub fn log_internal(detail: &dyn fmt::Display) -> String {
    let mut bytes = [0u8; 8];
    let incident = match getrandom::fill(&mut bytes) {
        Ok(()) => bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
        Err(_) => format!(
            "{:x}",
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_nanos()
        ),
    };
    tracing::error!(incident = incident.as_str(), "incident: {detail}");
    crate::store::suspect_connections();
    incident
}
