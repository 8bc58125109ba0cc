//! End-to-end tests of the server foundation: the real `tusk` binary,
//! started on a fresh cluster per test, driven by real clients (the Rust
//! `postgres` crate, PostgreSQL 15's `psql` and `pg_isready`, and a raw
//! protocol client for what drivers hide or refuse to send).
//!
//! Why one test binary with modules (as ripgrep does): one link instead
//! of one per file, and one shared harness (`util`). Run with
//! `cargo test -p tusk --test e2e -- --test-threads 4`.
//!
//! Modules, one per topic:
//! - `plancache`: the simple protocol's plan cache against PostgreSQL 15's
//!   output; statements repeated with other literals across DDL, a rolled-back
//!   ALTER, search_path, int4/int8 boundaries and unconvertible strings.
//! - `with_recursion`: where WITH RECURSIVE may refer to itself, against
//!   PostgreSQL 15's errors and positions.
//! - `xact_modes`: transaction modes (DEFERRABLE, SET TRANSACTION, SET
//!   SESSION CHARACTERISTICS), COMMIT/ROLLBACK AND CHAIN, SET LOCAL ROLE
//!   and CREATE RECURSIVE VIEW against PostgreSQL 15's output.
//! - `advisory`: advisory locks against PostgreSQL 15's output; waits in
//!   pg_locks, timeouts, cancel, deadlock DETAIL, release at disconnect
//!   and crash.
//! - `operators`: CREATE/ALTER/DROP OPERATOR, CREATE/DROP CAST, and user-defined
//!   operators and casts in expressions, against PostgreSQL 15's psql output.
//! - `notify`: LISTEN/NOTIFY/UNLISTEN against PostgreSQL 15's psql
//!   output; an idle listener woken, a full queue (54000), queue usage.
//! - `alter`: ALTER TABLE and CHECK constraints against PostgreSQL 15's
//!   output; ALTER's lock, rewrite files and restart.
//! - `datetime`: interval, time, timetz and the date/time operators and
//!   functions against PostgreSQL 15's output; binary I/O; restart.
//! - `domains`: CREATE/ALTER/DROP DOMAIN against PostgreSQL 15's output;
//!   restart, binary I/O and COPY through the postgres crate, other sessions.
//! - `foreign_data`: CREATE/ALTER/DROP FOREIGN DATA WRAPPER, SERVER and
//!   USER MAPPING, GRANT USAGE, pg_user_mappings and psql's \dew+/\des+/
//!   \deu+ against PostgreSQL 15's output.
//! - `text_search_config`: CREATE/ALTER/DROP TEXT SEARCH DICTIONARY,
//!   CONFIGURATION, TEMPLATE and PARSER, the ispell, synonym, thesaurus,
//!   snowball and simple dictionaries through ts_lexize, to_tsvector,
//!   to_tsquery and ts_debug, and psql's \dF/\dFd/\dFp/\dFt against
//!   PostgreSQL 15's output.
//! - `formatting`: to_char / to_number / to_date / to_timestamp templates
//!   against PostgreSQL 15's output and SQLSTATEs.
//! - `generated`: stored generated columns (definition checks, values on
//!   INSERT/UPDATE/upsert/MERGE/COPY, inheritance, ALTER TABLE, BEFORE
//!   triggers) against PostgreSQL 15's output; crash recovery.
//! - `autovacuum`: pg_stat_user_tables counters, autovacuum keeping a table small.
//! - `partial_index`: partial (WHERE) and expression indexes against
//!   PostgreSQL 15's output: definitions, uniqueness among the
//!   predicate's rows, planner use, survival of a crash.
//! - `index_ddl`: REINDEX in every form, CLUSTER / CLUSTER ON, covering
//!   indexes (INCLUDE) against PostgreSQL 15's output; REINDEX
//!   CONCURRENTLY while writers insert.
//! - `catalog_index`: the system catalogs' indexes: lookups by name agree
//!   with catalog scans after DDL in another session, rolled-back DDL,
//!   kill -9, and thousands of tables created and dropped.
//! - `inherit_partition`: INHERITS, FROM ONLY, tableoid, PARTITION BY/OF
//!   with routing, ATTACH/DETACH and \d output against PostgreSQL 15's.
//! - `updatable_views`: INSERT/UPDATE/DELETE (RETURNING, ON CONFLICT)
//!   through auto-updatable views, their errors, WITH CHECK OPTION, ALTER
//!   VIEW options and defaults, information_schema updatability, against
//!   PostgreSQL 15's output.
//! - `semijoin`: EXISTS / NOT EXISTS / IN (SELECT ...) as semi and anti
//!   joins: rows (NULLs included) and EXPLAIN against PostgreSQL 15's.
//! - `aggplan`: EXPLAIN of min/max over an index and of GROUP BY with
//!   sorting aggregates against PostgreSQL 15's output.
//! - `ordered_set`: percentile_cont/percentile_disc/mode and the
//!   hypothetical-set rank family (WITHIN GROUP) against PostgreSQL 15's
//!   output.
//! - `viewdef`: pg_get_viewdef (pretty and plain) against PostgreSQL 15's
//!   output: the view query deparsed as ruleutils prints it.
//! - `window`: window frames (ROWS, RANGE offsets, GROUPS, EXCLUDE) and the
//!   order of rows with equal sort keys against PostgreSQL 15's output.
//! - `with_dml`: data-modifying WITH queries and WITH before DML against
//!   PostgreSQL 15's output.
//! - `util`: the harness (server lifecycle, teardown, IPC checks, raw client).
//! - `privileges`: GRANT/REVOKE ON tables and sequences, 42501 checks
//!   and ownership against PostgreSQL 15's output; logins of other roles;
//!   ACLs across a restart.
//! - `privileges_more`: GRANT/REVOKE ON SCHEMA, FUNCTION, PROCEDURE and
//!   ALL ... IN SCHEMA, their checks, \dp and \dn+, client_min_messages,
//!   against PostgreSQL 15's output.
//! - `psql`: psql over TCP and the Unix socket.
//! - `rules`: CREATE/DROP/ALTER RULE, ENABLE/DISABLE RULE and INSERT/
//!   UPDATE/DELETE rewritten by rules (ALSO, INSTEAD, conditional,
//!   RETURNING, recursion, WITH) against PostgreSQL 15's output.
//! - `rowsecurity`: ENABLE/FORCE ROW LEVEL SECURITY, CREATE/ALTER/DROP POLICY,
//!   what each role sees and may write against PostgreSQL 15's output; restart.
//! - `publication`: CREATE/ALTER/DROP PUBLICATION and SUBSCRIPTION, psql's
//!   \dRp+ and \dRs+ against PostgreSQL 15's output.
//! - `errpos`: error cursor positions (LINE n: and caret) for errors
//!   found after parsing, against PostgreSQL 15's psql output.
//! - `psql_describe`: psql's \d family and the reg* types against a
//!   PostgreSQL 15 the test starts on the same schema, byte for byte.
//! - `auth`: roles and pg_hba.conf methods (password, md5, SCRAM, peer)
//!   against PostgreSQL 15's answers; malformed SASL; init --auth/--pwfile.
//! - `client`: the postgres crate: simple, extended and prepared queries,
//!   errors, aborted transactions, SET rules.
//! - `ranges`: range and multirange types, operators, functions and
//!   aggregates against PostgreSQL 15's output; binary I/O with
//!   PostgreSQL 15's bytes; restart.
//! - `rowtypes`: composite types (CREATE TYPE ... AS (...), tables' row
//!   types, literals, field selection, row comparisons) against
//!   PostgreSQL 15's psql output.
//! - `raw`: the wire protocol byte by byte: ParameterStatus, malformed input.
//! - `regex`: PostgreSQL's ARE (whole-match preference, dissection,
//!   look-around, back-references, options), regexp_* and SIMILAR TO, errors.
//! - `reloptions`: storage parameters (WITH, SET/RESET, toast., column
//!   STATISTICS and n_distinct), their errors, \d+, fillfactor's pages.
//! - `fidelity`: answers that must be PostgreSQL 15's (issue 14): errors
//!   before Sync (also through asyncpg), FunctionCall, malformed messages
//!   as ERRORs, and the startup and SQLSTATE details.
//! - `sequences`: CREATE/ALTER/DROP SEQUENCE and nextval/currval/setval
//!   against PostgreSQL 15's texts, nontransactional nextval, sessions
//!   sharing a sequence, serial columns, no value twice after kill -9.
//! - `sessions`: connection limits, cancel, pg_terminate_backend, pg_stat_activity.
//! - `like`: CREATE TABLE (LIKE source INCLUDING/EXCLUDING ...) against
//!   PostgreSQL 15's output: columns in place, defaults, CHECKs, identity, indexes.
//! - `lockfile`: postmaster.pid format, a second server, a stale file.
//! - `startup`: root refusal, bad settings, `-C`.
//! - `control`: pg_control read by PostgreSQL's pg_controldata; damaged files refused.
//! - `stop`: clean stops, pg_isready, kill -9 of the postmaster and of a backend.
//! - `xact`: multi-statement Queries as one implicit transaction, now().
//! - `savepoint`: SAVEPOINT / RELEASE / ROLLBACK TO against PostgreSQL 15's answers.
//! - `crash`: tables after kill -9: DROP and rolled-back CREATE stay gone
//!   (files included), a table 10x the buffer pool, xid 2^32, a flipped
//!   byte in a page (checksums) or in the WAL tail.
//! - `ledger`: the crash ledger: acknowledged commits survive SIGKILL of
//!   the postmaster, a backend, the checkpointer or the walwriter.
//! - `comment`: COMMENT ON each kind of object against PostgreSQL 15's
//!   output: pg_description rows, obj_description, errors, rollback.
//! - `copy`: COPY FROM STDIN / TO STDOUT (postgres crate, psql's \copy, raw bytes).
//! - `pgbench`: pgbench's init steps dtgv and TPC-B / select-only runs,
//!   balances checked.
//! - `explain_execute`: EXPLAIN [ANALYZE] EXECUTE of prepared statements
//!   against PostgreSQL 15's output.
//! - `jsonpath_datetime`: jsonpath .datetime() items and the *_tz path
//!   functions against PostgreSQL 15's output.
//! - `functional_deps`: ungrouped columns of a table whose primary key is
//!   grouped, against PostgreSQL 15's output.
//! - `scalars`: uuid (as a primary key), money, bit/varbit and pg_lsn
//!   against PostgreSQL 15's output; binary I/O through the postgres
//!   crate; restart.
//! - `geometry`: point, lseg, line, box, path, polygon, circle against
//!   PostgreSQL 15's output; binary I/O through the postgres crate; restart.
//! - `json`: json and jsonb types, operators, functions and errors against
//!   PostgreSQL 15's output; binary I/O through the postgres crate; restart.
//! - `json_records`: json(b)_populate_record(set), json(b)_to_record(set)
//!   and the VARIADIC json builders against PostgreSQL 15's output.
//! - `jsonpath`: the jsonpath type and the jsonb_path_* functions and
//!   `@?` / `@@` against PostgreSQL 15's output.
//! - `tsearch`: tsvector/tsquery, `@@`, the text-search functions and the
//!   simple/english configurations against PostgreSQL 15's output.
//! - `joins`: joins and subqueries over tables against PostgreSQL 15's output.
//! - `merge`: MERGE against PostgreSQL 15's output (clauses, triggers,
//!   constraints, identity, PREPARE, EXPLAIN, errors); concurrent changes
//!   of matched rows in READ COMMITTED and REPEATABLE READ.
//! - `plpgsql_more`: PL/pgSQL FOREACH, RETURN QUERY EXECUTE, simple
//!   expressions, against PostgreSQL 15's output.
//! - `plpgsql_features`: PL/pgSQL cursors (refcursor, bound cursors with
//!   arguments, OPEN/FETCH/MOVE/CLOSE, FOR over a cursor) and trigger
//!   transition tables, against PostgreSQL 15's output.
//! - `procfn`: ALTER FUNCTION/PROCEDURE/ROUTINE, pg_get_functiondef,
//!   SQL-standard bodies, OUT/INOUT parameters and CALL's result row
//!   against PostgreSQL 15's output.
//! - `polymorphic`: CREATE AGGREGATE; polymorphic pseudo-types (anyelement
//!   ... anycompatiblemultirange), VARIADIC, defaults and named arguments
//!   of user functions.
//! - `routines`: CREATE FUNCTION/PROCEDURE (SQL, PL/pgSQL), DO, CALL
//!   against PostgreSQL 15's output; restart, recursion, endless loops.
//! - `row_locks`: SELECT ... FOR UPDATE/NO KEY UPDATE/SHARE/KEY SHARE:
//!   the conflict table across two sessions, NOWAIT, SKIP LOCKED job
//!   queues, waits in pg_locks, re-checked newer versions, locks ending
//!   with their (sub)transaction, refusals, a locked row after kill -9.
//! - `queries`: WITH [RECURSIVE], DISTINCT ON, window functions and queries
//!   without columns against PostgreSQL 15's output.
//! - `subquery_plan`: views and FROM subqueries merged into the query or
//!   given its conditions (plans and rows against PostgreSQL 15's).
//! - `tables`: CREATE/DROP TABLE and SCHEMA, INSERT/SELECT/UPDATE/DELETE,
//!   the bootstrapped catalog, MVCC across sessions, transactional DDL,
//!   concurrent updates, restart, a table larger than the buffer pool.
//! - `toast`: values of 1 kB to 10 MB (compressible or not, text and
//!   bytea) through INSERT/SELECT/UPDATE/DELETE/COPY/VACUUM/TRUNCATE/DROP
//!   and kill -9, and where their chunks go.
//! - `triggers`: CREATE/DROP TRIGGER, ENABLE/DISABLE, PL/pgSQL trigger
//!   functions against PostgreSQL 15's output; recursion, restart, COPY.
//! - `textfmt`: format() widths and positions, VARIADIC arrays for concat,
//!   concat_ws and format, temporary sequences, <type>send functions,
//!   against PostgreSQL 15.
//! - `tls`: SSLRequest 'S' and TLS with psql (require, verify-full),
//!   hostssl/hostnossl and client certificates, the key file check,
//!   garbage after 'S', a bad certificate on reload, SCRAM with channel
//!   binding.
//! - `upsert`: INSERT ... ON CONFLICT against PostgreSQL 15's output;
//!   concurrent upserts of one key.
//! - `assign`: assignment targets with subscripts and fields, and
//!   multi-column SET, in UPDATE, INSERT, ON CONFLICT and MERGE against
//!   PostgreSQL 15's output.

#![deny(clippy::undocumented_unsafe_blocks)]

mod advisory;
mod aggplan;
mod aggregates;
mod alter;
mod arrays;
mod assign;
mod auth;
mod autovacuum;
mod catalog_index;
mod client;
mod comment;
mod control;
mod copy;
mod crash;
mod cursors;
mod datetime;
mod domains;
mod drop_schema;
mod enums;
mod errpos;
mod explain;
mod explain_execute;
mod fidelity;
mod foreign_data;
mod foreign_keys;
mod formatting;
mod functional_deps;
mod functions;
mod generated;
mod geometry;
mod index_ddl;
mod indexes;
mod inherit_partition;
mod joins;
mod json;
mod json_records;
mod jsonpath;
mod jsonpath_datetime;
mod ledger;
mod like;
mod lockfile;
mod locks;
mod merge;
mod notify;
mod operators;
mod ordered_set;
mod partial_index;
mod pgbench;
mod plancache;
mod plpgsql_features;
mod plpgsql_more;
mod polymorphic;
mod privileges;
mod privileges_more;
mod procfn;
mod psql;
mod psql_describe;
mod publication;
mod queries;
mod ranges;
mod raw;
mod regex;
mod reloptions;
mod routines;
mod row_locks;
mod rows;
mod rowsecurity;
mod rowtypes;
mod rules;
mod savepoint;
mod scalars;
mod semijoin;
mod sequences;
mod sessions;
mod startup;
mod stop;
mod subquery_plan;
mod sysviews;
mod tables;
mod text_search_config;
mod textfmt;
mod timezones;
mod tls;
mod toast;
mod triggers;
mod tsearch;
mod txid;
mod updatable_views;
mod update_from;
mod upsert;
mod util;
mod viewdef;
mod views;
mod walkeep;
mod window;
mod with_dml;
mod with_recursion;
mod xact;
mod xact_modes;
