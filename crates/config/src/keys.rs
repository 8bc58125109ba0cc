//! Typed, constant-time keys for reading settings in code:
//! `settings.get(keys::WORK_MEM)` is an `i64`, read by array index.
//!
//! Why: code that reads a setting by its name (`s.int("work_mem")`) pays a
//! name lookup on every read and finds a misspelt name only when the line
//! runs, by panicking. Executor hot paths will read `work_mem` and the
//! like per row or per node. A key is the setting's index in
//! [`crate::registry`], computed at compile time from the registry table
//! by [`IntKey::named`] and friends: a key whose name is not registered,
//! or whose type does not match the setting's kind, does not compile. A
//! unit test checks that every registered setting has exactly one key
//! here and that each key's index names its setting.
//!
//! ```
//! use tusk_config::{keys, Settings};
//! const MY_WORK_MEM: keys::IntKey = keys::IntKey::named("work_mem");
//! let s = Settings::defaults();
//! assert_eq!(s.get(keys::WORK_MEM), 4096);
//! assert_eq!(MY_WORK_MEM, keys::WORK_MEM);
//! ```
//!
//! A misspelt name does not compile:
//! ```compile_fail
//! const K: tusk_config::keys::IntKey = tusk_config::keys::IntKey::named("work_mme");
//! ```
//! nor does a key of the wrong type:
//! ```compile_fail
//! const K: tusk_config::keys::BoolKey = tusk_config::keys::BoolKey::named("work_mem");
//! ```
//!
//! Names that come from input (SET, SHOW, postgresql.conf, `-c`, `-C`)
//! are looked up by name through [`crate::Settings::set`] and friends,
//! which answer an unknown name with an error, never a panic.

use crate::registry::REGISTRY;
use crate::Kind;

/// Which [`crate::Value`] variant a key type reads.
#[derive(Clone, Copy)]
enum Want {
    Bool,
    Int,
    Real,
    Str,
}

const fn fits(kind: &Kind, want: Want) -> bool {
    matches!(
        (kind, want),
        (Kind::Bool, Want::Bool)
            | (Kind::Int { .. }, Want::Int)
            | (Kind::Real { .. }, Want::Real)
            | (Kind::String | Kind::Enum(_), Want::Str)
    )
}

const fn same(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// The registry index of the setting spelt exactly `name`; evaluated at
/// compile time for every key, where a panic is a build error.
const fn index_named(name: &str, want: Want) -> u16 {
    let mut i = 0;
    while i < REGISTRY.len() {
        if same(REGISTRY[i].name, name) {
            if !fits(&REGISTRY[i].kind, want) {
                panic!("a setting key's type does not match its setting's kind");
            }
            return i as u16;
        }
        i += 1;
    }
    panic!("a setting key names no registered setting");
}

macro_rules! key_type {
    ($(#[$doc:meta])* $ty:ident, $want:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub struct $ty(u16);

        impl $ty {
            /// The key of the setting spelt exactly `name` (as registered).
            /// In a `const`, a wrong name or kind is a compile error.
            pub const fn named(name: &str) -> $ty {
                $ty(index_named(name, Want::$want))
            }

            /// The setting's position in [`crate::registry`].
            pub const fn index(self) -> usize {
                self.0 as usize
            }

            /// The setting's registered name.
            pub fn name(self) -> &'static str {
                REGISTRY[self.index()].name
            }
        }
    };
}

key_type!(
    /// An integer setting, read as `i64` in its base unit.
    IntKey,
    Int
);
key_type!(
    /// A Boolean setting, read as `bool`.
    BoolKey,
    Bool
);
key_type!(
    /// A real setting, read as `f64` in its base unit.
    RealKey,
    Real
);
key_type!(
    /// A string or enum setting, read as `&str` (an enum as its canonical
    /// name).
    StrKey,
    Str
);

macro_rules! keys {
    ($($ty:ident $id:ident = $name:literal;)*) => {
        $(
            #[doc = concat!("`", $name, "`")]
            pub const $id: $ty = $ty::named($name);
        )*

        /// Every key's name and index, for the completeness test.
        #[cfg(test)]
        pub(crate) const ALL: &[(&str, usize)] = &[$(($name, $id.index())),*];
    };
}

// One line per registered setting, in registry order.
keys! {
    StrKey DATA_DIRECTORY = "data_directory";
    StrKey CONFIG_FILE = "config_file";
    StrKey HBA_FILE = "hba_file";
    StrKey IDENT_FILE = "ident_file";
    StrKey EXTERNAL_PID_FILE = "external_pid_file";
    StrKey LISTEN_ADDRESSES = "listen_addresses";
    IntKey PORT = "port";
    IntKey MAX_CONNECTIONS = "max_connections";
    IntKey SUPERUSER_RESERVED_CONNECTIONS = "superuser_reserved_connections";
    StrKey UNIX_SOCKET_DIRECTORIES = "unix_socket_directories";
    StrKey UNIX_SOCKET_GROUP = "unix_socket_group";
    IntKey UNIX_SOCKET_PERMISSIONS = "unix_socket_permissions";
    IntKey TCP_KEEPALIVES_IDLE = "tcp_keepalives_idle";
    IntKey TCP_KEEPALIVES_INTERVAL = "tcp_keepalives_interval";
    IntKey TCP_KEEPALIVES_COUNT = "tcp_keepalives_count";
    IntKey AUTHENTICATION_TIMEOUT = "authentication_timeout";
    StrKey PASSWORD_ENCRYPTION = "password_encryption";
    BoolKey SSL = "ssl";
    StrKey SSL_CA_FILE = "ssl_ca_file";
    StrKey SSL_CERT_FILE = "ssl_cert_file";
    StrKey SSL_CIPHERS = "ssl_ciphers";
    StrKey SSL_CRL_DIR = "ssl_crl_dir";
    StrKey SSL_CRL_FILE = "ssl_crl_file";
    StrKey SSL_DH_PARAMS_FILE = "ssl_dh_params_file";
    StrKey SSL_ECDH_CURVE = "ssl_ecdh_curve";
    StrKey SSL_KEY_FILE = "ssl_key_file";
    StrKey SSL_MAX_PROTOCOL_VERSION = "ssl_max_protocol_version";
    StrKey SSL_MIN_PROTOCOL_VERSION = "ssl_min_protocol_version";
    StrKey SSL_PASSPHRASE_COMMAND = "ssl_passphrase_command";
    BoolKey SSL_PASSPHRASE_COMMAND_SUPPORTS_RELOAD = "ssl_passphrase_command_supports_reload";
    BoolKey SSL_PREFER_SERVER_CIPHERS = "ssl_prefer_server_ciphers";
    IntKey SHARED_BUFFERS = "shared_buffers";
    StrKey HUGE_PAGES = "huge_pages";
    IntKey HUGE_PAGE_SIZE = "huge_page_size";
    IntKey TEMP_BUFFERS = "temp_buffers";
    IntKey MAX_PREPARED_TRANSACTIONS = "max_prepared_transactions";
    IntKey WORK_MEM = "work_mem";
    IntKey MAINTENANCE_WORK_MEM = "maintenance_work_mem";
    IntKey MAX_STACK_DEPTH = "max_stack_depth";
    StrKey SHARED_MEMORY_TYPE = "shared_memory_type";
    IntKey MAX_FILES_PER_PROCESS = "max_files_per_process";
    IntKey POSTMASTER_OOM_SCORE_ADJ = "postmaster_oom_score_adj";
    IntKey BACKEND_OOM_SCORE_ADJ = "backend_oom_score_adj";
    IntKey BGWRITER_DELAY = "bgwriter_delay";
    IntKey BGWRITER_LRU_MAXPAGES = "bgwriter_lru_maxpages";
    RealKey BGWRITER_LRU_MULTIPLIER = "bgwriter_lru_multiplier";
    IntKey MAX_WORKER_PROCESSES = "max_worker_processes";
    IntKey MAX_PARALLEL_WORKERS_PER_GATHER = "max_parallel_workers_per_gather";
    IntKey MAX_PARALLEL_WORKERS = "max_parallel_workers";
    StrKey WAL_LEVEL = "wal_level";
    BoolKey FSYNC = "fsync";
    StrKey SYNCHRONOUS_COMMIT = "synchronous_commit";
    StrKey WAL_SYNC_METHOD = "wal_sync_method";
    BoolKey FULL_PAGE_WRITES = "full_page_writes";
    IntKey WAL_BUFFERS = "wal_buffers";
    IntKey WAL_WRITER_DELAY = "wal_writer_delay";
    IntKey COMMIT_DELAY = "commit_delay";
    IntKey CHECKPOINT_TIMEOUT = "checkpoint_timeout";
    RealKey CHECKPOINT_COMPLETION_TARGET = "checkpoint_completion_target";
    IntKey CHECKPOINT_WARNING = "checkpoint_warning";
    IntKey MAX_WAL_SIZE = "max_wal_size";
    IntKey MIN_WAL_SIZE = "min_wal_size";
    StrKey ARCHIVE_MODE = "archive_mode";
    StrKey ARCHIVE_COMMAND = "archive_command";
    IntKey WAL_KEEP_SIZE = "wal_keep_size";
    IntKey MAX_WAL_SENDERS = "max_wal_senders";
    BoolKey ENABLE_ASYNC_APPEND = "enable_async_append";
    BoolKey ENABLE_BITMAPSCAN = "enable_bitmapscan";
    BoolKey ENABLE_GATHERMERGE = "enable_gathermerge";
    BoolKey ENABLE_HASHAGG = "enable_hashagg";
    BoolKey ENABLE_HASHJOIN = "enable_hashjoin";
    BoolKey ENABLE_INCREMENTAL_SORT = "enable_incremental_sort";
    BoolKey ENABLE_INDEXONLYSCAN = "enable_indexonlyscan";
    BoolKey ENABLE_INDEXSCAN = "enable_indexscan";
    BoolKey ENABLE_MATERIAL = "enable_material";
    BoolKey ENABLE_MEMOIZE = "enable_memoize";
    BoolKey ENABLE_MERGEJOIN = "enable_mergejoin";
    BoolKey ENABLE_NESTLOOP = "enable_nestloop";
    BoolKey ENABLE_PARALLEL_APPEND = "enable_parallel_append";
    BoolKey ENABLE_PARALLEL_HASH = "enable_parallel_hash";
    BoolKey ENABLE_PARTITION_PRUNING = "enable_partition_pruning";
    BoolKey ENABLE_PARTITIONWISE_AGGREGATE = "enable_partitionwise_aggregate";
    BoolKey ENABLE_PARTITIONWISE_JOIN = "enable_partitionwise_join";
    BoolKey ENABLE_SEQSCAN = "enable_seqscan";
    BoolKey ENABLE_SORT = "enable_sort";
    BoolKey ENABLE_TIDSCAN = "enable_tidscan";
    RealKey CPU_TUPLE_COST = "cpu_tuple_cost";
    RealKey CPU_INDEX_TUPLE_COST = "cpu_index_tuple_cost";
    RealKey CPU_OPERATOR_COST = "cpu_operator_cost";
    RealKey PARALLEL_TUPLE_COST = "parallel_tuple_cost";
    RealKey PARALLEL_SETUP_COST = "parallel_setup_cost";
    RealKey JIT_ABOVE_COST = "jit_above_cost";
    IntKey MIN_PARALLEL_TABLE_SCAN_SIZE = "min_parallel_table_scan_size";
    IntKey MIN_PARALLEL_INDEX_SCAN_SIZE = "min_parallel_index_scan_size";
    IntKey DEFAULT_STATISTICS_TARGET = "default_statistics_target";
    StrKey CONSTRAINT_EXCLUSION = "constraint_exclusion";
    RealKey CURSOR_TUPLE_FRACTION = "cursor_tuple_fraction";
    IntKey FROM_COLLAPSE_LIMIT = "from_collapse_limit";
    IntKey JOIN_COLLAPSE_LIMIT = "join_collapse_limit";
    StrKey PLAN_CACHE_MODE = "plan_cache_mode";
    RealKey HASH_MEM_MULTIPLIER = "hash_mem_multiplier";
    RealKey VACUUM_COST_DELAY = "vacuum_cost_delay";
    BoolKey TRACK_IO_TIMING = "track_io_timing";
    StrKey STATS_FETCH_CONSISTENCY = "stats_fetch_consistency";
    StrKey DEFAULT_TOAST_COMPRESSION = "default_toast_compression";
    RealKey SEQ_PAGE_COST = "seq_page_cost";
    RealKey RANDOM_PAGE_COST = "random_page_cost";
    IntKey EFFECTIVE_CACHE_SIZE = "effective_cache_size";
    BoolKey JIT = "jit";
    StrKey LOG_MIN_MESSAGES = "log_min_messages";
    IntKey LOG_MIN_DURATION_STATEMENT = "log_min_duration_statement";
    IntKey LOG_STARTUP_PROGRESS_INTERVAL = "log_startup_progress_interval";
    StrKey LOG_LINE_PREFIX = "log_line_prefix";
    BoolKey LOG_CHECKPOINTS = "log_checkpoints";
    BoolKey LOG_CONNECTIONS = "log_connections";
    BoolKey LOG_DISCONNECTIONS = "log_disconnections";
    StrKey LOG_STATEMENT = "log_statement";
    StrKey LOG_TIMEZONE = "log_timezone";
    StrKey APPLICATION_NAME = "application_name";
    StrKey CLUSTER_NAME = "cluster_name";
    BoolKey UPDATE_PROCESS_TITLE = "update_process_title";
    BoolKey AUTOVACUUM = "autovacuum";
    IntKey AUTOVACUUM_MAX_WORKERS = "autovacuum_max_workers";
    IntKey AUTOVACUUM_NAPTIME = "autovacuum_naptime";
    IntKey AUTOVACUUM_VACUUM_THRESHOLD = "autovacuum_vacuum_threshold";
    RealKey AUTOVACUUM_VACUUM_SCALE_FACTOR = "autovacuum_vacuum_scale_factor";
    IntKey AUTOVACUUM_VACUUM_INSERT_THRESHOLD = "autovacuum_vacuum_insert_threshold";
    RealKey AUTOVACUUM_VACUUM_INSERT_SCALE_FACTOR = "autovacuum_vacuum_insert_scale_factor";
    IntKey LOG_AUTOVACUUM_MIN_DURATION = "log_autovacuum_min_duration";
    StrKey CLIENT_MIN_MESSAGES = "client_min_messages";
    StrKey SEARCH_PATH = "search_path";
    StrKey DEFAULT_TABLESPACE = "default_tablespace";
    StrKey DEFAULT_TABLE_ACCESS_METHOD = "default_table_access_method";
    BoolKey CHECK_FUNCTION_BODIES = "check_function_bodies";
    StrKey DEFAULT_TRANSACTION_ISOLATION = "default_transaction_isolation";
    BoolKey DEFAULT_TRANSACTION_READ_ONLY = "default_transaction_read_only";
    StrKey TRANSACTION_ISOLATION = "transaction_isolation";
    BoolKey TRANSACTION_READ_ONLY = "transaction_read_only";
    BoolKey DEFAULT_TRANSACTION_DEFERRABLE = "default_transaction_deferrable";
    BoolKey TRANSACTION_DEFERRABLE = "transaction_deferrable";
    StrKey SESSION_REPLICATION_ROLE = "session_replication_role";
    IntKey STATEMENT_TIMEOUT = "statement_timeout";
    IntKey LOCK_TIMEOUT = "lock_timeout";
    IntKey IDLE_IN_TRANSACTION_SESSION_TIMEOUT = "idle_in_transaction_session_timeout";
    IntKey IDLE_SESSION_TIMEOUT = "idle_session_timeout";
    StrKey BYTEA_OUTPUT = "bytea_output";
    StrKey XMLOPTION = "xmloption";
    BoolKey ROW_SECURITY = "row_security";
    StrKey DATESTYLE = "DateStyle";
    StrKey INTERVALSTYLE = "IntervalStyle";
    StrKey TIMEZONE = "TimeZone";
    StrKey TIMEZONE_ABBREVIATIONS = "timezone_abbreviations";
    IntKey EXTRA_FLOAT_DIGITS = "extra_float_digits";
    StrKey CLIENT_ENCODING = "client_encoding";
    StrKey LC_MESSAGES = "lc_messages";
    StrKey LC_MONETARY = "lc_monetary";
    StrKey LC_NUMERIC = "lc_numeric";
    StrKey LC_TIME = "lc_time";
    StrKey DEFAULT_TEXT_SEARCH_CONFIG = "default_text_search_config";
    IntKey DEADLOCK_TIMEOUT = "deadlock_timeout";
    IntKey MAX_LOCKS_PER_TRANSACTION = "max_locks_per_transaction";
    BoolKey STANDARD_CONFORMING_STRINGS = "standard_conforming_strings";
    BoolKey ESCAPE_STRING_WARNING = "escape_string_warning";
    BoolKey EXIT_ON_ERROR = "exit_on_error";
    BoolKey RESTART_AFTER_CRASH = "restart_after_crash";
    StrKey RECOVERY_INIT_SYNC_METHOD = "recovery_init_sync_method";
    StrKey SERVER_VERSION = "server_version";
    IntKey SERVER_VERSION_NUM = "server_version_num";
    StrKey SERVER_ENCODING = "server_encoding";
    StrKey LC_COLLATE = "lc_collate";
    StrKey LC_CTYPE = "lc_ctype";
    BoolKey INTEGER_DATETIMES = "integer_datetimes";
    IntKey BLOCK_SIZE = "block_size";
    IntKey WAL_BLOCK_SIZE = "wal_block_size";
    IntKey WAL_SEGMENT_SIZE = "wal_segment_size";
    IntKey SEGMENT_SIZE = "segment_size";
    IntKey MAX_FUNCTION_ARGS = "max_function_args";
    IntKey MAX_IDENTIFIER_LENGTH = "max_identifier_length";
    IntKey MAX_INDEX_KEYS = "max_index_keys";
    BoolKey DATA_CHECKSUMS = "data_checksums";
    BoolKey IN_HOT_STANDBY = "in_hot_standby";
    IntKey SHARED_MEMORY_SIZE = "shared_memory_size";
    IntKey SHARED_MEMORY_SIZE_IN_HUGE_PAGES = "shared_memory_size_in_huge_pages";
    IntKey NUM_OS_SEMAPHORES = "num_os_semaphores";
    BoolKey IS_SUPERUSER = "is_superuser";
    StrKey SESSION_AUTHORIZATION = "session_authorization";
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Settings, Value};

    #[test]
    fn every_setting_has_one_key_naming_it() {
        assert_eq!(ALL.len(), REGISTRY.len(), "one key per registered setting");
        for (i, &(name, index)) in ALL.iter().enumerate() {
            assert_eq!(index, i, "{name}: keys are listed in registry order");
            assert_eq!(REGISTRY[index].name, name);
        }
    }

    #[test]
    fn keys_read_what_names_read() {
        let mut s = Settings::defaults();
        s.set("work_mem", "7MB", crate::Source::CommandLine)
            .unwrap();
        s.set("statement_timeout", "2s", crate::Source::CommandLine)
            .unwrap();
        s.set("log_connections", "on", crate::Source::CommandLine)
            .unwrap();
        s.set("huge_pages", "OFF", crate::Source::CommandLine)
            .unwrap();
        assert_eq!(s.get(WORK_MEM), 7 * 1024);
        assert_eq!(s.get(WORK_MEM), s.int("work_mem"));
        assert_eq!(s.get(STATEMENT_TIMEOUT), 2000);
        assert!(s.get(LOG_CONNECTIONS));
        assert_eq!(s.get(HUGE_PAGES), "off");
        assert_eq!(s.get(CHECKPOINT_COMPLETION_TARGET), 0.9);
        assert_eq!(s.get(DATESTYLE), "ISO, MDY");
        assert_eq!(WORK_MEM.name(), "work_mem");
        // A name from input is looked up, never trusted: a misspelt one
        // is an answer (None, or PostgreSQL's error), not a panic.
        assert_eq!(s.get("WORK_MEM"), Some(&Value::Int(7 * 1024)));
        assert_eq!(s.get("work_mme"), None);
        assert!(matches!(
            s.set("work_mme", "1MB", crate::Source::Session),
            Err(crate::ConfigError::UnknownParameter {
                suggestion: Some("work_mem"),
                ..
            })
        ));
        // Every key reads the same value as its name does.
        for def in crate::registry() {
            let by_name = s.get(def.name).expect("registered").clone();
            let by_key = match by_name {
                Value::Int(_) => Value::Int(s.get(IntKey::named(def.name))),
                Value::Bool(_) => Value::Bool(s.get(BoolKey::named(def.name))),
                Value::Real(_) => Value::Real(s.get(RealKey::named(def.name))),
                Value::Str(_) => Value::Str(s.get(StrKey::named(def.name)).to_string()),
            };
            assert_eq!(by_key, by_name, "{}", def.name);
        }
    }
}
