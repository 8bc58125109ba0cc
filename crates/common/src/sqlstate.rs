//! SQLSTATE codes used by tusk, named after PostgreSQL's `errcodes.txt`.
//! Clients pick their exception classes from these, so they must match
//! PostgreSQL exactly.
//!
//! Why a newtype and not `&str`: a code is five characters from `0-9A-Z`
//! and nothing else. [`SqlState::new`] is a `const fn` that checks that,
//! and every code here is a `const`, so a mistyped code (`"4260"`,
//! `"42p01"`) is a compile-time error instead of a wrong answer a client's
//! exception mapping silently misreads. The constants keep their
//! `sqlstate::NAME` spelling, so call sites read as before.

use std::fmt;

/// A five-character SQLSTATE (`C` field of ErrorResponse).
///
/// ```
/// use tusk_common::SqlState;
/// const SYNTAX_ERROR: SqlState = SqlState::new("42601");
/// assert_eq!(SYNTAX_ERROR.as_str(), "42601");
/// ```
///
/// A code of the wrong length does not compile:
///
/// ```compile_fail
/// use tusk_common::SqlState;
/// const TYPO: SqlState = SqlState::new("4260");
/// let _ = TYPO;
/// ```
///
/// Nor does one with a character outside `0-9A-Z`:
///
/// ```compile_fail
/// use tusk_common::SqlState;
/// const TYPO: SqlState = SqlState::new("42p01");
/// let _ = TYPO;
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SqlState([u8; 5]);

impl SqlState {
    /// The code `code`; panics (at compile time when used in a `const`)
    /// unless it is exactly five characters from `0-9A-Z`.
    pub const fn new(code: &str) -> SqlState {
        let b = code.as_bytes();
        if b.len() != 5 {
            panic!("a SQLSTATE has exactly five characters");
        }
        let mut i = 0;
        while i < 5 {
            if !(b[i].is_ascii_digit() || b[i].is_ascii_uppercase()) {
                panic!("a SQLSTATE is made of the characters 0-9 and A-Z");
            }
            i += 1;
        }
        SqlState([b[0], b[1], b[2], b[3], b[4]])
    }

    /// The code as it goes on the wire.
    pub fn as_str(&self) -> &str {
        // The constructor admits only ASCII digits and capitals.
        std::str::from_utf8(&self.0).unwrap_or("XX000")
    }

    /// The two-character class (`"42"` for every syntax error or access
    /// rule violation).
    pub fn class(&self) -> &str {
        &self.as_str()[..2]
    }
}

impl fmt::Display for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for SqlState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SqlState({})", self.as_str())
    }
}

impl PartialEq<str> for SqlState {
    fn eq(&self, other: &str) -> bool {
        self.as_str() == other
    }
}

impl PartialEq<&str> for SqlState {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

impl PartialEq<SqlState> for &str {
    fn eq(&self, other: &SqlState) -> bool {
        *self == other.as_str()
    }
}

pub const SUCCESSFUL_COMPLETION: SqlState = SqlState::new("00000");
pub const WARNING: SqlState = SqlState::new("01000");
pub const FEATURE_NOT_SUPPORTED: SqlState = SqlState::new("0A000");
pub const INVALID_TRANSACTION_STATE: SqlState = SqlState::new("25000");
pub const ACTIVE_SQL_TRANSACTION: SqlState = SqlState::new("25001");
pub const NO_ACTIVE_SQL_TRANSACTION: SqlState = SqlState::new("25P01");
pub const IN_FAILED_SQL_TRANSACTION: SqlState = SqlState::new("25P02");
pub const INVALID_AUTHORIZATION_SPECIFICATION: SqlState = SqlState::new("28000");
pub const INVALID_PASSWORD: SqlState = SqlState::new("28P01");
pub const INVALID_CATALOG_NAME: SqlState = SqlState::new("3D000");
/// `S_E_INVALID_SPECIFICATION`: RELEASE / ROLLBACK TO of an unknown savepoint.
pub const INVALID_SAVEPOINT_SPECIFICATION: SqlState = SqlState::new("3B001");
pub const INVALID_SQL_STATEMENT_NAME: SqlState = SqlState::new("26000");
pub const INVALID_CURSOR_STATE: SqlState = SqlState::new("24000");
pub const INVALID_CURSOR_NAME: SqlState = SqlState::new("34000");
pub const DATA_EXCEPTION: SqlState = SqlState::new("22000");
pub const NUMERIC_VALUE_OUT_OF_RANGE: SqlState = SqlState::new("22003");
pub const DIVISION_BY_ZERO: SqlState = SqlState::new("22012");
pub const INVALID_TEXT_REPRESENTATION: SqlState = SqlState::new("22P02");
pub const INVALID_PARAMETER_VALUE: SqlState = SqlState::new("22023");
pub const ARRAY_SUBSCRIPT_ERROR: SqlState = SqlState::new("2202E");
pub const INVALID_REGULAR_EXPRESSION: SqlState = SqlState::new("2201B");
pub const INVALID_BINARY_REPRESENTATION: SqlState = SqlState::new("22P03");
pub const STRING_DATA_RIGHT_TRUNCATION: SqlState = SqlState::new("22001");
pub const STRING_DATA_LENGTH_MISMATCH: SqlState = SqlState::new("22026");
pub const INVALID_DATETIME_FORMAT: SqlState = SqlState::new("22007");
pub const DATETIME_FIELD_OVERFLOW: SqlState = SqlState::new("22008");
pub const INTERVAL_FIELD_OVERFLOW: SqlState = SqlState::new("22015");
pub const INVALID_TIME_ZONE_DISPLACEMENT_VALUE: SqlState = SqlState::new("22009");
pub const NULL_VALUE_NOT_ALLOWED: SqlState = SqlState::new("22004");
pub const INVALID_NAME: SqlState = SqlState::new("42602");
pub const CHARACTER_NOT_IN_REPERTOIRE: SqlState = SqlState::new("22021");
pub const UNTRANSLATABLE_CHARACTER: SqlState = SqlState::new("22P05");
pub const UNDEFINED_FILE: SqlState = SqlState::new("58P01");
pub const SUBSTRING_ERROR: SqlState = SqlState::new("22011");
pub const INVALID_ESCAPE_CHARACTER: SqlState = SqlState::new("22019");
pub const INVALID_ESCAPE_SEQUENCE: SqlState = SqlState::new("22025");
pub const INVALID_ARGUMENT_FOR_POWER_FUNCTION: SqlState = SqlState::new("2201F");
pub const INVALID_ROW_COUNT_IN_LIMIT_CLAUSE: SqlState = SqlState::new("2201W");
pub const INVALID_ROW_COUNT_IN_RESULT_OFFSET_CLAUSE: SqlState = SqlState::new("2201X");
pub const GROUPING_ERROR: SqlState = SqlState::new("42803");
pub const CARDINALITY_VIOLATION: SqlState = SqlState::new("21000");
pub const AMBIGUOUS_COLUMN: SqlState = SqlState::new("42702");
pub const DUPLICATE_ALIAS: SqlState = SqlState::new("42712");
pub const DUPLICATE_COLUMN: SqlState = SqlState::new("42701");
pub const INVALID_COLUMN_REFERENCE: SqlState = SqlState::new("42P10");
pub const STATEMENT_TOO_COMPLEX: SqlState = SqlState::new("54001");
pub const SYNTAX_ERROR: SqlState = SqlState::new("42601");
pub const INSUFFICIENT_PRIVILEGE: SqlState = SqlState::new("42501");
pub const UNDEFINED_COLUMN: SqlState = SqlState::new("42703");
pub const UNDEFINED_FUNCTION: SqlState = SqlState::new("42883");
pub const UNDEFINED_TABLE: SqlState = SqlState::new("42P01");
pub const UNDEFINED_OBJECT: SqlState = SqlState::new("42704");
pub const UNDEFINED_PARAMETER: SqlState = SqlState::new("42P02");
pub const DUPLICATE_PREPARED_STATEMENT: SqlState = SqlState::new("42P05");
pub const DUPLICATE_CURSOR: SqlState = SqlState::new("42P03");
pub const DATATYPE_MISMATCH: SqlState = SqlState::new("42804");
pub const INVALID_OBJECT_DEFINITION: SqlState = SqlState::new("42P17");
pub const AMBIGUOUS_FUNCTION: SqlState = SqlState::new("42725");
pub const INDETERMINATE_DATATYPE: SqlState = SqlState::new("42P18");
pub const CANNOT_COERCE: SqlState = SqlState::new("42846");
pub const PROTOCOL_VIOLATION: SqlState = SqlState::new("08P01");
pub const CONNECTION_FAILURE: SqlState = SqlState::new("08006");
pub const TOO_MANY_CONNECTIONS: SqlState = SqlState::new("53300");
pub const INSUFFICIENT_RESOURCES: SqlState = SqlState::new("53000");
pub const DISK_FULL: SqlState = SqlState::new("53100");
pub const OUT_OF_MEMORY: SqlState = SqlState::new("53200");
pub const PROGRAM_LIMIT_EXCEEDED: SqlState = SqlState::new("54000");
pub const TOO_MANY_COLUMNS: SqlState = SqlState::new("54011");
pub const OBJECT_NOT_IN_PREREQUISITE_STATE: SqlState = SqlState::new("55000");
pub const CANT_CHANGE_RUNTIME_PARAM: SqlState = SqlState::new("55P02");
pub const QUERY_CANCELED: SqlState = SqlState::new("57014");
pub const ADMIN_SHUTDOWN: SqlState = SqlState::new("57P01");
pub const CRASH_SHUTDOWN: SqlState = SqlState::new("57P02");
pub const CANNOT_CONNECT_NOW: SqlState = SqlState::new("57P03");
pub const LOCK_FILE_EXISTS: SqlState = SqlState::new("F0001");
pub const CONFIG_FILE_ERROR: SqlState = SqlState::new("F0000");
pub const INTERNAL_ERROR: SqlState = SqlState::new("XX000");
pub const DATA_CORRUPTED: SqlState = SqlState::new("XX001");
pub const INDEX_CORRUPTED: SqlState = SqlState::new("XX002");
pub const UNIQUE_VIOLATION: SqlState = SqlState::new("23505");
pub const SYSTEM_ERROR: SqlState = SqlState::new("58000");
pub const IO_ERROR: SqlState = SqlState::new("58030");
pub const DUPLICATE_FILE: SqlState = SqlState::new("58P02");
pub const WRONG_OBJECT_TYPE: SqlState = SqlState::new("42809");
pub const EXTERNAL_ROUTINE_EXCEPTION: SqlState = SqlState::new("38000");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_read_back_and_compare_with_text() {
        assert_eq!(SYNTAX_ERROR.as_str(), "42601");
        assert_eq!(UNDEFINED_TABLE, "42P01");
        assert_eq!("22012", DIVISION_BY_ZERO);
        assert_eq!(UNDEFINED_TABLE.class(), "42");
        assert_eq!(format!("{IN_FAILED_SQL_TRANSACTION}"), "25P02");
        assert_ne!(SYNTAX_ERROR, UNDEFINED_TABLE);
    }

    #[test]
    #[should_panic(expected = "exactly five characters")]
    fn a_short_code_is_refused() {
        // In a `const` this is a compile error; at run time, a panic.
        let code = String::from("4260");
        SqlState::new(&code);
    }

    #[test]
    #[should_panic(expected = "0-9 and A-Z")]
    fn a_lower_case_code_is_refused() {
        let code = String::from("42p01");
        SqlState::new(&code);
    }
}
