//! The one error type of the service. Domain code says *what* went wrong (a kind and a stable
//! code); `http::problem` decides how that looks on the wire (RFC 9457 problem+json).
use std::fmt;

use sea_orm::DbErr;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ErrorKind {
    /// Missing or invalid credentials.
    Unauthenticated,
    /// Authenticated, but the role does not allow this.
    Forbidden,
    /// Does not exist, or belongs to another company (never distinguished).
    NotFound,
    /// The request conflicts with the current state (duplicates, in-flight requests).
    Conflict,
    /// The input is well-formed JSON but a field is invalid.
    Validation,
    UnsupportedMediaType,
    PayloadTooLarge,
    TooManyRequests,
    /// A dependency (database, Redis, a platform) is unavailable.
    Unavailable,
    Internal,
}

/// One invalid field: `field` is the JSON path (`name`, `members[0].email`) or the parameter.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

pub struct Error {
    pub kind: ErrorKind,
    /// Stable, machine-readable (`lead_not_found`, `validation_failed`, …).
    pub code: &'static str,
    /// For people; never contains secrets or internal error text.
    pub detail: String,
    pub errors: Vec<FieldError>,
    /// Seconds a client should wait (429 and 503).
    pub retry_after: Option<u64>,
    /// The underlying cause of an internal error, logged once, never sent.
    pub source: Option<anyhow::Error>,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub fn new(kind: ErrorKind, code: &'static str, detail: impl Into<String>) -> Self {
        Self {
            kind,
            code,
            detail: detail.into(),
            errors: Vec::new(),
            retry_after: None,
            source: None,
        }
    }

    pub fn not_found(what: &str) -> Self {
        let code = match what {
            "lead" => "lead_not_found",
            "member" => "member_not_found",
            "api key" => "api_key_not_found",
            _ => "not_found",
        };
        Self::new(ErrorKind::NotFound, code, format!("No such {what}."))
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unauthenticated, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Forbidden, "forbidden", detail)
    }

    pub fn conflict(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Conflict, code, detail)
    }

    /// A single invalid field.
    pub fn invalid(field: impl Into<String>, message: impl Into<String>) -> Self {
        let (field, message) = (field.into(), message.into());
        let mut err = Self::new(
            ErrorKind::Validation,
            "validation_failed",
            format!("{field}: {message}"),
        );
        err.errors.push(FieldError { field, message });
        err
    }

    pub fn internal(source: impl Into<anyhow::Error>) -> Self {
        let mut err = Self::new(
            ErrorKind::Internal,
            "internal_error",
            "An internal error occurred.",
        );
        err.source = Some(source.into());
        err
    }

    pub fn unavailable(code: &'static str, detail: impl Into<String>) -> Self {
        Self::new(ErrorKind::Unavailable, code, detail)
    }

    /// The cause, logged with a 5xx answer and never sent to the client.
    pub fn with_source(mut self, source: impl Into<anyhow::Error>) -> Self {
        self.source = Some(source.into());
        self
    }

    /// The same error with a more specific stable code (`github_ref_not_found` for a field
    /// that names an issue GitHub does not have).
    pub fn with_code(mut self, code: &'static str) -> Self {
        self.code = code;
        self
    }

    pub fn with_retry_after(mut self, seconds: u64) -> Self {
        self.retry_after = Some(seconds);
        self
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("kind", &self.kind)
            .field("code", &self.code)
            .field("detail", &self.detail)
            .field("source", &self.source)
            .finish()
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.code, self.detail)
    }
}

impl std::error::Error for Error {}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        if is_unavailable(&err) {
            return Self::unavailable(
                "database_unavailable",
                "The database is not reachable right now; try again shortly.",
            )
            .with_retry_after(5)
            .with_source(err);
        }
        Self::internal(err)
    }
}

/// Whether the database could not be reached (no connection in time, connection refused or
/// lost), as opposed to a statement that failed: an outage is a 503, not a 500.
fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::{RuntimeErr, sqlx::Error as Sqlx};
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                e.as_ref(),
                Sqlx::Io(_) | Sqlx::PoolTimedOut | Sqlx::PoolClosed | Sqlx::WorkerCrashed
            )
        }
        _ => false,
    }
}

impl From<crate::state::StateError> for Error {
    /// The state store holds what authentication and live events need; when it cannot answer,
    /// requests fail closed with a 503 (never a 500, never a pass).
    fn from(err: crate::state::StateError) -> Self {
        Self::unavailable(
            "state_store_unavailable",
            "The state store (Redis) is not reachable right now; try again shortly.",
        )
        .with_retry_after(5)
        .with_source(anyhow::anyhow!(err.to_string()))
    }
}

impl From<anyhow::Error> for Error {
    fn from(err: anyhow::Error) -> Self {
        Self::internal(err)
    }
}

/// Whether a database error is a unique-constraint violation (the caller knows which one: the
/// mapping happens where the insert is written, not by guessing from message text later).
pub fn is_unique_violation(err: &DbErr) -> bool {
    matches!(
        err.sql_err(),
        Some(sea_orm::SqlErr::UniqueConstraintViolation(_))
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreachable_database_is_a_503_and_a_failed_statement_a_500() {
        let timeout: Error = DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout).into();
        assert_eq!(
            (timeout.kind, timeout.code, timeout.retry_after),
            (ErrorKind::Unavailable, "database_unavailable", Some(5))
        );
        let refused: Error = DbErr::Conn(sea_orm::RuntimeErr::Internal("refused".into())).into();
        assert_eq!(refused.code, "database_unavailable");
        let bug: Error = DbErr::Custom("a statement failed".into()).into();
        assert_eq!(
            (bug.kind, bug.code),
            (ErrorKind::Internal, "internal_error")
        );
    }
}
