//! The table of every setting tusk knows, with PostgreSQL 15's names,
//! defaults, ranges, units, contexts and groups.
//!
//! One static table rather than per-crate registration: the postmaster must
//! be able to validate the whole postgresql.conf before any subsystem
//! exists, `tusk init` writes a sample from the same table, and SHOW ALL
//! lists it. Entries are grouped by category in the order of PostgreSQL's
//! postgresql.conf.sample, which is the order the sample file uses.
//!
//! Defaults are written as an operator would write them ("128MB", "1min")
//! and parsed by the same code as any other value; a unit test checks that
//! each one parses and lies within its range.

use crate::flags::*;
use crate::{Context, Kind, SettingDef, Unit};

/// PostgreSQL's INT_MAX, the upper bound of most integer settings.
const INT_MAX: i64 = i32::MAX as i64;
/// PostgreSQL's MAX_BACKENDS (2^18 - 1).
const MAX_BACKENDS: i64 = 0x3FFFF;
/// INT_MAX / XLOG_BLCKSZ, the largest wal_buffers.
const MAX_WAL_BUFFERS: i64 = INT_MAX / 8192;

const FILE_LOCATIONS: &str = "File Locations";
const CONN_SETTINGS: &str = "Connections and Authentication / Connection Settings";
const CONN_TCP: &str = "Connections and Authentication / TCP Settings";
const CONN_AUTH: &str = "Connections and Authentication / Authentication";
const CONN_SSL: &str = "Connections and Authentication / SSL";
const RES_MEM: &str = "Resource Usage / Memory";
const RES_KERNEL: &str = "Resource Usage / Kernel Resources";
const RES_BGWRITER: &str = "Resource Usage / Background Writer";
const RES_ASYNC: &str = "Resource Usage / Asynchronous Behavior";
const WAL_SETTINGS: &str = "Write-Ahead Log / Settings";
const WAL_CHECKPOINTS: &str = "Write-Ahead Log / Checkpoints";
const WAL_ARCHIVING: &str = "Write-Ahead Log / Archiving";
const REPL_SENDING: &str = "Replication / Sending Servers";
const QUERY_METHOD: &str = "Query Tuning / Planner Method Configuration";
const QUERY_COST: &str = "Query Tuning / Planner Cost Constants";
const QUERY_OTHER: &str = "Query Tuning / Other Planner Options";
const LOG_WHEN: &str = "Reporting and Logging / When to Log";
const LOG_WHAT: &str = "Reporting and Logging / What to Log";
const LOG_TITLE: &str = "Reporting and Logging / Process Title";
const AUTOVACUUM: &str = "Autovacuum";
const CLIENT_STATEMENT: &str = "Client Connection Defaults / Statement Behavior";
const CLIENT_LOCALE: &str = "Client Connection Defaults / Locale and Formatting";
const LOCKS: &str = "Lock Management";
const COMPAT_PREVIOUS: &str = "Version and Platform Compatibility / Previous PostgreSQL Versions";
const ERROR_HANDLING: &str = "Error Handling";
const PRESET: &str = "Preset Options";
const UNGROUPED: &str = "Ungrouped";

const fn def(
    name: &'static str,
    kind: Kind,
    unit: Unit,
    default: &'static str,
    context: Context,
    category: &'static str,
    description: &'static str,
) -> SettingDef {
    SettingDef {
        name,
        kind,
        unit,
        default,
        context,
        description,
        category,
        report: false,
        flags: 0,
    }
}

const fn boolean(
    name: &'static str,
    default: &'static str,
    context: Context,
    category: &'static str,
    description: &'static str,
) -> SettingDef {
    def(
        name,
        Kind::Bool,
        Unit::None,
        default,
        context,
        category,
        description,
    )
}

#[allow(clippy::too_many_arguments)]
const fn int(
    name: &'static str,
    default: &'static str,
    min: i64,
    max: i64,
    unit: Unit,
    context: Context,
    category: &'static str,
    description: &'static str,
) -> SettingDef {
    def(
        name,
        Kind::Int { min, max },
        unit,
        default,
        context,
        category,
        description,
    )
}

const fn real(
    name: &'static str,
    default: &'static str,
    min: f64,
    max: f64,
    context: Context,
    category: &'static str,
    description: &'static str,
) -> SettingDef {
    def(
        name,
        Kind::Real { min, max },
        Unit::None,
        default,
        context,
        category,
        description,
    )
}

const fn string(
    name: &'static str,
    default: &'static str,
    context: Context,
    category: &'static str,
    description: &'static str,
) -> SettingDef {
    def(
        name,
        Kind::String,
        Unit::None,
        default,
        context,
        category,
        description,
    )
}

const fn enumeration(
    name: &'static str,
    options: &'static [&'static str],
    default: &'static str,
    context: Context,
    category: &'static str,
    description: &'static str,
) -> SettingDef {
    def(
        name,
        Kind::Enum(options),
        Unit::None,
        default,
        context,
        category,
        description,
    )
}

impl SettingDef {
    const fn reported(mut self) -> SettingDef {
        self.report = true;
        self
    }
    const fn with(mut self, flags: u32) -> SettingDef {
        self.flags |= flags;
        self
    }
}

use Context::{Internal, Postmaster, Sighup, Superuser, User};

const LOG_LEVELS: &[&str] = &[
    "debug5", "debug4", "debug3", "debug2", "debug1", "info", "notice", "warning", "error", "log",
    "fatal", "panic",
];
const CLIENT_LEVELS: &[&str] = &[
    "debug5", "debug4", "debug3", "debug2", "debug1", "log", "notice", "warning", "error",
];
const ISOLATION_LEVELS: &[&str] = &[
    "serializable",
    "repeatable read",
    "read committed",
    "read uncommitted",
];

/// A `const`, not a `static`, so that [`crate::keys`] can find each key's
/// index in it at compile time.
pub(crate) const REGISTRY: &[SettingDef] = &[
    // ---- File locations: filled in by `load` from -D unless set.
    string("data_directory", "", Postmaster, FILE_LOCATIONS, "Sets the server's data directory."),
    string("config_file", "", Postmaster, FILE_LOCATIONS, "Sets the server's main configuration file.")
        .with(DISALLOW_IN_FILE | NOT_IN_SAMPLE),
    string("hba_file", "", Postmaster, FILE_LOCATIONS, "Sets the server's \"hba\" configuration file."),
    string("ident_file", "", Postmaster, FILE_LOCATIONS, "Sets the server's \"ident\" configuration file."),
    string("external_pid_file", "", Postmaster, FILE_LOCATIONS, "Writes the postmaster PID to the specified file."),
    // ---- Connections.
    string("listen_addresses", "localhost", Postmaster, CONN_SETTINGS, "Sets the host name or IP address(es) to listen to."),
    int("port", "5432", 1, 65535, Unit::None, Postmaster, CONN_SETTINGS, "Sets the TCP port the server listens on."),
    int("max_connections", "100", 1, MAX_BACKENDS, Unit::None, Postmaster, CONN_SETTINGS,
        "Sets the maximum number of concurrent connections."),
    int("superuser_reserved_connections", "3", 0, MAX_BACKENDS, Unit::None, Postmaster, CONN_SETTINGS,
        "Sets the number of connection slots reserved for superusers."),
    string("unix_socket_directories", "/tmp", Postmaster, CONN_SETTINGS,
        "Sets the directories where Unix-domain sockets will be created."),
    string("unix_socket_group", "", Postmaster, CONN_SETTINGS, "Sets the owning group of the Unix-domain socket."),
    int("unix_socket_permissions", "0777", 0, 0o777, Unit::None, Postmaster, CONN_SETTINGS,
        "Sets the access permissions of the Unix-domain socket.")
        .with(OCTAL),
    int("tcp_keepalives_idle", "0", 0, INT_MAX, Unit::S, User, CONN_TCP,
        "Time between issuing TCP keepalives; 0 uses the system default."),
    int("tcp_keepalives_interval", "0", 0, INT_MAX, Unit::S, User, CONN_TCP,
        "Time between TCP keepalive retransmits; 0 uses the system default."),
    int("tcp_keepalives_count", "0", 0, INT_MAX, Unit::None, User, CONN_TCP,
        "Maximum number of TCP keepalive retransmits; 0 uses the system default."),
    int("authentication_timeout", "1min", 1, 600, Unit::S, Sighup, CONN_AUTH,
        "Sets the maximum allowed time to complete client authentication."),
    enumeration("password_encryption", &["md5", "scram-sha-256"], "scram-sha-256", User, CONN_AUTH,
        "Chooses the algorithm for encrypting passwords."),
    boolean("ssl", "off", Sighup, CONN_SSL, "Enables SSL connections."),
    string("ssl_ca_file", "", Sighup, CONN_SSL, "Location of the SSL certificate authority file."),
    string("ssl_cert_file", "server.crt", Sighup, CONN_SSL, "Location of the SSL server certificate file."),
    // Accepted for compatibility with PostgreSQL configurations: rustls
    // offers only its own modern suites, so the list is not applied.
    string("ssl_ciphers", "HIGH:MEDIUM:+3DES:!aNULL", Sighup, CONN_SSL, "Sets the list of allowed SSL ciphers."),
    string("ssl_crl_dir", "", Sighup, CONN_SSL, "Location of the SSL certificate revocation list directory."),
    string("ssl_crl_file", "", Sighup, CONN_SSL, "Location of the SSL certificate revocation list file."),
    string("ssl_dh_params_file", "", Sighup, CONN_SSL, "Location of the SSL DH parameters file."),
    string("ssl_ecdh_curve", "prime256v1", Sighup, CONN_SSL, "Sets the curve to use for ECDH."),
    string("ssl_key_file", "server.key", Sighup, CONN_SSL, "Location of the SSL server private key file."),
    enumeration("ssl_max_protocol_version", &["", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"], "", Sighup, CONN_SSL,
        "Sets the maximum SSL/TLS protocol version to use."),
    enumeration("ssl_min_protocol_version", &["TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"], "TLSv1.2", Sighup, CONN_SSL,
        "Sets the minimum SSL/TLS protocol version to use."),
    string("ssl_passphrase_command", "", Sighup, CONN_SSL, "Command to obtain passphrases for SSL."),
    boolean("ssl_passphrase_command_supports_reload", "off", Sighup, CONN_SSL,
        "Controls whether ssl_passphrase_command is called during server reload."),
    boolean("ssl_prefer_server_ciphers", "on", Sighup, CONN_SSL, "Give priority to server ciphersuite order."),
    // ---- Memory.
    int("shared_buffers", "128MB", 16, INT_MAX / 2, Unit::Blocks, Postmaster, RES_MEM,
        "Sets the number of shared memory buffers used by the server."),
    enumeration("huge_pages", &["off", "on", "try"], "try", Postmaster, RES_MEM,
        "Use of huge pages on Linux (only with shared_memory_type = mmap)."),
    int("huge_page_size", "0", 0, INT_MAX, Unit::Kb, Postmaster, RES_MEM,
        "The size of huge page that should be requested; 0 uses the system default."),
    int("temp_buffers", "8MB", 100, INT_MAX / 2, Unit::Blocks, User, RES_MEM,
        "Sets the maximum number of temporary buffers used by each session."),
    int("max_prepared_transactions", "0", 0, MAX_BACKENDS, Unit::None, Postmaster, RES_MEM,
        "Sets the maximum number of simultaneously prepared transactions."),
    int("work_mem", "4MB", 64, INT_MAX, Unit::Kb, User, RES_MEM,
        "Sets the maximum memory to be used for query workspaces."),
    int("maintenance_work_mem", "64MB", 1024, INT_MAX, Unit::Kb, User, RES_MEM,
        "Sets the maximum memory to be used for maintenance operations."),
    int("max_stack_depth", "2MB", 100, INT_MAX, Unit::Kb, Superuser, RES_MEM,
        "Sets the maximum stack depth, in kilobytes."),
    // tusk's default is sysv (PostgreSQL's is mmap): the seeds' model, where
    // the whole region is one System V segment that ipcs shows at its size.
    enumeration("shared_memory_type", &["sysv", "mmap"], "sysv", Postmaster, RES_MEM,
        "Selects the shared memory implementation used for the main shared memory region."),
    // ---- Kernel resources.
    int("max_files_per_process", "1000", 64, INT_MAX, Unit::None, Postmaster, RES_KERNEL,
        "Sets the maximum number of simultaneously open files for each server process."),
    int("postmaster_oom_score_adj", "-900", -1000, 1000, Unit::None, Postmaster, RES_KERNEL,
        "OOM-killer score adjustment of the postmaster (Linux oom_score_adj)."),
    int("backend_oom_score_adj", "0", -1000, 1000, Unit::None, Sighup, RES_KERNEL,
        "OOM-killer score adjustment given to each child process (Linux oom_score_adj)."),
    // ---- Background writer.
    int("bgwriter_delay", "200ms", 10, 10000, Unit::Ms, Sighup, RES_BGWRITER,
        "Background writer sleep time between rounds."),
    int("bgwriter_lru_maxpages", "100", 0, INT_MAX / 2, Unit::None, Sighup, RES_BGWRITER,
        "Background writer maximum number of LRU pages to flush per round."),
    real("bgwriter_lru_multiplier", "2.0", 0.0, 10.0, Sighup, RES_BGWRITER,
        "Multiple of the average buffer usage to free per round."),
    // ---- Asynchronous behaviour.
    int("max_worker_processes", "8", 0, MAX_BACKENDS, Unit::None, Postmaster, RES_ASYNC,
        "Maximum number of concurrent worker processes."),
    int("max_parallel_workers_per_gather", "2", 0, 1024, Unit::None, User, RES_ASYNC,
        "Sets the maximum number of parallel processes per executor node."),
    int("max_parallel_workers", "8", 0, 1024, Unit::None, User, RES_ASYNC,
        "Sets the maximum number of parallel workers that can be active at one time."),
    // ---- WAL.
    enumeration("wal_level", &["minimal", "replica", "logical"], "replica", Postmaster, WAL_SETTINGS,
        "Sets the level of information written to the WAL."),
    boolean("fsync", "on", Sighup, WAL_SETTINGS, "Forces synchronization of updates to disk."),
    enumeration("synchronous_commit", &["local", "remote_write", "remote_apply", "on", "off"], "on", User, WAL_SETTINGS,
        "Sets the current transaction's synchronization level."),
    enumeration("wal_sync_method", &["fsync", "fdatasync", "open_sync", "open_datasync"], "fdatasync", Sighup,
        WAL_SETTINGS, "Selects the method used for forcing WAL updates to disk."),
    boolean("full_page_writes", "on", Sighup, WAL_SETTINGS,
        "Writes full pages to WAL when first modified after a checkpoint."),
    int("wal_buffers", "-1", -1, MAX_WAL_BUFFERS, Unit::WalBlocks, Postmaster, WAL_SETTINGS,
        "Sets the number of disk-page buffers in shared memory for WAL; -1 sizes them from shared_buffers."),
    int("wal_writer_delay", "200ms", 1, 10000, Unit::Ms, Sighup, WAL_SETTINGS,
        "Time between WAL flushes performed in the WAL writer."),
    int("commit_delay", "0", 0, 100000, Unit::None, Superuser, WAL_SETTINGS,
        "Sets the delay in microseconds between transaction commit and flushing WAL to disk."),
    int("checkpoint_timeout", "5min", 30, 86400, Unit::S, Sighup, WAL_CHECKPOINTS,
        "Sets the maximum time between automatic WAL checkpoints."),
    real("checkpoint_completion_target", "0.9", 0.0, 1.0, Sighup, WAL_CHECKPOINTS,
        "Time spent flushing dirty buffers during checkpoint, as fraction of checkpoint interval."),
    int("checkpoint_warning", "30s", 0, INT_MAX, Unit::S, Sighup, WAL_CHECKPOINTS,
        "Sets the maximum time before warning if checkpoints triggered by WAL volume happen too frequently."),
    int("max_wal_size", "1GB", 2, INT_MAX, Unit::Mb, Sighup, WAL_CHECKPOINTS,
        "Sets the WAL size that triggers a checkpoint."),
    int("min_wal_size", "80MB", 2, INT_MAX, Unit::Mb, Sighup, WAL_CHECKPOINTS,
        "Sets the minimum size to shrink the WAL to."),
    enumeration("archive_mode", &["always", "on", "off"], "off", Postmaster, WAL_ARCHIVING,
        "Allows archiving of WAL files using archive_command."),
    string("archive_command", "", Sighup, WAL_ARCHIVING, "Sets the shell command that will be called to archive a WAL file."),
    // ---- Replication: tusk has none yet, hence 0 senders by default.
    int("wal_keep_size", "0", 0, INT_MAX, Unit::Mb, Sighup, REPL_SENDING,
        "Sets the size of WAL files held for standby servers."),
    int("max_wal_senders", "0", 0, MAX_BACKENDS, Unit::None, Postmaster, REPL_SENDING,
        "Sets the maximum number of simultaneously running WAL sender processes (0: tusk has no replication yet)."),
    // ---- Query tuning. The method switches and cost constants are
    // PostgreSQL's, accepted (and shown) so that scripts and tools that set
    // them run; tusk's planner does not consult them yet (its choices are
    // rule-based, docs/architecture.md section 6).
    boolean("enable_async_append", "on", User, QUERY_METHOD, "Enables the planner's use of async append plans."),
    boolean("enable_bitmapscan", "on", User, QUERY_METHOD, "Enables the planner's use of bitmap-scan plans."),
    boolean("enable_gathermerge", "on", User, QUERY_METHOD, "Enables the planner's use of gather merge plans."),
    boolean("enable_hashagg", "on", User, QUERY_METHOD, "Enables the planner's use of hashed aggregation plans."),
    boolean("enable_hashjoin", "on", User, QUERY_METHOD, "Enables the planner's use of hash join plans."),
    boolean("enable_incremental_sort", "on", User, QUERY_METHOD, "Enables the planner's use of incremental sort steps."),
    boolean("enable_indexonlyscan", "on", User, QUERY_METHOD, "Enables the planner's use of index-only-scan plans."),
    boolean("enable_indexscan", "on", User, QUERY_METHOD, "Enables the planner's use of index-scan plans."),
    boolean("enable_material", "on", User, QUERY_METHOD, "Enables the planner's use of materialization."),
    boolean("enable_memoize", "on", User, QUERY_METHOD, "Enables the planner's use of memoization."),
    boolean("enable_mergejoin", "on", User, QUERY_METHOD, "Enables the planner's use of merge join plans."),
    boolean("enable_nestloop", "on", User, QUERY_METHOD, "Enables the planner's use of nested-loop join plans."),
    boolean("enable_parallel_append", "on", User, QUERY_METHOD, "Enables the planner's use of parallel append plans."),
    boolean("enable_parallel_hash", "on", User, QUERY_METHOD, "Enables the planner's use of parallel hash plans."),
    boolean("enable_partition_pruning", "on", User, QUERY_METHOD, "Enables plan-time and execution-time partition pruning."),
    boolean("enable_partitionwise_aggregate", "off", User, QUERY_METHOD, "Enables partitionwise aggregation and grouping."),
    boolean("enable_partitionwise_join", "off", User, QUERY_METHOD, "Enables partitionwise join."),
    boolean("enable_seqscan", "on", User, QUERY_METHOD, "Enables the planner's use of sequential-scan plans."),
    boolean("enable_sort", "on", User, QUERY_METHOD, "Enables the planner's use of explicit sort steps."),
    boolean("enable_tidscan", "on", User, QUERY_METHOD, "Enables the planner's use of TID scan plans."),
    real("cpu_tuple_cost", "0.01", 0.0, f64::MAX, User, QUERY_COST,
        "Sets the planner's estimate of the cost of processing each tuple (row)."),
    real("cpu_index_tuple_cost", "0.005", 0.0, f64::MAX, User, QUERY_COST,
        "Sets the planner's estimate of the cost of processing each index entry during an index scan."),
    real("cpu_operator_cost", "0.0025", 0.0, f64::MAX, User, QUERY_COST,
        "Sets the planner's estimate of the cost of processing each operator or function call."),
    real("parallel_tuple_cost", "0.1", 0.0, f64::MAX, User, QUERY_COST,
        "Sets the planner's estimate of the cost of passing each tuple (row) from worker to leader backend."),
    real("parallel_setup_cost", "1000", 0.0, f64::MAX, User, QUERY_COST,
        "Sets the planner's estimate of the cost of starting up worker processes for parallel query."),
    real("jit_above_cost", "100000", -1.0, f64::MAX, User, QUERY_COST,
        "Perform JIT compilation if query is more expensive."),
    int("min_parallel_table_scan_size", "8MB", 0, INT_MAX / 3, Unit::Blocks, User, QUERY_COST,
        "Sets the minimum amount of table data for a parallel scan."),
    int("min_parallel_index_scan_size", "512kB", 0, INT_MAX / 3, Unit::Blocks, User, QUERY_COST,
        "Sets the minimum amount of index data for a parallel scan."),
    int("default_statistics_target", "100", 1, 10000, Unit::None, User, QUERY_OTHER,
        "Sets the default statistics target."),
    enumeration("constraint_exclusion", &["partition", "on", "off"], "partition", User, QUERY_OTHER,
        "Enables the planner to use constraints to optimize queries."),
    real("cursor_tuple_fraction", "0.1", 0.0, 1.0, User, QUERY_OTHER,
        "Sets the planner's estimate of the fraction of a cursor's rows that will be retrieved."),
    int("from_collapse_limit", "8", 1, INT_MAX, Unit::None, User, QUERY_OTHER,
        "Sets the FROM-list size beyond which subqueries are not collapsed."),
    int("join_collapse_limit", "8", 1, INT_MAX, Unit::None, User, QUERY_OTHER,
        "Sets the FROM-list size beyond which JOIN constructs are not flattened."),
    enumeration("plan_cache_mode", &["auto", "force_generic_plan", "force_custom_plan"], "auto", User, QUERY_OTHER,
        "Controls the planner's selection of custom or generic plan."),
    real("hash_mem_multiplier", "2.0", 1.0, 1000.0, User, RES_MEM,
        "Multiple of work_mem to use for hash tables."),
    def("vacuum_cost_delay", Kind::Real { min: 0.0, max: 100.0 }, Unit::Ms, "0", User,
        "Resource Usage / Cost-Based Vacuum Delay", "Vacuum cost delay in milliseconds."),
    boolean("track_io_timing", "off", Superuser, "Statistics / Cumulative Query and Index Statistics",
        "Collects timing statistics for database I/O activity."),
    enumeration("stats_fetch_consistency", &["none", "cache", "snapshot"], "cache", User,
        "Statistics / Cumulative Query and Index Statistics",
        "Sets the consistency of accesses to statistics data."),
    enumeration("default_toast_compression", &["pglz"], "pglz", User, CLIENT_STATEMENT,
        "Sets the default compression method for compressible values (tusk has pglz only)."),
    real("seq_page_cost", "1.0", 0.0, f64::MAX, User, QUERY_COST,
        "Sets the planner's estimate of the cost of a sequentially fetched disk page."),
    real("random_page_cost", "4.0", 0.0, f64::MAX, User, QUERY_COST,
        "Sets the planner's estimate of the cost of a nonsequentially fetched disk page."),
    int("effective_cache_size", "4GB", 1, INT_MAX, Unit::Blocks, User, QUERY_COST,
        "Sets the planner's assumption about the total size of the data caches."),
    boolean("jit", "off", User, QUERY_OTHER, "Allow JIT compilation (tusk has no JIT; accepted for compatibility)."),
    // ---- Logging.
    enumeration("log_min_messages", LOG_LEVELS, "warning", Superuser, LOG_WHEN,
        "Sets the message levels that are logged."),
    int("log_min_duration_statement", "-1", -1, INT_MAX, Unit::Ms, Superuser, LOG_WHEN,
        "Sets the minimum execution time above which all statements will be logged; -1 disables."),
    int("log_startup_progress_interval", "10s", 0, INT_MAX, Unit::Ms, Sighup, LOG_WHEN,
        "Time between progress updates for long-running startup operations."),
    string("log_line_prefix", "%m [%p] ", Sighup, LOG_WHAT, "Controls information prefixed to each log line."),
    boolean("log_checkpoints", "on", Sighup, LOG_WHAT, "Logs each checkpoint."),
    boolean("log_connections", "off", Sighup, LOG_WHAT, "Logs each successful connection."),
    boolean("log_disconnections", "off", Sighup, LOG_WHAT, "Logs end of a session, including duration."),
    enumeration("log_statement", &["none", "ddl", "mod", "all"], "none", Superuser, LOG_WHAT,
        "Sets the type of statements logged."),
    string("log_timezone", "UTC", Sighup, LOG_WHAT, "Sets the time zone to use in log messages."),
    string("application_name", "", User, LOG_WHAT, "Sets the application name to be reported in statistics and logs.")
        .reported()
        .with(NOT_IN_SAMPLE),
    string("cluster_name", "", Postmaster, LOG_TITLE,
        "Sets the name of the cluster, which is included in the process title."),
    boolean("update_process_title", "on", Superuser, LOG_TITLE,
        "Updates the process title to show the active SQL command."),
    // ---- Autovacuum (crates/server/src/autovacuum.rs).
    boolean("autovacuum", "on", Sighup, AUTOVACUUM, "Starts the autovacuum subprocess."),
    int("autovacuum_max_workers", "3", 1, MAX_BACKENDS, Unit::None, Postmaster, AUTOVACUUM,
        "Sets the maximum number of simultaneously running autovacuum worker processes."),
    int("autovacuum_naptime", "1min", 1, INT_MAX / 1000, Unit::S, Sighup, AUTOVACUUM,
        "Time to sleep between autovacuum runs."),
    int("autovacuum_vacuum_threshold", "50", 0, INT_MAX, Unit::None, Sighup, AUTOVACUUM,
        "Minimum number of tuple updates or deletes prior to vacuum."),
    real("autovacuum_vacuum_scale_factor", "0.2", 0.0, 100.0, Sighup, AUTOVACUUM,
        "Number of tuple updates or deletes prior to vacuum as a fraction of reltuples."),
    int("autovacuum_vacuum_insert_threshold", "1000", -1, INT_MAX, Unit::None, Sighup, AUTOVACUUM,
        "Minimum number of tuple inserts prior to vacuum, or -1 to disable insert vacuums."),
    real("autovacuum_vacuum_insert_scale_factor", "0.2", 0.0, 100.0, Sighup, AUTOVACUUM,
        "Number of tuple inserts prior to vacuum as a fraction of reltuples."),
    int("log_autovacuum_min_duration", "-1", -1, INT_MAX, Unit::Ms, Sighup, AUTOVACUUM,
        "Sets the minimum execution time above which autovacuum actions will be logged."),
    // ---- Client connection defaults: statement behaviour.
    enumeration("client_min_messages", CLIENT_LEVELS, "notice", User, CLIENT_STATEMENT,
        "Sets the message levels that are sent to the client."),
    string("search_path", "\"$user\", public", User, CLIENT_STATEMENT,
        "Sets the schema search order for names that are not schema-qualified."),
    string("default_tablespace", "", User, CLIENT_STATEMENT,
        "Sets the default tablespace to create tables and indexes in."),
    string("default_table_access_method", "heap", User, CLIENT_STATEMENT,
        "Sets the default table access method for new tables."),
    boolean("check_function_bodies", "on", User, CLIENT_STATEMENT,
        "Check routine bodies during CREATE FUNCTION and CREATE PROCEDURE."),
    enumeration("default_transaction_isolation", ISOLATION_LEVELS, "read committed", User, CLIENT_STATEMENT,
        "Sets the transaction isolation level of each new transaction."),
    boolean("default_transaction_read_only", "off", User, CLIENT_STATEMENT,
        "Sets the default read-only status of new transactions.")
        .reported(),
    enumeration("transaction_isolation", ISOLATION_LEVELS, "read committed", User, CLIENT_STATEMENT,
        "Sets the current transaction's isolation level.")
        .with(NO_RESET_ALL | NOT_IN_SAMPLE | DISALLOW_IN_FILE | XACT_SCOPED),
    boolean("transaction_read_only", "off", User, CLIENT_STATEMENT, "Sets the current transaction's read-only status.")
        .with(NO_RESET_ALL | NOT_IN_SAMPLE | DISALLOW_IN_FILE | XACT_SCOPED),
    boolean("default_transaction_deferrable", "off", User, CLIENT_STATEMENT,
        "Sets the default deferrable status of new transactions."),
    boolean("transaction_deferrable", "off", User, CLIENT_STATEMENT,
        "Whether to defer a read-only serializable transaction until it can be executed with no possible serialization failures.")
        .with(NO_RESET_ALL | NOT_IN_SAMPLE | DISALLOW_IN_FILE | XACT_SCOPED),
    enumeration("session_replication_role", &["origin", "replica", "local"], "origin", Superuser, CLIENT_STATEMENT,
        "Sets the session's behavior for triggers and rewrite rules."),
    int("statement_timeout", "0", 0, INT_MAX, Unit::Ms, User, CLIENT_STATEMENT,
        "Sets the maximum allowed duration of any statement; 0 disables."),
    int("lock_timeout", "0", 0, INT_MAX, Unit::Ms, User, CLIENT_STATEMENT,
        "Sets the maximum allowed duration of any wait for a lock; 0 disables."),
    int("idle_in_transaction_session_timeout", "0", 0, INT_MAX, Unit::Ms, User, CLIENT_STATEMENT,
        "Sets the maximum allowed idle time between queries, when in a transaction; 0 disables."),
    int("idle_session_timeout", "0", 0, INT_MAX, Unit::Ms, User, CLIENT_STATEMENT,
        "Sets the maximum allowed idle time between queries, when not in a transaction; 0 disables."),
    enumeration("bytea_output", &["escape", "hex"], "hex", User, CLIENT_STATEMENT, "Sets the output format for bytea."),
    enumeration("xmloption", &["content", "document"], "content", User, CLIENT_STATEMENT,
        "Sets whether XML data in implicit parsing and serialization operations is to be considered as documents or content fragments."),
    boolean("row_security", "on", User, CLIENT_STATEMENT, "Enable row security."),
    // ---- Client connection defaults: locale and formatting.
    string("DateStyle", "ISO, MDY", User, CLIENT_LOCALE, "Sets the display format for date and time values.")
        .reported(),
    enumeration("IntervalStyle", &["postgres", "postgres_verbose", "sql_standard", "iso_8601"], "postgres", User,
        CLIENT_LOCALE, "Sets the display format for interval values.")
        .reported(),
    string("TimeZone", "UTC", User, CLIENT_LOCALE, "Sets the time zone for displaying and interpreting time stamps.")
        .reported(),
    string("timezone_abbreviations", "Default", User, CLIENT_LOCALE,
        "Selects a file of time zone abbreviations."),
    int("extra_float_digits", "1", -15, 3, Unit::None, User, CLIENT_LOCALE,
        "Sets the number of digits displayed for floating-point values."),
    string("client_encoding", "UTF8", User, CLIENT_LOCALE, "Sets the client's character set encoding.")
        .reported(),
    string("lc_messages", "C", Superuser, CLIENT_LOCALE, "Sets the language in which messages are displayed."),
    string("lc_monetary", "C", User, CLIENT_LOCALE, "Sets the locale for formatting monetary amounts."),
    string("lc_numeric", "C", User, CLIENT_LOCALE, "Sets the locale for formatting numbers."),
    string("lc_time", "C", User, CLIENT_LOCALE, "Sets the locale for formatting date and time values."),
    string("default_text_search_config", "pg_catalog.english", User, CLIENT_LOCALE,
        "Sets default text search configuration."),
    // ---- Locks.
    int("deadlock_timeout", "1s", 1, INT_MAX, Unit::Ms, Superuser, LOCKS,
        "Sets the time to wait on a lock before checking for deadlock."),
    int("max_locks_per_transaction", "64", 10, INT_MAX, Unit::None, Postmaster, LOCKS,
        "Sets the maximum number of locks per transaction."),
    // ---- Compatibility.
    boolean("standard_conforming_strings", "on", User, COMPAT_PREVIOUS,
        "Causes '...' strings to treat backslashes literally.")
        .reported(),
    boolean("escape_string_warning", "on", User, COMPAT_PREVIOUS,
        "Warn about backslash escapes in ordinary string literals."),
    // ---- Error handling.
    boolean("exit_on_error", "off", User, ERROR_HANDLING, "Terminate session on any error."),
    boolean("restart_after_crash", "on", Sighup, ERROR_HANDLING, "Reinitialize server after backend crash."),
    enumeration("recovery_init_sync_method", &["fsync", "syncfs"], "fsync", Sighup, ERROR_HANDLING,
        "Sets the method for synchronizing the data directory before crash recovery."),
    // ---- Preset (read-only) options.
    string("server_version", concat!("15.0 (tusk ", env!("CARGO_PKG_VERSION"), ")"), Internal, PRESET,
        "Shows the server version.")
        .reported()
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("server_version_num", "150000", 150000, 150000, Unit::None, Internal, PRESET,
        "Shows the server version as an integer.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    string("server_encoding", "UTF8", Internal, PRESET, "Shows the server (database) character set encoding.")
        .reported()
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    string("lc_collate", "C", Internal, PRESET, "Shows the collation order locale.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    string("lc_ctype", "C", Internal, PRESET, "Shows the character classification and case conversion locale.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    boolean("integer_datetimes", "on", Internal, PRESET, "Shows whether datetimes are integer based.")
        .reported()
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("block_size", "8192", 8192, 8192, Unit::None, Internal, PRESET, "Shows the size of a disk block.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("wal_block_size", "8192", 8192, 8192, Unit::None, Internal, PRESET,
        "Shows the block size in the write ahead log.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("wal_segment_size", "16MB", 1 << 20, 1 << 30, Unit::B, Internal, PRESET,
        "Shows the size of write ahead log segments.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("segment_size", "1GB", 131072, 131072, Unit::Blocks, Internal, PRESET,
        "Shows the number of pages per disk file.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("max_function_args", "100", 100, 100, Unit::None, Internal, PRESET,
        "Shows the maximum number of function arguments.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("max_identifier_length", "63", 63, 63, Unit::None, Internal, PRESET,
        "Shows the maximum identifier length.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("max_index_keys", "32", 32, 32, Unit::None, Internal, PRESET, "Shows the maximum number of index keys.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    boolean("data_checksums", "off", Internal, PRESET, "Shows whether data checksums are turned on for this cluster.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    boolean("in_hot_standby", "off", Internal, PRESET, "Shows whether hot standby is currently active.")
        .reported()
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    int("shared_memory_size", "0", 0, INT_MAX, Unit::Mb, Internal, PRESET,
        "Shows the size of the server's main shared memory area (rounded up to the nearest MB).")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE | RUNTIME_COMPUTED),
    int("shared_memory_size_in_huge_pages", "-1", -1, INT_MAX, Unit::None, Internal, PRESET,
        "Shows the number of huge pages needed for the main shared memory area; -1 if it could not be determined.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE | RUNTIME_COMPUTED),
    int("num_os_semaphores", "0", 0, INT_MAX, Unit::None, Internal, PRESET,
        "Shows the number of semaphores required for the server.")
        .with(NOT_IN_SAMPLE | DISALLOW_IN_FILE | RUNTIME_COMPUTED),
    // ---- Session identity, set by the server at connection start.
    boolean("is_superuser", "off", Internal, UNGROUPED, "Shows whether the current user is a superuser.")
        .reported()
        .with(NO_SHOW_ALL | NO_RESET_ALL | NOT_IN_SAMPLE | DISALLOW_IN_FILE),
    string("session_authorization", "", User, UNGROUPED, "Sets the session user name.")
        .reported()
        .with(NO_SHOW_ALL | NO_RESET_ALL | NOT_IN_SAMPLE | DISALLOW_IN_FILE),
];

/// Every registered setting, in the order of the sample configuration file.
pub fn registry() -> &'static [SettingDef] {
    REGISTRY
}

/// The setting of that name, compared case-insensitively as PostgreSQL does.
pub fn find(name: &str) -> Option<&'static SettingDef> {
    index_of(name).map(|i| &REGISTRY[i])
}

/// Position of a setting in [`registry`], for the per-setting value arrays.
///
/// SET, SHOW, file parsing and `-C` look names up (code reads through
/// [`crate::keys`] instead): one probe, usually, into an open-addressing
/// table built once per process, hashing the name case-insensitively
/// without allocating, then one case-insensitive comparison.
pub(crate) fn index_of(name: &str) -> Option<usize> {
    let table = by_name();
    let mask = table.len() - 1;
    let mut slot = caseless_hash(name) as usize & mask;
    loop {
        match table[slot] {
            EMPTY => return None,
            i if REGISTRY[i as usize].name.eq_ignore_ascii_case(name) => return Some(i as usize),
            _ => slot = (slot + 1) & mask,
        }
    }
}

const EMPTY: u16 = u16::MAX;

/// Registry indexes by caseless hash of the name, linear probing, at most
/// half full (so a probe sequence is short and always reaches an empty
/// slot). Built on first use; after fork each child has its own copy,
/// so no two processes ever share it.
fn by_name() -> &'static [u16] {
    static BY_NAME: std::sync::OnceLock<Vec<u16>> = std::sync::OnceLock::new();
    BY_NAME.get_or_init(|| {
        let size = (REGISTRY.len() * 2).next_power_of_two();
        let mut table = vec![EMPTY; size];
        for (i, d) in REGISTRY.iter().enumerate() {
            let mut slot = caseless_hash(d.name) as usize & (size - 1);
            while table[slot] != EMPTY {
                slot = (slot + 1) & (size - 1);
            }
            table[slot] = u16::try_from(i).expect("fewer than 65535 settings");
        }
        table
    })
}

/// FNV-1a over the ASCII-lower-cased bytes.
fn caseless_hash(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b.to_ascii_lowercase())).wrapping_mul(0x0100_0000_01b3)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_lookup_finds_every_setting_in_any_case_and_nothing_else() {
        for (i, d) in REGISTRY.iter().enumerate() {
            assert_eq!(index_of(d.name), Some(i), "{}", d.name);
            assert_eq!(
                index_of(&d.name.to_ascii_uppercase()),
                Some(i),
                "{}",
                d.name
            );
            assert_eq!(
                index_of(&d.name.to_ascii_lowercase()),
                Some(i),
                "{}",
                d.name
            );
        }
        for name in [
            "",
            "work_me",
            "work_memm",
            "work mem",
            "zzz",
            "a",
            "work_mem\0",
        ] {
            assert_eq!(index_of(name), None, "{name:?}");
        }
        assert_eq!(find("DATESTYLE").map(|d| d.name), Some("DateStyle"));
    }
}
