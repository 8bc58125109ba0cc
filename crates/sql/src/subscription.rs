//! Logical-replication subscriptions: CREATE/ALTER/DROP SUBSCRIPTION kept in the shared pg_subscription catalog as PostgreSQL keeps them.
//!
//! Why rows and nothing else: tusk has no logical-replication workers,
//! so a subscription can only exist without connecting (`connect =
//! false`) and disabled in effect; what is real is the catalog row that
//! psql's `\dRs+` reads and PostgreSQL's checks of the statement
//! (option parsing and their mutually exclusive combinations, the
//! connection string's syntax, superuser, ownership, publication lists).
//! Statements that would reach the publisher (connect = true, REFRESH,
//! DROP with a slot) fail with PostgreSQL's "could not connect to the
//! publisher". Written with catalog DML like fdw.rs. Called by the
//! backend running the statement.

use tusk_common::{sqlstate, PgError, Severity};

use crate::acl;
use crate::catalog::codes::DUPLICATE_OBJECT;
use crate::fdw::{err, map_user_oid, no_role, not_owner, oid_of, q, text_of, MapUser, P};
use crate::host::Host;
use crate::role::{tokens, T};
use crate::types;
use crate::value::Value;

/// pg_subscription's OID (the classoid of its descriptions).
pub(crate) const PG_SUBSCRIPTION: u32 = 6100;
const TEXT_ARRAY: u32 = 1009;

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SubStmt {
    Create {
        name: String,
        conninfo: String,
        publications: Vec<String>,
        options: Vec<(String, Option<String>)>,
    },
    Connection {
        name: String,
        conninfo: String,
    },
    /// SET/ADD/DROP PUBLICATION names [WITH (...)].
    Publications {
        name: String,
        action: &'static str,
        publications: Vec<String>,
        options: Vec<(String, Option<String>)>,
    },
    Refresh {
        name: String,
    },
    Enable {
        name: String,
        enable: bool,
    },
    SetOptions {
        name: String,
        options: Vec<(String, Option<String>)>,
    },
    Skip {
        name: String,
        options: Vec<(String, Option<String>)>,
    },
    Owner {
        name: String,
        owner: MapUser,
    },
    Rename {
        name: String,
        to: String,
    },
    Drop {
        name: String,
        if_exists: bool,
    },
}

impl SubStmt {
    pub(crate) fn tag(&self) -> &'static str {
        match self {
            SubStmt::Create { .. } => "CREATE SUBSCRIPTION",
            SubStmt::Drop { .. } => "DROP SUBSCRIPTION",
            _ => "ALTER SUBSCRIPTION",
        }
    }
}

pub(crate) fn is_subscription_statement(w: &[&str]) -> bool {
    matches!(w, ["CREATE" | "ALTER" | "DROP", "SUBSCRIPTION", ..])
}

fn names(p: &mut P) -> Result<Vec<String>, PgError> {
    let mut out = vec![p.name()?];
    while matches!(p.peek(), Some(T::Comma)) {
        p.i += 1;
        out.push(p.name()?);
    }
    Ok(out)
}

fn with(p: &mut P) -> Result<Vec<(String, Option<String>)>, PgError> {
    if p.kw("WITH") {
        crate::fdw::option_list(p, true)
    } else {
        Ok(Vec::new())
    }
}

pub(crate) fn parse(sql: &str) -> Result<SubStmt, PgError> {
    let mut t = tokens(sql)?;
    t.retain(|x| !matches!(x, T::Other(o) if o == ";"));
    let mut p = P { t, i: 0 };
    let verb = if p.kw("CREATE") {
        "CREATE"
    } else if p.kw("ALTER") {
        "ALTER"
    } else {
        p.expect("DROP")?;
        "DROP"
    };
    p.expect("SUBSCRIPTION")?;
    let stmt = match verb {
        "CREATE" => {
            let name = p.name()?;
            p.expect("CONNECTION")?;
            let conninfo = p.string()?;
            p.expect("PUBLICATION")?;
            let publications = names(&mut p)?;
            SubStmt::Create {
                name,
                conninfo,
                publications,
                options: with(&mut p)?,
            }
        }
        "DROP" => {
            let if_exists = if p.kw("IF") {
                p.expect("EXISTS")?;
                true
            } else {
                false
            };
            let name = p.name()?;
            if !p.kw("CASCADE") {
                p.kw("RESTRICT");
            }
            SubStmt::Drop { name, if_exists }
        }
        _ => {
            let name = p.name()?;
            if p.kw("CONNECTION") {
                SubStmt::Connection {
                    name,
                    conninfo: p.string()?,
                }
            } else if p.kw("REFRESH") {
                p.expect("PUBLICATION")?;
                with(&mut p)?;
                SubStmt::Refresh { name }
            } else if p.kw("ENABLE") {
                SubStmt::Enable { name, enable: true }
            } else if p.kw("DISABLE") {
                SubStmt::Enable {
                    name,
                    enable: false,
                }
            } else if p.kw("SKIP") {
                SubStmt::Skip {
                    name,
                    options: crate::fdw::option_list(&mut p, true)?,
                }
            } else if p.kw("OWNER") {
                p.expect("TO")?;
                SubStmt::Owner {
                    name,
                    owner: p.map_user()?,
                }
            } else if p.kw("RENAME") {
                p.expect("TO")?;
                SubStmt::Rename {
                    name,
                    to: p.name()?,
                }
            } else {
                let action = if p.kw("ADD") {
                    "ADD"
                } else if p.kw("DROP") {
                    "DROP"
                } else {
                    p.expect("SET")?;
                    "SET"
                };
                if action == "SET" && matches!(p.peek(), Some(T::Other(o)) if o == "(") {
                    SubStmt::SetOptions {
                        name,
                        options: crate::fdw::option_list(&mut p, true)?,
                    }
                } else {
                    p.expect("PUBLICATION")?;
                    let publications = names(&mut p)?;
                    SubStmt::Publications {
                        name,
                        action,
                        publications,
                        options: with(&mut p)?,
                    }
                }
            }
        }
    };
    p.end()?;
    Ok(stmt)
}

/// libpq's connection option keywords (conninfo_parse accepts no others).
const CONN_KEYWORDS: &[&str] = &[
    "service",
    "user",
    "password",
    "passfile",
    "channel_binding",
    "connect_timeout",
    "dbname",
    "host",
    "hostaddr",
    "port",
    "client_encoding",
    "options",
    "application_name",
    "fallback_application_name",
    "keepalives",
    "keepalives_idle",
    "keepalives_interval",
    "keepalives_count",
    "tcp_user_timeout",
    "sslmode",
    "sslcompression",
    "sslcert",
    "sslkey",
    "sslpassword",
    "sslrootcert",
    "sslcrl",
    "sslcrldir",
    "sslsni",
    "requirepeer",
    "ssl_min_protocol_version",
    "ssl_max_protocol_version",
    "gssencmode",
    "krbsrvname",
    "gsslib",
    "target_session_attrs",
    "replication",
];

/// The `keyword=value` pairs of a connection string, with libpq's
/// syntax errors (walrcv_check_conninfo). URIs are accepted as they are.
fn check_conninfo(s: &str) -> Result<Vec<(String, String)>, PgError> {
    let syntax = |m: String| {
        err(
            sqlstate::SYNTAX_ERROR,
            format!("invalid connection string syntax: {m}\n"),
        )
    };
    if s.starts_with("postgresql://") || s.starts_with("postgres://") {
        return Ok(Vec::new());
    }
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            break;
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            return Err(syntax(format!(
                "missing \"=\" after \"{key}\" in connection info string"
            )));
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    None => {
                        return Err(syntax(
                            "unterminated quoted string in connection info string".to_string(),
                        ))
                    }
                    Some('\\') => {
                        if let Some(c) = chars.next() {
                            value.push(c);
                        }
                    }
                    Some('\'') => break,
                    Some(c) => value.push(c),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                if c == '\\' {
                    chars.next();
                    if let Some(c) = chars.next() {
                        value.push(c);
                    }
                    continue;
                }
                value.push(c);
                chars.next();
            }
        }
        if !CONN_KEYWORDS.contains(&key.as_str()) {
            return Err(syntax(format!("invalid connection option \"{key}\"")));
        }
        out.push((key, value));
    }
    Ok(out)
}

/// What connecting to the publisher gives: tusk has no walreceiver, so
/// every attempt fails; a bad port fails as libpq fails before connecting.
fn connect_error(conn: &[(String, String)]) -> PgError {
    let why = match conn.iter().rev().find(|(k, _)| k == "port") {
        Some((_, p)) if p.parse::<u32>().map_or(true, |n| n == 0 || n > 65535) => {
            format!("invalid port number: \"{p}\"")
        }
        _ => "logical replication is not supported by this server".to_string(),
    };
    err(
        sqlstate::SqlState::new("08006"),
        format!("could not connect to the publisher: {why}"),
    )
}

/// The options of a statement, parsed as PostgreSQL's
/// parse_subscription_options for the options `allowed`.
#[derive(Default, Debug)]
struct Opts {
    connect: Option<bool>,
    enabled: Option<bool>,
    create_slot: Option<bool>,
    /// Some(None): NONE.
    slot_name: Option<Option<String>>,
    copy_data: Option<bool>,
    synchronous_commit: Option<String>,
    refresh: Option<bool>,
    binary: Option<bool>,
    streaming: Option<bool>,
    two_phase: Option<bool>,
    disable_on_error: Option<bool>,
    lsn: Option<Option<u64>>,
}

fn boolean(name: &str, v: &Option<String>) -> Result<bool, PgError> {
    match v.as_deref().map(str::to_ascii_lowercase).as_deref() {
        None | Some("true" | "on" | "1" | "t" | "yes" | "y") => Ok(true),
        Some("false" | "off" | "0" | "f" | "no" | "n") => Ok(false),
        _ => Err(err(
            sqlstate::SYNTAX_ERROR,
            format!("{name} requires a Boolean value"),
        )),
    }
}

fn parse_opts(options: &[(String, Option<String>)], allowed: &[&str]) -> Result<Opts, PgError> {
    let mut o = Opts::default();
    let dup = || {
        err(
            sqlstate::SYNTAX_ERROR,
            "conflicting or redundant options".to_string(),
        )
    };
    for (name, value) in options {
        if !allowed.contains(&name.as_str()) {
            return Err(err(
                sqlstate::SYNTAX_ERROR,
                format!("unrecognized subscription parameter: \"{name}\""),
            ));
        }
        let is_none = value.as_deref() == Some("\u{0}NONE");
        macro_rules! set_bool {
            ($f:ident) => {{
                if o.$f.is_some() {
                    return Err(dup());
                }
                o.$f = Some(boolean(name, value)?);
            }};
        }
        match name.as_str() {
            "connect" => set_bool!(connect),
            "enabled" => set_bool!(enabled),
            "create_slot" => set_bool!(create_slot),
            "copy_data" => set_bool!(copy_data),
            "refresh" => set_bool!(refresh),
            "binary" => set_bool!(binary),
            "streaming" => set_bool!(streaming),
            "two_phase" => set_bool!(two_phase),
            "disable_on_error" => set_bool!(disable_on_error),
            "slot_name" => {
                if o.slot_name.is_some() {
                    return Err(dup());
                }
                if is_none {
                    o.slot_name = Some(None);
                } else {
                    let s = value.clone().unwrap_or_default();
                    if s.is_empty() {
                        return Err(err(
                            sqlstate::INVALID_NAME,
                            "replication slot name \"\" is too short".to_string(),
                        ));
                    }
                    if let Some(bad) = s
                        .chars()
                        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_'))
                    {
                        let _ = bad;
                        return Err(err(
                            sqlstate::INVALID_NAME,
                            format!("replication slot name \"{s}\" contains invalid character"),
                        )
                        .with_hint("Replication slot names may only contain lower case letters, numbers, and the underscore character."));
                    }
                    o.slot_name = Some(Some(s));
                }
            }
            "synchronous_commit" => {
                if o.synchronous_commit.is_some() {
                    return Err(dup());
                }
                let v = value.clone().unwrap_or_default();
                let ok = [
                    "local",
                    "remote_write",
                    "remote_apply",
                    "on",
                    "off",
                    "true",
                    "false",
                    "yes",
                    "no",
                    "1",
                    "0",
                ];
                if !ok.contains(&v.to_ascii_lowercase().as_str()) {
                    return Err(err(
                        sqlstate::INVALID_PARAMETER_VALUE,
                        format!("invalid value for parameter \"synchronous_commit\": \"{v}\""),
                    )
                    .with_hint("Available values: local, remote_write, remote_apply, on, off."));
                }
                o.synchronous_commit = Some(v);
            }
            "lsn" => {
                if o.lsn.is_some() {
                    return Err(dup());
                }
                if is_none {
                    o.lsn = Some(None);
                } else {
                    let v = value.clone().unwrap_or_default();
                    let lsn = tusk_types::lsn::parse(&v).ok_or_else(|| {
                        err(
                            sqlstate::INVALID_TEXT_REPRESENTATION,
                            format!("invalid input syntax for type pg_lsn: \"{v}\""),
                        )
                    })?;
                    if lsn == 0 {
                        return Err(err(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            format!("invalid WAL location (LSN): {v}"),
                        ));
                    }
                    o.lsn = Some(Some(lsn));
                }
            }
            _ => {}
        }
    }
    Ok(o)
}

struct Sub {
    oid: u32,
    owner: u32,
    enabled: bool,
    slot: Option<String>,
    publications: Vec<String>,
}

fn subscription(host: &mut dyn Host, name: &str) -> Result<Option<Sub>, PgError> {
    let rows = q(
        host,
        "SELECT oid, subowner, subenabled, subslotname::text, subpublications \
         FROM pg_catalog.pg_subscription WHERE subname = $1 AND subdbid = \
         (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database())",
        &[types::TEXT],
        vec![Value::Text(name.to_string())],
    )?;
    Ok(rows.first().map(|r| Sub {
        oid: oid_of(r.first()),
        owner: oid_of(r.get(1)),
        enabled: matches!(r.get(2), Some(Value::Bool(true))),
        slot: text_of(r.get(3)),
        publications: match r.get(4) {
            Some(Value::Array(a)) => a.items.iter().filter_map(crate::value::to_text).collect(),
            _ => Vec::new(),
        },
    }))
}

fn no_subscription(name: &str) -> PgError {
    err(
        sqlstate::UNDEFINED_OBJECT,
        format!("subscription \"{name}\" does not exist"),
    )
}

fn text_array(items: &[String]) -> Value {
    Value::Array(Box::new(tusk_types::array::Array::from_items(
        types::TEXT,
        items.iter().map(|s| Value::Text(s.clone())).collect(),
    )))
}

fn check_unique(pubs: &[String]) -> Result<(), PgError> {
    for (i, p) in pubs.iter().enumerate() {
        if pubs[..i].contains(p) {
            return Err(err(
                DUPLICATE_OBJECT,
                format!("publication name \"{p}\" used more than once"),
            ));
        }
    }
    Ok(())
}

fn set(host: &mut dyn Host, oid: u32, col: &str, ty: u32, v: Value) -> Result<(), PgError> {
    q(
        host,
        &format!("UPDATE pg_catalog.pg_subscription SET {col} = $2 WHERE oid = $1"),
        &[types::OID, ty],
        vec![Value::Oid(oid), v],
    )?;
    Ok(())
}

/// PreventInTransactionBlock for what would reach the publisher.
fn in_block(host: &dyn Host, what: &str) -> Result<(), PgError> {
    if host.in_transaction_block() {
        return Err(err(
            sqlstate::SqlState::new("25001"),
            format!("{what} cannot run inside a transaction block"),
        ));
    }
    Ok(())
}

pub(crate) fn run(stmt: &SubStmt, host: &mut dyn Host) -> Result<(), PgError> {
    let roles = host.acl_roles()?;
    let me = acl::current_user_oid(host)?;
    let su = roles.by_oid(me).is_some_and(|r| r.superuser);
    // The subscription an ALTER names, with the owner check.
    let owned = |host: &mut dyn Host, name: &str| -> Result<Sub, PgError> {
        let s = subscription(host, name)?.ok_or_else(|| no_subscription(name))?;
        if !su && !roles.has_privs_of(me, s.owner) {
            return Err(not_owner("subscription", name));
        }
        Ok(s)
    };
    match stmt {
        SubStmt::Create {
            name,
            conninfo,
            publications,
            options,
        } => {
            let o = parse_opts(
                options,
                &[
                    "connect",
                    "enabled",
                    "create_slot",
                    "slot_name",
                    "copy_data",
                    "synchronous_commit",
                    "binary",
                    "streaming",
                    "two_phase",
                    "disable_on_error",
                ],
            )?;
            let exclusive = |a: &str, b: &str| {
                err(
                    sqlstate::SYNTAX_ERROR,
                    format!("{a} and {b} are mutually exclusive options"),
                )
            };
            let connect = o.connect.unwrap_or(true);
            let mut enabled = o.enabled.unwrap_or(true);
            let mut create_slot = o.create_slot.unwrap_or(true);
            if !connect {
                if o.enabled == Some(true) {
                    return Err(exclusive("connect = false", "enabled = true"));
                }
                if o.create_slot == Some(true) {
                    return Err(exclusive("connect = false", "create_slot = true"));
                }
                if o.copy_data == Some(true) {
                    return Err(exclusive("connect = false", "copy_data = true"));
                }
                enabled = false;
                create_slot = false;
            }
            if o.slot_name == Some(None) {
                if o.enabled == Some(true) {
                    return Err(exclusive("slot_name = NONE", "enabled = true"));
                }
                if o.create_slot == Some(true) {
                    return Err(exclusive("slot_name = NONE", "create_slot = true"));
                }
                if enabled {
                    return Err(err(
                        sqlstate::SYNTAX_ERROR,
                        "subscription with slot_name = NONE must also set enabled = false"
                            .to_string(),
                    ));
                }
                if create_slot {
                    return Err(err(
                        sqlstate::SYNTAX_ERROR,
                        "subscription with slot_name = NONE must also set create_slot = false"
                            .to_string(),
                    ));
                }
            }
            if create_slot && host.in_transaction_block() {
                return Err(err(
                    sqlstate::SqlState::new("25001"),
                    "CREATE SUBSCRIPTION ... WITH (create_slot = true) cannot run inside a transaction block"
                        .to_string(),
                ));
            }
            if !su {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    "must be superuser to create subscriptions".to_string(),
                ));
            }
            if subscription(host, name)?.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("subscription \"{name}\" already exists"),
                ));
            }
            let conn = check_conninfo(conninfo)?;
            check_unique(publications)?;
            if connect {
                return Err(connect_error(&conn));
            }
            let slot = match &o.slot_name {
                Some(s) => s.clone(),
                None => Some(name.clone()),
            };
            let oid = host.tables()?.new_catalog_oid()?;
            let two_phase = if o.two_phase == Some(true) {
                b'p'
            } else {
                b'd'
            };
            q(
                host,
                "INSERT INTO pg_catalog.pg_subscription VALUES ($1, \
                 (SELECT oid FROM pg_catalog.pg_database WHERE datname = current_database()), \
                 '0/0', $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)",
                &[
                    types::OID,
                    types::TEXT,
                    types::OID,
                    types::BOOL,
                    types::BOOL,
                    types::BOOL,
                    types::CHAR,
                    types::BOOL,
                    types::TEXT,
                    types::TEXT,
                    types::TEXT,
                    TEXT_ARRAY,
                ],
                vec![
                    Value::Oid(oid),
                    Value::Text(name.clone()),
                    Value::Oid(me),
                    Value::Bool(enabled),
                    Value::Bool(o.binary.unwrap_or(false)),
                    Value::Bool(o.streaming.unwrap_or(false)),
                    Value::Char(two_phase),
                    Value::Bool(o.disable_on_error.unwrap_or(false)),
                    Value::Text(conninfo.clone()),
                    slot.map(Value::Text).unwrap_or(Value::Null),
                    Value::Text(o.synchronous_commit.unwrap_or_else(|| "off".into())),
                    text_array(publications),
                ],
            )?;
            host.notice(PgError::new(
                Severity::Warning,
                sqlstate::WARNING,
                "tables were not subscribed, you will have to run ALTER SUBSCRIPTION ... REFRESH PUBLICATION to subscribe the tables",
            ));
        }
        SubStmt::Connection { name, conninfo } => {
            let s = owned(host, name)?;
            check_conninfo(conninfo)?;
            set(
                host,
                s.oid,
                "subconninfo",
                types::TEXT,
                Value::Text(conninfo.clone()),
            )?;
        }
        SubStmt::Publications {
            name,
            action,
            publications,
            options,
        } => {
            let s = owned(host, name)?;
            let o = parse_opts(options, &["refresh", "copy_data"])?;
            check_unique(publications)?;
            let mut list = s.publications.clone();
            match *action {
                "SET" => list = publications.clone(),
                "ADD" => {
                    for p in publications {
                        if list.contains(p) {
                            return Err(err(
                                DUPLICATE_OBJECT,
                                format!(
                                    "publication \"{p}\" is already in subscription \"{name}\""
                                ),
                            ));
                        }
                        list.push(p.clone());
                    }
                }
                _ => {
                    for p in publications {
                        let Some(i) = list.iter().position(|x| x == p) else {
                            return Err(err(
                                sqlstate::UNDEFINED_OBJECT,
                                format!("publication \"{p}\" is not in subscription \"{name}\""),
                            ));
                        };
                        list.remove(i);
                    }
                    if list.is_empty() {
                        return Err(err(
                            sqlstate::INVALID_PARAMETER_VALUE,
                            "cannot drop all the publications from a subscription".to_string(),
                        ));
                    }
                }
            }
            if o.refresh.unwrap_or(true) {
                if !s.enabled {
                    return Err(err(
                        sqlstate::SYNTAX_ERROR,
                        "ALTER SUBSCRIPTION with refresh is not allowed for disabled subscriptions"
                            .to_string(),
                    )
                    .with_hint(format!(
                        "Use ALTER SUBSCRIPTION ... {action} PUBLICATION ... WITH (refresh = false)."
                    )));
                }
                in_block(host, "ALTER SUBSCRIPTION with refresh")?;
                return Err(connect_error(&[]));
            }
            set(
                host,
                s.oid,
                "subpublications",
                TEXT_ARRAY,
                text_array(&list),
            )?;
        }
        SubStmt::Refresh { name } => {
            let s = owned(host, name)?;
            if !s.enabled {
                return Err(err(
                    sqlstate::SYNTAX_ERROR,
                    "ALTER SUBSCRIPTION ... REFRESH is not allowed for disabled subscriptions"
                        .to_string(),
                ));
            }
            in_block(host, "ALTER SUBSCRIPTION ... REFRESH")?;
            return Err(connect_error(&[]));
        }
        SubStmt::Enable { name, enable } => {
            let s = owned(host, name)?;
            if *enable && s.slot.is_none() {
                return Err(err(
                    sqlstate::SYNTAX_ERROR,
                    "cannot enable subscription that does not have a slot name".to_string(),
                ));
            }
            set(host, s.oid, "subenabled", types::BOOL, Value::Bool(*enable))?;
        }
        SubStmt::SetOptions { name, options } => {
            let s = owned(host, name)?;
            let o = parse_opts(
                options,
                &[
                    "slot_name",
                    "synchronous_commit",
                    "binary",
                    "streaming",
                    "disable_on_error",
                ],
            )?;
            if let Some(slot) = &o.slot_name {
                if slot.is_none() && s.enabled {
                    return Err(err(
                        sqlstate::SYNTAX_ERROR,
                        "cannot set slot_name = NONE for enabled subscription".to_string(),
                    ));
                }
                set(
                    host,
                    s.oid,
                    "subslotname",
                    types::TEXT,
                    slot.clone().map(Value::Text).unwrap_or(Value::Null),
                )?;
            }
            if let Some(v) = o.synchronous_commit {
                set(host, s.oid, "subsynccommit", types::TEXT, Value::Text(v))?;
            }
            if let Some(v) = o.binary {
                set(host, s.oid, "subbinary", types::BOOL, Value::Bool(v))?;
            }
            if let Some(v) = o.streaming {
                set(host, s.oid, "substream", types::BOOL, Value::Bool(v))?;
            }
            if let Some(v) = o.disable_on_error {
                set(host, s.oid, "subdisableonerr", types::BOOL, Value::Bool(v))?;
            }
        }
        SubStmt::Skip { name, options } => {
            let s = owned(host, name)?;
            let o = parse_opts(options, &["lsn"])?;
            if let Some(lsn) = o.lsn {
                set(
                    host,
                    s.oid,
                    "subskiplsn",
                    types::PG_LSN,
                    Value::Lsn(lsn.unwrap_or(0)),
                )?;
            }
        }
        SubStmt::Owner { name, owner } => {
            let s = owned(host, name)?;
            let new = match map_user_oid(host, &roles, owner)? {
                Ok(0) => return Err(no_role("public")),
                Ok(o) => o,
                Err(n) => return Err(no_role(&n)),
            };
            if !su && !roles.is_member_of(me, new) {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("must be member of role \"{}\"", roles.name_of(new)),
                ));
            }
            if !roles.by_oid(new).is_some_and(|r| r.superuser) {
                return Err(err(
                    sqlstate::INSUFFICIENT_PRIVILEGE,
                    format!("permission denied to change owner of subscription \"{name}\""),
                )
                .with_hint("The owner of a subscription must be a superuser."));
            }
            set(host, s.oid, "subowner", types::OID, Value::Oid(new))?;
        }
        SubStmt::Rename { name, to } => {
            let s = owned(host, name)?;
            if subscription(host, to)?.is_some() {
                return Err(err(
                    DUPLICATE_OBJECT,
                    format!("subscription \"{to}\" already exists"),
                ));
            }
            set(host, s.oid, "subname", types::TEXT, Value::Text(to.clone()))?;
        }
        SubStmt::Drop { name, if_exists } => {
            let Some(s) = subscription(host, name)? else {
                if *if_exists {
                    host.notice(PgError::new(
                        Severity::Notice,
                        sqlstate::SUCCESSFUL_COMPLETION,
                        format!("subscription \"{name}\" does not exist, skipping"),
                    ));
                    return Ok(());
                }
                return Err(no_subscription(name));
            };
            if !su && !roles.has_privs_of(me, s.owner) {
                return Err(not_owner("subscription", name));
            }
            if s.slot.is_some() {
                // Dropping the slot needs the publisher.
                in_block(host, "DROP SUBSCRIPTION")?;
                return Err(connect_error(&[]));
            }
            q(
                host,
                "DELETE FROM pg_catalog.pg_subscription WHERE oid = $1",
                &[types::OID],
                vec![Value::Oid(s.oid)],
            )?;
            q(
                host,
                "DELETE FROM pg_catalog.pg_description WHERE objoid = $1 AND classoid = $2",
                &[types::OID, types::OID],
                vec![Value::Oid(s.oid), Value::Oid(PG_SUBSCRIPTION)],
            )?;
        }
    }
    Ok(())
}

/// The subscription called `name` (COMMENT ON SUBSCRIPTION).
pub(crate) fn object_oid(host: &mut dyn Host, name: &str) -> Result<u32, PgError> {
    Ok(subscription(host, name)?
        .ok_or_else(|| no_subscription(name))?
        .oid)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_strings_are_checked_as_libpq_checks_them() {
        assert_eq!(
            check_conninfo("dbname=x port = '5432'").unwrap(),
            vec![
                ("dbname".to_string(), "x".to_string()),
                ("port".into(), "5432".into())
            ]
        );
        let e = check_conninfo("testconn").unwrap_err();
        assert_eq!(
            e.message,
            "invalid connection string syntax: missing \"=\" after \"testconn\" in connection info string\n"
        );
        let e = check_conninfo("i_dont_exist=param").unwrap_err();
        assert!(e
            .message
            .contains("invalid connection option \"i_dont_exist\""));
    }

    #[test]
    fn options_refuse_unknown_names_and_bad_values() {
        let e = parse_opts(&[("origin".into(), Some("any".into()))], &["connect"]).unwrap_err();
        assert_eq!(e.message, "unrecognized subscription parameter: \"origin\"");
        let e = parse_opts(&[("streaming".into(), Some("x".into()))], &["streaming"]).unwrap_err();
        assert_eq!(e.message, "streaming requires a Boolean value");
        assert!(parse("CREATE SUBSCRIPTION s CONNECTION 'foo'").is_err());
    }
}
