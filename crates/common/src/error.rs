//! The error report a client receives.
//!
//! Why the object names are boxed: `PgError` travels in every `Result` of
//! the SQL path, so it stays small; the five names (schema, table, column,
//! datatype, constraint) are rare (integrity violations) and live behind
//! one pointer that is `None` for every other error.

use crate::sqlstate::SqlState;
use std::fmt;

/// Severity of a report, as PostgreSQL names them on the wire (`S` and `V`
/// fields of ErrorResponse / NoticeResponse).
///
/// Deliberately not `Ord`: PostgreSQL has two orders. For the client,
/// LOG sits below INFO; for the server log (`log_min_messages`) LOG ranks
/// between ERROR and FATAL. A derived order would silently pick one of
/// them; [`Severity::log_rank`] and [`Severity::ends_session`] name
/// theirs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Debug,
    Log,
    Info,
    Notice,
    Warning,
    Error,
    Fatal,
    Panic,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Debug => "DEBUG",
            Severity::Log => "LOG",
            Severity::Info => "INFO",
            Severity::Notice => "NOTICE",
            Severity::Warning => "WARNING",
            Severity::Error => "ERROR",
            Severity::Fatal => "FATAL",
            Severity::Panic => "PANIC",
        }
    }

    /// FATAL and PANIC end the process that raises them.
    pub fn ends_session(self) -> bool {
        matches!(self, Severity::Fatal | Severity::Panic)
    }

    /// The server log's order (`log_min_messages`): LOG ranks between
    /// ERROR and FATAL, as in PostgreSQL's `is_log_level_output`.
    pub fn log_rank(self) -> u8 {
        match self {
            Severity::Debug => 0,
            Severity::Info => 1,
            Severity::Notice => 2,
            Severity::Warning => 3,
            Severity::Error => 4,
            Severity::Log => 5,
            Severity::Fatal => 6,
            Severity::Panic => 7,
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The database objects an error is about: ErrorResponse's `s`, `t`,
/// `c`, `d` and `n` fields, which drivers expose (psycopg's
/// `Diagnostics.constraint_name`, JDBC's `ServerErrorMessage`) so that an
/// application can tell which unique constraint a 23505 broke.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ObjectNames {
    pub schema: Option<String>,
    pub table: Option<String>,
    pub column: Option<String>,
    pub datatype: Option<String>,
    pub constraint: Option<String>,
}

/// An error (or notice) as PostgreSQL reports it: severity, SQLSTATE,
/// primary message, optional detail and hint, the cursor position in the
/// query text, and the objects it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PgError {
    pub severity: Severity,
    /// See [`crate::sqlstate`].
    pub code: SqlState,
    pub message: String,
    pub detail: Option<String>,
    pub hint: Option<String>,
    /// 1-based character (not byte) position in the query string
    /// (ErrorResponse's `P`): psql prints `LINE n:` and a caret from it.
    pub position: Option<u32>,
    /// Where the error happened (ErrorResponse's `W`, psql's CONTEXT
    /// line): `COPY t, line 3, column a: "x"`. Boxed: rare, and the
    /// error must stay small (see the test below).
    pub context: Option<Box<String>>,
    /// `None` unless one of the names is set.
    pub objects: Option<Box<ObjectNames>>,
}

impl PgError {
    /// An ERROR with the given SQLSTATE and message.
    pub fn error(code: SqlState, message: impl Into<String>) -> PgError {
        PgError {
            severity: Severity::Error,
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            context: None,
            objects: None,
        }
    }

    /// A FATAL report: the session ends after it is sent.
    pub fn fatal(code: SqlState, message: impl Into<String>) -> PgError {
        PgError {
            severity: Severity::Fatal,
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            context: None,
            objects: None,
        }
    }

    /// A report of any severity (NOTICE, WARNING, ...).
    pub fn new(severity: Severity, code: SqlState, message: impl Into<String>) -> PgError {
        PgError {
            severity,
            code,
            message: message.into(),
            detail: None,
            hint: None,
            position: None,
            context: None,
            objects: None,
        }
    }

    pub fn with_detail(mut self, detail: impl Into<String>) -> PgError {
        self.detail = Some(detail.into());
        self
    }

    pub fn with_context(mut self, context: impl Into<String>) -> PgError {
        self.context = Some(Box::new(context.into()));
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> PgError {
        self.hint = Some(hint.into());
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> PgError {
        self.severity = severity;
        self
    }

    /// Sets the cursor position (1-based, in characters) unless one is
    /// already known: the innermost layer that knows it wins.
    pub fn with_position(mut self, position: Option<u32>) -> PgError {
        if self.position.is_none() {
            self.position = position;
        }
        self
    }

    fn objects_mut(&mut self) -> &mut ObjectNames {
        self.objects.get_or_insert_with(Default::default)
    }

    pub fn with_schema(mut self, name: impl Into<String>) -> PgError {
        self.objects_mut().schema = Some(name.into());
        self
    }

    pub fn with_table(mut self, name: impl Into<String>) -> PgError {
        self.objects_mut().table = Some(name.into());
        self
    }

    pub fn with_column(mut self, name: impl Into<String>) -> PgError {
        self.objects_mut().column = Some(name.into());
        self
    }

    pub fn with_datatype(mut self, name: impl Into<String>) -> PgError {
        self.objects_mut().datatype = Some(name.into());
        self
    }

    pub fn with_constraint(mut self, name: impl Into<String>) -> PgError {
        self.objects_mut().constraint = Some(name.into());
        self
    }
}

impl fmt::Display for PgError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:  {}", self.severity, self.message)?;
        if let Some(d) = &self.detail {
            write!(f, "\nDETAIL:  {d}")?;
        }
        if let Some(h) = &self.hint {
            write!(f, "\nHINT:  {h}")?;
        }
        Ok(())
    }
}

impl std::error::Error for PgError {}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sqlstate;

    #[test]
    fn an_error_stays_small() {
        // It is the error type of every Result on the query path.
        assert!(
            std::mem::size_of::<PgError>() <= 112,
            "{}",
            std::mem::size_of::<PgError>()
        );
    }

    #[test]
    fn the_first_position_wins_and_names_accumulate() {
        let e = PgError::error(sqlstate::SYNTAX_ERROR, "x")
            .with_position(Some(3))
            .with_position(Some(9))
            .with_table("t")
            .with_constraint("t_pkey");
        assert_eq!(e.position, Some(3));
        let o = e.objects.unwrap();
        assert_eq!(o.table.as_deref(), Some("t"));
        assert_eq!(o.constraint.as_deref(), Some("t_pkey"));
        assert_eq!(o.schema, None);
    }

    #[test]
    fn log_ranks_between_error_and_fatal_only_for_the_log() {
        assert!(Severity::Log.log_rank() > Severity::Error.log_rank());
        assert!(Severity::Log.log_rank() < Severity::Fatal.log_rank());
        assert!(Severity::Fatal.ends_session() && Severity::Panic.ends_session());
        assert!(!Severity::Error.ends_session());
    }
}
