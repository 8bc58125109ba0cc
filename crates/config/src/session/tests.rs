//! The session rules: who may SET what, the SQLSTATEs, and what survives
//! COMMIT, ROLLBACK, RELEASE and ROLLBACK TO.

use super::*;

fn session() -> SessionSettings {
    SessionSettings::new(Settings::defaults())
}

fn show(s: &SessionSettings, name: &str) -> String {
    s.show(name).expect("known setting")
}

fn set(s: &mut SessionSettings, name: &str, value: &str) {
    s.set(name, Some(value), false, false)
        .expect("SET accepted");
}

fn set_local(s: &mut SessionSettings, name: &str, value: &str) {
    s.set(name, Some(value), true, false)
        .expect("SET LOCAL accepted");
}

#[test]
fn refusals_carry_postgresql_sqlstates_and_messages() {
    let mut s = session();
    // (name, value, superuser?, SQLSTATE, message, hint/detail substring)
    let cases: &[(&str, &str, bool, &str, &str, &str)] = &[
        (
            "shared_buffers",
            "1GB",
            true,
            "55P02",
            "parameter \"shared_buffers\" cannot be changed without restarting the server",
            "",
        ),
        (
            "port",
            "abc",
            true,
            "55P02",
            "parameter \"port\" cannot be changed without restarting the server",
            "",
        ),
        (
            "fsync",
            "off",
            true,
            "55P02",
            "parameter \"fsync\" cannot be changed now",
            "",
        ),
        (
            "server_version",
            "16",
            true,
            "55P02",
            "parameter \"server_version\" cannot be changed",
            "",
        ),
        (
            "is_superuser",
            "on",
            true,
            "55P02",
            "parameter \"is_superuser\" cannot be changed",
            "",
        ),
        (
            "log_min_messages",
            "debug1",
            false,
            "42501",
            "permission denied to set parameter \"log_min_messages\"",
            "",
        ),
        (
            "no_such_thing",
            "1",
            true,
            "42704",
            "unrecognized configuration parameter \"no_such_thing\"",
            "",
        ),
        (
            "statment_timeout",
            "1",
            true,
            "42704",
            "unrecognized configuration parameter \"statment_timeout\"",
            "Did you mean \"statement_timeout\"?",
        ),
        (
            "bad-ext.x",
            "1",
            true,
            "42602",
            "invalid configuration parameter name \"bad-ext.x\"",
            "two or more simple identifiers",
        ),
        (
            "work_mem",
            "lots",
            false,
            "22023",
            "invalid value for parameter \"work_mem\": \"lots\"",
            "Allowed: an integer from 64 to 2147483647 kB",
        ),
        (
            "work_mem",
            "1XB",
            false,
            "22023",
            "invalid value for parameter \"work_mem\": \"1XB\"",
            "Valid units for this parameter are \"B\", \"kB\", \"MB\", \"GB\", and \"TB\".",
        ),
        (
            "work_mem",
            "32kB",
            false,
            "22023",
            "32 kB is outside the valid range for parameter \"work_mem\" (64 .. 2147483647)",
            "",
        ),
        (
            "statement_timeout",
            "5 parsecs",
            false,
            "22023",
            "invalid value for parameter \"statement_timeout\": \"5 parsecs\"",
            "\"us\", \"ms\", \"s\", \"min\", \"h\", and \"d\"",
        ),
        (
            "extra_float_digits",
            "4",
            false,
            "22023",
            "4 is outside the valid range for parameter \"extra_float_digits\" (-15 .. 3)",
            "",
        ),
        (
            "IntervalStyle",
            "french",
            false,
            "22023",
            "invalid value for parameter \"IntervalStyle\": \"french\"",
            "Available values: postgres, postgres_verbose, sql_standard, iso_8601.",
        ),
        (
            "standard_conforming_strings",
            "perhaps",
            false,
            "22023",
            "parameter \"standard_conforming_strings\" requires a Boolean value",
            "on, off",
        ),
        (
            "client_encoding",
            "LATIN1",
            false,
            "22023",
            "invalid value for parameter \"client_encoding\": \"LATIN1\"",
            "only the UTF8",
        ),
        (
            "DateStyle",
            "ISO, Klingon",
            false,
            "22023",
            "invalid value for parameter \"DateStyle\": \"ISO, Klingon\"",
            "Unrecognized key word: \"klingon\".",
        ),
        (
            "TimeZone",
            "Mars/Olympus",
            false,
            "22023",
            "invalid value for parameter \"TimeZone\": \"Mars/Olympus\"",
            "not a time zone name",
        ),
    ];
    for (name, value, su, code, message, extra) in cases {
        let e = s.set(name, Some(value), false, *su).expect_err(name);
        assert_eq!(e.code, *code, "{name} = {value}: {e}");
        assert_eq!(e.message, *message, "{name} = {value}");
        assert_eq!(e.severity, Severity::Error);
        let extras = format!(
            "{} {}",
            e.detail.unwrap_or_default(),
            e.hint.unwrap_or_default()
        );
        assert!(
            extras.contains(extra),
            "{name} = {value}: detail/hint {extras:?} lacks {extra:?}"
        );
    }
    // Nothing was changed by the refusals.
    assert_eq!(
        s.settings(),
        &SessionSettings::new(Settings::defaults()).current
    );
}

#[test]
fn set_show_and_report() {
    let mut s = session();
    assert_eq!(s.set("work_mem", Some("64MB"), false, false), Ok(false));
    assert_eq!(show(&s, "work_mem"), "64MB");
    assert_eq!(s.settings().int("work_mem"), 65536);
    assert_eq!(
        s.set("application_name", Some("psql"), false, false),
        Ok(true),
        "GUC_REPORT"
    );
    assert_eq!(show(&s, "APPLICATION_NAME"), "psql");
    assert_eq!(
        s.set("log_min_messages", Some("DEBUG1"), false, true),
        Ok(false),
        "superuser may"
    );
    assert_eq!(show(&s, "log_min_messages"), "debug1");
    set(&mut s, "client_encoding", "'utf-8'".trim_matches('\''));
    assert_eq!(show(&s, "client_encoding"), "UTF8");
    set(&mut s, "DateStyle", "iso,dmy");
    assert_eq!(show(&s, "datestyle"), "ISO, DMY");
    set(&mut s, "DateStyle", "SQL");
    assert_eq!(
        show(&s, "DateStyle"),
        "SQL, DMY",
        "a lone style keeps the order"
    );
    set(&mut s, "TimeZone", "Etc/UTC");
    assert_eq!(show(&s, "timezone"), "Etc/UTC");
    set(&mut s, "standard_conforming_strings", "of");
    assert_eq!(show(&s, "standard_conforming_strings"), "off");
    set(&mut s, "statement_timeout", "1min");
    assert_eq!(show(&s, "statement_timeout"), "1min");
    assert_eq!(s.settings().int("statement_timeout"), 60_000);
    let e = s.show("nope").expect_err("unknown");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("42704", "unrecognized configuration parameter \"nope\"")
    );
    assert_eq!(
        s.set_config("search_path", "app, public", false, false)
            .as_deref(),
        Ok("app, public")
    );
    assert_eq!(
        s.set_config("work_mem", "2048", false, false).as_deref(),
        Ok("2MB")
    );
    assert_eq!(
        s.current_setting("search_path", false),
        Ok(Some("app, public".into()))
    );
    assert_eq!(s.current_setting("nope", true), Ok(None));
    assert_eq!(
        s.current_setting("nope", false)
            .map_err(|e| e.code.as_str().to_owned()),
        Err("42704".to_owned())
    );
}

#[test]
fn startup_options_become_the_reset_values() {
    let mut s = session();
    s.apply_startup("application_name", "myapp").expect("ok");
    s.apply_startup("DateStyle", "ISO, DMY").expect("ok");
    s.apply_startup("client_encoding", "utf8").expect("ok");
    s.apply_startup("myext.flag", "x").expect("placeholder");
    assert_eq!(
        s.settings().source("application_name"),
        Some(&Source::Client)
    );
    for (name, value) in [
        ("application_name", "other"),
        ("DateStyle", "SQL"),
        ("myext.flag", "y"),
    ] {
        set(&mut s, name, value);
    }
    assert_eq!(show(&s, "DateStyle"), "SQL, DMY");
    let changed = s.reset(Some("application_name"), false).expect("reset");
    assert_eq!(changed, vec!["application_name"]);
    assert_eq!(show(&s, "application_name"), "myapp");
    let changed = s.reset(None, false).expect("reset all");
    assert_eq!(changed, vec!["DateStyle"]);
    assert_eq!(show(&s, "DateStyle"), "ISO, DMY");
    assert_eq!(show(&s, "myext.flag"), "x");
    assert_eq!(show(&s, "client_encoding"), "UTF8");
}

#[test]
fn startup_errors_are_fatal() {
    let mut s = session();
    let cases = [
        (
            "no_such_option",
            "1",
            "42704",
            "unrecognized configuration parameter \"no_such_option\"",
        ),
        (
            "max_connections",
            "5",
            "55P02",
            "parameter \"max_connections\" cannot be changed without restarting the server",
        ),
        (
            "authentication_timeout",
            "5",
            "55P02",
            "parameter \"authentication_timeout\" cannot be changed now",
        ),
        (
            "log_min_messages",
            "debug5",
            "42501",
            "permission denied to set parameter \"log_min_messages\"",
        ),
        (
            "client_encoding",
            "LATIN1",
            "22023",
            "invalid value for parameter \"client_encoding\": \"LATIN1\"",
        ),
    ];
    for (name, value, code, message) in cases {
        let e = s.apply_startup(name, value).expect_err(name);
        assert_eq!(
            (e.severity, e.code.as_str(), e.message.as_str()),
            (Severity::Fatal, code, message)
        );
    }
    s.apply_startup_as("log_min_messages", "debug5", true)
        .expect("a superuser may");
    assert_eq!(show(&s, "log_min_messages"), "debug5");
}

#[test]
fn rollback_undoes_set_and_commit_keeps_it() {
    let mut s = session();
    s.begin_transaction();
    set(&mut s, "work_mem", "1GB");
    set(&mut s, "TimeZone", "GMT");
    assert_eq!(
        show(&s, "work_mem"),
        "1GB",
        "visible inside the transaction"
    );
    assert_eq!(s.abort_transaction(), vec!["TimeZone"]);
    assert_eq!(show(&s, "work_mem"), "4MB");
    assert_eq!(show(&s, "TimeZone"), "UTC");

    s.begin_transaction();
    set(&mut s, "work_mem", "1GB");
    assert_eq!(s.commit_transaction(), Vec::<&str>::new());
    assert_eq!(show(&s, "work_mem"), "1GB");
    assert_eq!(s.nest_level(), 0);
}

#[test]
fn set_local_lasts_until_the_end_of_the_transaction() {
    let mut s = session();
    s.begin_transaction();
    set_local(&mut s, "TimeZone", "GMT");
    assert_eq!(show(&s, "TimeZone"), "GMT");
    assert_eq!(
        s.commit_transaction(),
        vec!["TimeZone"],
        "reported back to UTC"
    );
    assert_eq!(show(&s, "TimeZone"), "UTC");

    // SET then SET LOCAL: the SET's value comes back at commit.
    s.begin_transaction();
    set(&mut s, "work_mem", "8MB");
    set_local(&mut s, "work_mem", "16MB");
    assert_eq!(show(&s, "work_mem"), "16MB");
    s.commit_transaction();
    assert_eq!(show(&s, "work_mem"), "8MB");

    // SET LOCAL then SET: the SET wins.
    s.begin_transaction();
    set_local(&mut s, "work_mem", "16MB");
    set(&mut s, "work_mem", "32MB");
    s.commit_transaction();
    assert_eq!(show(&s, "work_mem"), "32MB");

    // ... and ROLLBACK undoes both.
    s.begin_transaction();
    set(&mut s, "work_mem", "1MB");
    set_local(&mut s, "work_mem", "2MB");
    s.abort_transaction();
    assert_eq!(show(&s, "work_mem"), "32MB");

    // Outside a transaction block SET LOCAL has no lasting effect.
    assert_eq!(s.set("work_mem", Some("64MB"), true, false), Ok(false));
    assert_eq!(show(&s, "work_mem"), "32MB");
    // but its value is still checked.
    assert!(s.set("work_mem", Some("1XB"), true, false).is_err());
    // set_config(..., true) answers with the value it set.
    assert_eq!(
        s.set_config("work_mem", "128MB", true, false).as_deref(),
        Ok("128MB")
    );
}

#[test]
fn savepoints_merge_or_undo() {
    let mut s = session();
    s.begin_transaction();
    set(&mut s, "work_mem", "8MB");
    s.begin_subtransaction();
    set(&mut s, "work_mem", "16MB");
    s.abort_subtransaction();
    assert_eq!(
        show(&s, "work_mem"),
        "8MB",
        "ROLLBACK TO undoes the subtransaction's SET"
    );

    s.begin_subtransaction();
    set(&mut s, "work_mem", "16MB");
    set(&mut s, "lock_timeout", "1s");
    s.commit_subtransaction();
    assert_eq!(show(&s, "work_mem"), "16MB");
    s.abort_transaction();
    assert_eq!(
        show(&s, "work_mem"),
        "4MB",
        "the released subtransaction's SET is rolled back with its parent"
    );
    assert_eq!(show(&s, "lock_timeout"), "0");

    // SET in the transaction, SET LOCAL in a released savepoint: the SET
    // value comes back at commit.
    s.begin_transaction();
    set(&mut s, "work_mem", "8MB");
    s.begin_subtransaction();
    set_local(&mut s, "work_mem", "16MB");
    s.commit_subtransaction();
    assert_eq!(show(&s, "work_mem"), "16MB");
    s.commit_transaction();
    assert_eq!(show(&s, "work_mem"), "8MB");

    // A SET in a released savepoint with nothing saved at the parent level
    // survives the commit.
    s.begin_transaction();
    s.begin_subtransaction();
    s.begin_subtransaction();
    set(&mut s, "lock_timeout", "2s");
    s.commit_subtransaction();
    s.commit_subtransaction();
    s.commit_transaction();
    assert_eq!(show(&s, "lock_timeout"), "2s");
}

#[test]
fn reset_is_transactional_and_respects_superuser_settings() {
    let mut s = session();
    set(&mut s, "work_mem", "8MB");
    s.begin_transaction();
    s.reset(Some("work_mem"), false).expect("reset");
    assert_eq!(show(&s, "work_mem"), "4MB");
    s.abort_transaction();
    assert_eq!(show(&s, "work_mem"), "8MB");
    let e = s
        .reset(Some("log_min_messages"), false)
        .expect_err("not superuser");
    assert_eq!(e.code, "42501");
    let e = s.reset(Some("port"), true).expect_err("postmaster");
    assert_eq!(e.code, "55P02");
    assert_eq!(
        s.reset(Some("nope"), true)
            .map_err(|e| e.code.as_str().to_owned()),
        Err("42704".to_owned())
    );
    // SET x TO DEFAULT is RESET x.
    s.set("work_mem", None, false, false).expect("default");
    assert_eq!(show(&s, "work_mem"), "4MB");
}

#[test]
fn placeholders_behave_like_postgresql() {
    let mut s = session();
    assert_eq!(s.current_setting("myapp.user_id", true), Ok(None));
    s.begin_transaction();
    assert_eq!(
        s.set_config("myapp.user_id", "42", true, false).as_deref(),
        Ok("42")
    );
    assert_eq!(
        s.current_setting("myapp.user_id", false),
        Ok(Some("42".into()))
    );
    s.commit_transaction();
    // Defined now, and empty after the transaction-local value is gone.
    assert_eq!(
        s.current_setting("myapp.user_id", false),
        Ok(Some(String::new()))
    );
    set(&mut s, "MyApp.User_Id", "7");
    assert_eq!(show(&s, "myapp.user_id"), "7");
}

#[test]
fn transaction_scoped_settings_follow_their_defaults() {
    let mut s = session();
    assert_eq!(show(&s, "transaction_isolation"), "read committed");
    set(&mut s, "default_transaction_isolation", "serializable");
    assert_eq!(show(&s, "transaction_isolation"), "serializable");
    s.begin_transaction();
    set(&mut s, "transaction_isolation", "repeatable read");
    set(&mut s, "transaction_read_only", "on");
    assert_eq!(show(&s, "transaction_isolation"), "repeatable read");
    s.commit_transaction();
    assert_eq!(show(&s, "transaction_isolation"), "serializable");
    assert_eq!(show(&s, "transaction_read_only"), "off");
    // RESET ALL leaves them alone but resets their defaults.
    s.reset(None, false).expect("reset all");
    assert_eq!(show(&s, "default_transaction_isolation"), "read committed");
    assert_eq!(show(&s, "transaction_isolation"), "read committed");
}

#[test]
fn connection_start_report_and_show_all() {
    let mut s = session();
    s.set_session_user("alice", false);
    let reported = s.reported();
    let names: Vec<&str> = reported.iter().map(|(n, _)| *n).collect();
    assert_eq!(
        names,
        [
            "application_name",
            "client_encoding",
            "DateStyle",
            "default_transaction_read_only",
            "in_hot_standby",
            "integer_datetimes",
            "IntervalStyle",
            "is_superuser",
            "server_encoding",
            "server_version",
            "session_authorization",
            "standard_conforming_strings",
            "TimeZone",
        ]
    );
    let get = |n: &str| {
        reported
            .iter()
            .find(|(k, _)| *k == n)
            .map(|(_, v)| v.as_str())
    };
    assert_eq!(get("session_authorization"), Some("alice"));
    assert_eq!(get("is_superuser"), Some("off"));
    assert_eq!(get("server_encoding"), Some("UTF8"));
    assert_eq!(get("integer_datetimes"), Some("on"));
    let version = get("server_version").unwrap_or_default();
    assert!(
        version.starts_with("15.0 (tusk "),
        "{version}: clients parse the leading 15.x"
    );

    let all = s.show_all();
    let names: Vec<&str> = all.iter().map(|r| r.0.as_str()).collect();
    let mut sorted = names.clone();
    sorted.sort_by_key(|n| n.to_ascii_lowercase());
    assert_eq!(names, sorted);
    assert!(!names.contains(&"is_superuser") && !names.contains(&"session_authorization"));
    let sb = all
        .iter()
        .find(|r| r.0 == "shared_buffers")
        .expect("listed");
    assert_eq!(sb.1, "128MB");
    assert_eq!(
        sb.2,
        "Sets the number of shared memory buffers used by the server."
    );
}

#[test]
fn reload_updates_what_the_session_did_not_choose() {
    let mut base = Settings::defaults();
    base.set("work_mem", "8MB", Source::CommandLine)
        .expect("valid");
    let mut s = SessionSettings::new(base.clone());
    s.apply_startup("DateStyle", "SQL").expect("ok");
    set(&mut s, "lock_timeout", "5s");

    let mut reread = base.clone();
    reread
        .set("work_mem", "16MB", Source::CommandLine)
        .expect("valid");
    reread
        .set("lock_timeout", "1s", Source::CommandLine)
        .expect("valid");
    reread
        .set("DateStyle", "German", Source::CommandLine)
        .expect("valid");
    reread
        .set("TimeZone", "GMT", Source::CommandLine)
        .expect("valid");
    reread
        .set("max_connections", "7", Source::CommandLine)
        .expect("valid");
    assert_eq!(s.reload(&reread), vec!["TimeZone"]);
    assert_eq!(show(&s, "work_mem"), "16MB");
    assert_eq!(show(&s, "lock_timeout"), "5s", "the session's SET stays");
    s.reset(Some("lock_timeout"), false).expect("reset");
    assert_eq!(
        show(&s, "lock_timeout"),
        "1s",
        "RESET goes to the reloaded value"
    );
    assert_eq!(
        show(&s, "DateStyle"),
        "SQL, MDY",
        "the client's choice stays"
    );
    assert_eq!(
        show(&s, "max_connections"),
        "100",
        "postmaster settings need a restart"
    );
}

#[test]
fn only_superusers_may_change_the_session_authorization() {
    let mut s = session();
    s.set_session_user("alice", false);
    let e = s
        .set("session_authorization", Some("postgres"), false, false)
        .expect_err("not superuser");
    assert_eq!(
        (e.code.as_str(), e.message.as_str()),
        ("42501", "permission denied to set session authorization")
    );
    assert_eq!(
        s.set("session_authorization", Some("alice"), false, false),
        Ok(true),
        "one's own name is fine"
    );
    assert_eq!(
        s.set("session_authorization", Some("bob"), false, true),
        Ok(true)
    );
    assert_eq!(show(&s, "session_authorization"), "bob");
    s.set("session_authorization", None, false, false)
        .expect("DEFAULT");
    assert_eq!(show(&s, "session_authorization"), "alice");
}

#[test]
fn set_local_outside_a_transaction_asks_for_no_report() {
    let mut s = session();
    assert_eq!(s.set("TimeZone", Some("GMT"), true, false), Ok(false));
    assert_eq!(show(&s, "TimeZone"), "UTC");
    s.begin_transaction();
    assert_eq!(s.set("TimeZone", Some("GMT"), true, false), Ok(true));
}
