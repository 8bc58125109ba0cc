//! Role statements: CREATE/ALTER/DROP ROLE|USER|GROUP, GRANT/REVOKE of
//! role membership, SET ROLE and SET SESSION AUTHORIZATION, parsed from
//! the statement's tokens into a [`RoleCommand`] that the host carries
//! out.
//!
//! Why a parser of its own: sqlparser reads `CREATE USER` as Snowflake's
//! statement and `GRANT admins TO alice` as an object privilege, and its
//! role options drop PostgreSQL's spelling of errors; PostgreSQL's role
//! grammar is small and flat (a name, then a list of options), so a token
//! walk over the same tokenizer the rest of the SQL layer uses is both
//! shorter and exact. The host (the server's role store) does every check
//! that needs the catalog or the session.

use sqlparser::dialect::PostgreSqlDialect;
use sqlparser::tokenizer::{Token, Tokenizer};
use tusk_common::sqlstate;
use tusk_common::PgError;

/// One role attribute from CREATE/ALTER ROLE's option list.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleOption {
    Superuser(bool),
    CreateDb(bool),
    CreateRole(bool),
    Inherit(bool),
    Login(bool),
    Replication(bool),
    BypassRls(bool),
    ConnectionLimit(i32),
    /// None: PASSWORD NULL.
    Password(Option<String>),
    /// The VALID UNTIL text, parsed by the host as timestamptz.
    ValidUntil(String),
    /// IN ROLE / IN GROUP: the new role becomes a member of these.
    InRole(Vec<String>),
    /// ROLE / USER: these become members of the new role.
    Role(Vec<String>),
    /// ADMIN: members with the admin option.
    Admin(Vec<String>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoleCommand {
    /// `user` is true for CREATE USER (LOGIN by default).
    Create {
        name: String,
        user: bool,
        options: Vec<RoleOption>,
    },
    Alter {
        name: String,
        options: Vec<RoleOption>,
    },
    Rename {
        name: String,
        new_name: String,
    },
    Drop {
        names: Vec<String>,
        if_exists: bool,
    },
    Grant {
        roles: Vec<String>,
        members: Vec<String>,
        admin: bool,
    },
    /// `admin_only`: REVOKE ADMIN OPTION FOR.
    Revoke {
        roles: Vec<String>,
        members: Vec<String>,
        admin_only: bool,
    },
    /// None: SET ROLE NONE / RESET ROLE.
    SetRole(Option<String>),
    /// None: SET SESSION AUTHORIZATION DEFAULT / RESET.
    SetSessionAuthorization(Option<String>),
    /// RESET ROLE / RESET SESSION AUTHORIZATION: the SET to None, with
    /// PostgreSQL's tag RESET.
    Reset(Box<RoleCommand>),
    /// SET LOCAL ROLE / SET LOCAL SESSION AUTHORIZATION: the SET, undone
    /// when the transaction ends.
    Local(Box<RoleCommand>),
}

impl RoleCommand {
    /// The command tag PostgreSQL sends.
    pub fn tag(&self) -> &'static str {
        match self {
            RoleCommand::Create { .. } => "CREATE ROLE",
            RoleCommand::Alter { .. } | RoleCommand::Rename { .. } => "ALTER ROLE",
            RoleCommand::Drop { .. } => "DROP ROLE",
            RoleCommand::Grant { .. } => "GRANT ROLE",
            RoleCommand::Revoke { .. } => "REVOKE ROLE",
            RoleCommand::SetRole(_)
            | RoleCommand::SetSessionAuthorization(_)
            | RoleCommand::Local(_) => "SET",
            RoleCommand::Reset(_) => "RESET",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum T {
    /// An unquoted word, upper-cased for keywords, with its folded
    /// (lower-case) form for names.
    Word(String, String),
    /// A quoted identifier.
    Ident(String),
    Str(String),
    Num(String),
    Comma,
    Other(String),
}

pub(crate) fn tokens(sql: &str) -> Result<Vec<T>, PgError> {
    let toks = Tokenizer::new(&PostgreSqlDialect {}, sql)
        .tokenize()
        .map_err(|e| PgError::error(sqlstate::SYNTAX_ERROR, e.message))?;
    let mut out = Vec::new();
    for t in toks {
        out.push(match t {
            Token::Whitespace(_) => continue,
            Token::SemiColon => continue,
            Token::Word(w) if w.quote_style.is_some() => T::Ident(w.value),
            Token::Word(w) => T::Word(w.value.to_ascii_uppercase(), w.value.to_lowercase()),
            Token::SingleQuotedString(s) | Token::EscapedStringLiteral(s) => T::Str(s),
            Token::Number(n, _) => T::Num(n),
            Token::Minus => T::Other("-".into()),
            Token::Comma => T::Comma,
            other => T::Other(other.to_string()),
        });
    }
    Ok(out)
}

/// A cursor over [`tokens`]' output (xactstmt.rs reads its statements
/// with it too).
pub(crate) struct P {
    pub(crate) t: Vec<T>,
    pub(crate) i: usize,
}

pub(crate) fn syntax_at(t: Option<&T>) -> PgError {
    let m = match t {
        None => "syntax error at end of input".to_string(),
        Some(T::Word(_, w)) => format!("syntax error at or near \"{w}\""),
        Some(T::Ident(w)) => format!("syntax error at or near \"\"{w}\"\""),
        Some(T::Str(s)) => format!("syntax error at or near \"'{s}'\""),
        Some(T::Num(n)) => format!("syntax error at or near \"{n}\""),
        Some(T::Comma) => "syntax error at or near \",\"".to_string(),
        Some(T::Other(o)) => format!("syntax error at or near \"{o}\""),
    };
    PgError::error(sqlstate::SYNTAX_ERROR, m)
}

impl P {
    pub(crate) fn peek_kw(&self) -> Option<&str> {
        match self.t.get(self.i) {
            Some(T::Word(k, _)) => Some(k),
            _ => None,
        }
    }
    pub(crate) fn kw(&mut self, k: &str) -> bool {
        if self.peek_kw() == Some(k) {
            self.i += 1;
            true
        } else {
            false
        }
    }
    pub(crate) fn expect(&mut self, k: &str) -> Result<(), PgError> {
        if self.kw(k) {
            Ok(())
        } else {
            Err(syntax_at(self.t.get(self.i)))
        }
    }
    fn name(&mut self) -> Result<String, PgError> {
        let n = match self.t.get(self.i) {
            Some(T::Word(_, w)) => w.clone(),
            Some(T::Ident(w)) => w.clone(),
            Some(T::Str(s)) => s.clone(),
            other => return Err(syntax_at(other)),
        };
        self.i += 1;
        Ok(n)
    }
    fn names(&mut self) -> Result<Vec<String>, PgError> {
        let mut v = vec![self.name()?];
        while self.t.get(self.i) == Some(&T::Comma) {
            self.i += 1;
            v.push(self.name()?);
        }
        Ok(v)
    }
    fn end(&self) -> Result<(), PgError> {
        match self.t.get(self.i) {
            None => Ok(()),
            t => Err(syntax_at(t)),
        }
    }
    fn string(&mut self) -> Result<String, PgError> {
        match self.t.get(self.i) {
            Some(T::Str(s)) => {
                let s = s.clone();
                self.i += 1;
                Ok(s)
            }
            t => Err(syntax_at(t)),
        }
    }

    fn options(&mut self) -> Result<Vec<RoleOption>, PgError> {
        self.kw("WITH");
        let mut v = Vec::new();
        while let Some(k) = self.peek_kw().map(str::to_string) {
            self.i += 1;
            let o = match k.as_str() {
                "SUPERUSER" => RoleOption::Superuser(true),
                "NOSUPERUSER" => RoleOption::Superuser(false),
                "CREATEDB" => RoleOption::CreateDb(true),
                "NOCREATEDB" => RoleOption::CreateDb(false),
                "CREATEROLE" => RoleOption::CreateRole(true),
                "NOCREATEROLE" => RoleOption::CreateRole(false),
                "INHERIT" => RoleOption::Inherit(true),
                "NOINHERIT" => RoleOption::Inherit(false),
                "LOGIN" => RoleOption::Login(true),
                "NOLOGIN" => RoleOption::Login(false),
                "REPLICATION" => RoleOption::Replication(true),
                "NOREPLICATION" => RoleOption::Replication(false),
                "BYPASSRLS" => RoleOption::BypassRls(true),
                "NOBYPASSRLS" => RoleOption::BypassRls(false),
                "CONNECTION" => {
                    self.expect("LIMIT")?;
                    let neg = self.t.get(self.i) == Some(&T::Other("-".into()));
                    if neg {
                        self.i += 1;
                    }
                    let n = match self.t.get(self.i) {
                        Some(T::Num(n)) => n.clone(),
                        t => return Err(syntax_at(t)),
                    };
                    self.i += 1;
                    let n: i64 = n.parse().map_err(|_| {
                        PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            format!("invalid connection limit: {n}"),
                        )
                    })?;
                    let n = if neg { -n } else { n };
                    if n < -1 || n > i32::MAX as i64 {
                        return Err(PgError::error(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            format!("invalid connection limit: {n}"),
                        ));
                    }
                    RoleOption::ConnectionLimit(n as i32)
                }
                "ENCRYPTED" | "PASSWORD" => {
                    if k == "ENCRYPTED" {
                        self.expect("PASSWORD")?;
                    }
                    if self.kw("NULL") {
                        RoleOption::Password(None)
                    } else {
                        RoleOption::Password(Some(self.string()?))
                    }
                }
                "UNENCRYPTED" => {
                    return Err(PgError::error(
                        sqlstate::FEATURE_NOT_SUPPORTED,
                        "UNENCRYPTED PASSWORD is no longer supported",
                    )
                    .with_hint(
                        "Remove UNENCRYPTED to store the password in encrypted form instead.",
                    ))
                }
                "VALID" => {
                    self.expect("UNTIL")?;
                    RoleOption::ValidUntil(self.string()?)
                }
                "IN" => {
                    if !self.kw("ROLE") {
                        self.expect("GROUP")?;
                    }
                    RoleOption::InRole(self.names()?)
                }
                "ROLE" | "USER" => RoleOption::Role(self.names()?),
                "ADMIN" => RoleOption::Admin(self.names()?),
                "SYSID" => {
                    // Accepted and ignored, as PostgreSQL does.
                    self.i += 1;
                    continue;
                }
                _ => {
                    self.i -= 1;
                    return Err(syntax_at(self.t.get(self.i)));
                }
            };
            v.push(o);
        }
        self.end()?;
        Ok(v)
    }
}

/// Whether a statement's leading words make it a role statement this
/// module parses (GRANT/REVOKE only without ON: those grant roles).
pub(crate) fn is_role_statement(words: &[&str], sql: &str) -> bool {
    match words {
        // CREATE/ALTER/DROP USER MAPPING is fdw.rs's.
        [_, "USER", "MAPPING", ..] => false,
        ["CREATE" | "ALTER", "ROLE" | "USER" | "GROUP", ..] => true,
        ["DROP", "ROLE" | "USER" | "GROUP", ..] => true,
        ["SET", "ROLE", ..] | ["SET", "SESSION", "ROLE", ..] | ["RESET", "ROLE"] => true,
        ["RESET", "SESSION", "AUTHORIZATION"] => true,
        ["SET", "SESSION", "AUTHORIZATION", ..] | ["SET", "LOCAL", "ROLE", ..] => true,
        ["SET", "LOCAL", "SESSION", ..] => true,
        ["GRANT" | "REVOKE", ..] => match tokens(sql) {
            Ok(t) => !t.iter().any(|t| matches!(t, T::Word(k, _) if k == "ON")),
            Err(_) => false,
        },
        _ => false,
    }
}

/// Parses one role statement (one that [`is_role_statement`] accepted).
pub fn parse(sql: &str) -> Result<RoleCommand, PgError> {
    let mut p = P {
        t: tokens(sql)?,
        i: 0,
    };
    let first = p.peek_kw().unwrap_or("").to_string();
    p.i += 1;
    match first.as_str() {
        "CREATE" => {
            let what = p.peek_kw().unwrap_or("").to_string();
            p.i += 1;
            let name = p.name()?;
            let options = p.options()?;
            Ok(RoleCommand::Create {
                name,
                user: what == "USER",
                options,
            })
        }
        "ALTER" => {
            p.i += 1;
            let name = if p.kw("CURRENT_USER") {
                "current_user".to_string()
            } else if p.kw("SESSION_USER") {
                "session_user".to_string()
            } else {
                p.name()?
            };
            if p.kw("RENAME") {
                p.expect("TO")?;
                let new_name = p.name()?;
                p.end()?;
                return Ok(RoleCommand::Rename { name, new_name });
            }
            if matches!(p.peek_kw(), Some("SET" | "RESET" | "IN")) {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "ALTER ROLE ... SET is not supported by tusk yet",
                ));
            }
            if matches!(p.peek_kw(), Some("ADD" | "DROP")) {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "ALTER GROUP ... ADD/DROP USER is not supported by tusk yet",
                )
                .with_hint("Use GRANT or REVOKE."));
            }
            let options = p.options()?;
            Ok(RoleCommand::Alter { name, options })
        }
        "DROP" => {
            p.i += 1;
            let if_exists = if p.kw("IF") {
                p.expect("EXISTS")?;
                true
            } else {
                false
            };
            let names = p.names()?;
            p.end()?;
            Ok(RoleCommand::Drop { names, if_exists })
        }
        "GRANT" => {
            let roles = p.names()?;
            p.expect("TO")?;
            let members = p.names()?;
            let admin = if p.kw("WITH") {
                p.expect("ADMIN")?;
                p.expect("OPTION")?;
                true
            } else {
                false
            };
            if p.kw("GRANTED") {
                p.expect("BY")?;
                p.name()?;
            }
            p.end()?;
            Ok(RoleCommand::Grant {
                roles,
                members,
                admin,
            })
        }
        "REVOKE" => {
            let admin_only = if p.kw("ADMIN") {
                p.expect("OPTION")?;
                p.expect("FOR")?;
                true
            } else {
                false
            };
            let roles = p.names()?;
            p.expect("FROM")?;
            let members = p.names()?;
            if p.kw("GRANTED") {
                p.expect("BY")?;
                p.name()?;
            }
            p.kw("CASCADE");
            p.kw("RESTRICT");
            p.end()?;
            Ok(RoleCommand::Revoke {
                roles,
                members,
                admin_only,
            })
        }
        "RESET" if p.kw("SESSION") => Ok(RoleCommand::Reset(Box::new(
            RoleCommand::SetSessionAuthorization(None),
        ))),
        "RESET" => Ok(RoleCommand::Reset(Box::new(RoleCommand::SetRole(None)))),
        "SET" => {
            let local = p.kw("LOCAL");
            p.kw("SESSION");
            let set = if p.kw("ROLE") {
                let r = if p.kw("NONE") { None } else { Some(p.name()?) };
                p.end()?;
                RoleCommand::SetRole(r)
            } else {
                p.expect("AUTHORIZATION")?;
                let r = if p.kw("DEFAULT") {
                    None
                } else {
                    Some(p.name()?)
                };
                p.end()?;
                RoleCommand::SetSessionAuthorization(r)
            };
            Ok(if local {
                RoleCommand::Local(Box::new(set))
            } else {
                set
            })
        }
        _ => Err(syntax_at(p.t.first())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_postgres_role_grammar() {
        assert_eq!(
            parse("CREATE ROLE Alice WITH LOGIN PASSWORD 'pw' CONNECTION LIMIT 3 VALID UNTIL '2030-01-01'").unwrap(),
            RoleCommand::Create {
                name: "alice".into(),
                user: false,
                options: vec![
                    RoleOption::Login(true),
                    RoleOption::Password(Some("pw".into())),
                    RoleOption::ConnectionLimit(3),
                    RoleOption::ValidUntil("2030-01-01".into()),
                ]
            }
        );
        assert_eq!(
            parse("create user \"Bob\" nosuperuser createdb in role staff, admins").unwrap(),
            RoleCommand::Create {
                name: "Bob".into(),
                user: true,
                options: vec![
                    RoleOption::Superuser(false),
                    RoleOption::CreateDb(true),
                    RoleOption::InRole(vec!["staff".into(), "admins".into()]),
                ]
            }
        );
        assert_eq!(
            parse("ALTER ROLE bob CONNECTION LIMIT -1 PASSWORD NULL").unwrap(),
            RoleCommand::Alter {
                name: "bob".into(),
                options: vec![RoleOption::ConnectionLimit(-1), RoleOption::Password(None)]
            }
        );
        assert_eq!(
            parse("DROP USER IF EXISTS a, b").unwrap(),
            RoleCommand::Drop {
                names: vec!["a".into(), "b".into()],
                if_exists: true
            }
        );
        assert_eq!(
            parse("GRANT staff TO bob WITH ADMIN OPTION").unwrap(),
            RoleCommand::Grant {
                roles: vec!["staff".into()],
                members: vec!["bob".into()],
                admin: true
            }
        );
        assert_eq!(
            parse("SET SESSION AUTHORIZATION DEFAULT").unwrap(),
            RoleCommand::SetSessionAuthorization(None)
        );
        assert_eq!(parse("SET ROLE none").unwrap(), RoleCommand::SetRole(None));
        assert!(is_role_statement(
            &["GRANT", "STAFF", "TO"],
            "GRANT staff TO bob"
        ));
        assert!(!is_role_statement(
            &["GRANT", "SELECT", "ON"],
            "GRANT SELECT ON t TO bob"
        ));
        let e = parse("CREATE ROLE x LOGIN FOO").unwrap_err();
        assert_eq!(e.code, "42601");
        assert_eq!(e.message, "syntax error at or near \"foo\"");
        assert_eq!(
            parse("CREATE ROLE x CONNECTION LIMIT -2").unwrap_err().code,
            "22023"
        );
    }
}
