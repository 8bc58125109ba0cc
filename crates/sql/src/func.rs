//! Built-in functions: their signatures (for overload resolution and
//! parameter type inference) and their implementations.
//!
//! Signatures are data, so that resolution can follow PostgreSQL's rules
//! (exact matches first, then implicit casts, preferring float8 and text)
//! and so that `pg_sleep($1)` tells the client `$1` is a float8.
//! Functions that touch the session (settings, sleeping, signalling other
//! backends) go through the [`Host`](crate::Host); the backup functions
//! through the [`Maintenance`](crate::Maintenance) the server registers.

use tusk_common::sqlstate;
use tusk_common::PgError;

use crate::expr::Ctx;
use crate::numeric::Numeric;
use crate::sysinfo::{PrivilegeOn, Sys};

/// `pg_node_tree`: tusk stores an expression's SQL text in it.
const PG_NODE_TREE: Oid = 194;
use crate::host::{AdvisoryKey, AdvisoryOp};
use crate::types::{self, Oid};
use crate::value::{to_text, Value};

/// A built-in variadic "any" function called with `VARIADIC array`: the
/// array's elements become its trailing arguments at run time (a NULL
/// array: concat and concat_ws return NULL, format gets none), as
/// PostgreSQL's functions expand it themselves.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SpreadFn {
    Concat,
    ConcatWs,
    Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Func {
    /// See [`SpreadFn`].
    Spread(SpreadFn),
    /// `<type>send(value)`: the value's binary send form.
    Send,
    /// RowCompareExpr: the left row's items then the right's
    /// (bind/rowtype.rs).
    RowCmp(crate::expr::CmpOp),
    /// Field n (from 0) of a record (`(x).f`).
    Field(u16),
    /// The record (of the given field count) with field n replaced
    /// (UPDATE ... SET col.f = v); a NULL record becomes a row of NULLs.
    SetField(u16, u16),
    Version,
    Nextval,
    /// nextval of an identity column's DEFAULT: no privilege check on the
    /// sequence, as PostgreSQL's NextValueExpr (bind_default makes it).
    IdentityNextval,
    Currval,
    Lastval,
    Setval,
    Setval3,
    SerialSequence,
    CurrentSetting,
    CurrentSettingMissingOk,
    SetConfig,
    BackendPid,
    /// WHERE CURRENT OF's hidden test (cursor.rs): the ctid of the row a
    /// cursor is on, checked against the scanned table.
    CursorCtid,
    TxidCurrent,
    CurrentXactId,
    TxidCurrentIfAssigned,
    CurrentXactIdIfAssigned,
    XactStatus,
    TxidStatus,
    Sleep,
    Terminate,
    TerminateTimeout,
    Cancel,
    BackupStart,
    BackupStartFast,
    BackupStop,
    BackupStopWait,
    CurrentWalLsn,
    CurrentWalInsertLsn,
    CurrentWalFlushLsn,
    WalfileName,
    LogicalEmitMessage,
    AdvisoryUnlockAll,
    /// pg_advisory_lock and its family; true: the (int4, int4) key.
    Advisory(crate::host::AdvisoryFn, bool),
    /// pg_notify(channel, payload).
    Notify,
    NotificationQueueUsage,
    /// The channels of pg_listening_channels() as a text[], which the
    /// binder unnests (bind/array.rs).
    ListeningChannels,
    Now,
    StatementTimestamp,
    ClockTimestamp,
    /// random() / setseed() (crates/sql/src/random.rs).
    Random,
    SetSeed,
    LocalTimestamp,
    CurrentDate,
    CurrentDatabase,
    CurrentUser,
    SessionUser,
    CurrentSchema,
    Upper,
    Lower,
    CharLength,
    OctetLength,
    ByteaLength,
    Abs,
    RoundFloat,
    RoundNumeric,
    RoundNumericScale,
    TruncFloat,
    TruncNumeric,
    TruncNumericScale,
    Concat,
    /// `format(fmt, ...)`, `quote_ident`, `quote_literal`,
    /// `quote_nullable`: dynamic SQL's helpers (routine.rs).
    Format,
    QuoteIdent,
    QuoteLiteral,
    QuoteNullable,
    /// psql's `\df`: pg_get_function_result / _arguments,
    /// pg_function_is_visible over user routines (routine.rs).
    FunctionResult,
    FunctionArguments,
    FunctionIsVisible,
    /// pg_get_functiondef(oid) (fndef.rs).
    FunctionDef,
    /// pg_get_constraintdef(oid [, pretty]) (fkey.rs).
    ConstraintDef,
    /// pg_get_triggerdef(oid [, pretty]) over pg_trigger (trigger.rs).
    TriggerDef,
    /// `TG_ARGV[i]` inside a trigger function (trigger.rs).
    TgArgv,
    /// pg_trigger_depth() (trigger.rs).
    TriggerDepth,
    /// pg_get_viewdef(oid | name [, pretty]) over pg_rewrite (view.rs).
    ViewDef,
    /// pg_get_ruledef(oid [, pretty]) (rules.rs).
    RuleDef,
    /// pg_relation_is_updatable / pg_column_is_updatable
    /// (bind/view_dml.rs); true: the column form.
    IsUpdatable(bool),
    Repeat,
    Substr,
    SubstrLen,
    /// psql's system information functions (sysinfo.rs).
    Sys(crate::sysinfo::Sys),
    /// `ROW(a, b, ...)`: an anonymous record of its arguments (usertype.rs).
    Row,
    /// uuid, money and bit/varbit functions and operators (scalars.rs).
    Scalar(crate::scalars::Sc),
    /// Range and multirange functions and operators (ranges.rs).
    Range(crate::ranges::RangeFn),
    /// A text-search function or operator (tsearch.rs).
    Ts(crate::tsearch::TsFn),
    /// Math functions (mathfuncs.rs).
    Math(crate::mathfuncs::MathFn),
    /// String functions (strfuncs.rs).
    Str(crate::strfuncs::StrFn),
}

/// Argument list of a signature.
pub(crate) enum Args {
    Fixed(&'static [Oid]),
    /// Any number of arguments of any type (`concat`).
    VariadicAny,
}

pub(crate) struct Signature {
    pub name: &'static str,
    pub args: Args,
    /// `None`: the result has the type of the first argument (`abs`).
    pub ret: Option<Oid>,
    pub func: Func,
}

use types::{
    BOOL, BYTEA, DATE, FLOAT4, FLOAT8, INT2, INT4, INT8, NAME, NUMERIC, TEXT, TIMESTAMP,
    TIMESTAMPTZ, VOID,
};

const fn adv(op: AdvisoryOp, shared: bool, xact: bool) -> crate::host::AdvisoryFn {
    crate::host::AdvisoryFn { op, shared, xact }
}

const fn sig(name: &'static str, args: &'static [Oid], ret: Oid, func: Func) -> Signature {
    Signature {
        name,
        args: Args::Fixed(args),
        ret: Some(ret),
        func,
    }
}

/// Every built-in function. Order matters among overloads only as the last
/// tie-breaker.
pub(crate) static SIGNATURES: &[Signature] = &[
    sig("version", &[], TEXT, Func::Version),
    sig("current_setting", &[TEXT], TEXT, Func::CurrentSetting),
    sig(
        "current_setting",
        &[TEXT, BOOL],
        TEXT,
        Func::CurrentSettingMissingOk,
    ),
    sig("set_config", &[TEXT, TEXT, BOOL], TEXT, Func::SetConfig),
    sig("pg_backend_pid", &[], INT4, Func::BackendPid),
    sig(
        "tusk_cursor_ctid",
        &[TEXT, types::OID, TEXT],
        crate::catalog::SYSTEM_COLUMNS[0].1,
        Func::CursorCtid,
    ),
    // Sequences (sequence.rs): the name as text; a `'s'::regclass`
    // argument is read as its text by the binder.
    sig("nextval", &[TEXT], INT8, Func::Nextval),
    sig("currval", &[TEXT], INT8, Func::Currval),
    sig("lastval", &[], INT8, Func::Lastval),
    sig("setval", &[TEXT, INT8], INT8, Func::Setval),
    sig("setval", &[TEXT, INT8, BOOL], INT8, Func::Setval3),
    sig(
        "pg_get_serial_sequence",
        &[TEXT, TEXT],
        TEXT,
        Func::SerialSequence,
    ),
    sig("txid_current", &[], INT8, Func::TxidCurrent),
    sig("pg_current_xact_id", &[], types::XID8, Func::CurrentXactId),
    sig(
        "txid_current_if_assigned",
        &[],
        INT8,
        Func::TxidCurrentIfAssigned,
    ),
    sig(
        "pg_current_xact_id_if_assigned",
        &[],
        types::XID8,
        Func::CurrentXactIdIfAssigned,
    ),
    sig("pg_xact_status", &[types::XID8], TEXT, Func::XactStatus),
    sig("txid_status", &[INT8], TEXT, Func::TxidStatus),
    sig("pg_sleep", &[FLOAT8], VOID, Func::Sleep),
    sig("pg_terminate_backend", &[INT4], BOOL, Func::Terminate),
    sig(
        "pg_terminate_backend",
        &[INT4, INT8],
        BOOL,
        Func::TerminateTimeout,
    ),
    sig("pg_cancel_backend", &[INT4], BOOL, Func::Cancel),
    sig("pg_backup_start", &[TEXT], types::PG_LSN, Func::BackupStart),
    sig(
        "pg_backup_start",
        &[TEXT, BOOL],
        types::PG_LSN,
        Func::BackupStartFast,
    ),
    sig(
        "pg_current_wal_lsn",
        &[],
        types::PG_LSN,
        Func::CurrentWalLsn,
    ),
    sig(
        "pg_current_wal_insert_lsn",
        &[],
        types::PG_LSN,
        Func::CurrentWalInsertLsn,
    ),
    sig(
        "pg_current_wal_flush_lsn",
        &[],
        types::PG_LSN,
        Func::CurrentWalFlushLsn,
    ),
    sig("pg_walfile_name", &[types::PG_LSN], TEXT, Func::WalfileName),
    sig(
        "pg_logical_emit_message",
        &[BOOL, TEXT, TEXT],
        types::PG_LSN,
        Func::LogicalEmitMessage,
    ),
    sig(
        "pg_logical_emit_message",
        &[BOOL, TEXT, BYTEA],
        types::PG_LSN,
        Func::LogicalEmitMessage,
    ),
    sig("pg_backup_stop", &[], types::RECORD, Func::BackupStop),
    sig(
        "pg_backup_stop",
        &[BOOL],
        types::RECORD,
        Func::BackupStopWait,
    ),
    sig("pg_advisory_unlock_all", &[], VOID, Func::AdvisoryUnlockAll),
    sig(
        "pg_advisory_lock",
        &[INT8],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, false, false), false),
    ),
    sig(
        "pg_advisory_lock",
        &[INT4, INT4],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, false, false), true),
    ),
    sig(
        "pg_advisory_xact_lock",
        &[INT8],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, false, true), false),
    ),
    sig(
        "pg_advisory_xact_lock",
        &[INT4, INT4],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, false, true), true),
    ),
    sig(
        "pg_try_advisory_lock",
        &[INT8],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, false, false), false),
    ),
    sig(
        "pg_try_advisory_lock",
        &[INT4, INT4],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, false, false), true),
    ),
    sig(
        "pg_try_advisory_xact_lock",
        &[INT8],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, false, true), false),
    ),
    sig(
        "pg_try_advisory_xact_lock",
        &[INT4, INT4],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, false, true), true),
    ),
    sig(
        "pg_advisory_unlock",
        &[INT8],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Unlock, false, false), false),
    ),
    sig(
        "pg_advisory_unlock",
        &[INT4, INT4],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Unlock, false, false), true),
    ),
    sig(
        "pg_advisory_lock_shared",
        &[INT8],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, true, false), false),
    ),
    sig(
        "pg_advisory_lock_shared",
        &[INT4, INT4],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, true, false), true),
    ),
    sig(
        "pg_advisory_xact_lock_shared",
        &[INT8],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, true, true), false),
    ),
    sig(
        "pg_advisory_xact_lock_shared",
        &[INT4, INT4],
        VOID,
        Func::Advisory(adv(AdvisoryOp::Lock, true, true), true),
    ),
    sig(
        "pg_try_advisory_lock_shared",
        &[INT8],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, true, false), false),
    ),
    sig(
        "pg_try_advisory_lock_shared",
        &[INT4, INT4],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, true, false), true),
    ),
    sig(
        "pg_try_advisory_xact_lock_shared",
        &[INT8],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, true, true), false),
    ),
    sig(
        "pg_try_advisory_xact_lock_shared",
        &[INT4, INT4],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Try, true, true), true),
    ),
    sig(
        "pg_advisory_unlock_shared",
        &[INT8],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Unlock, true, false), false),
    ),
    sig(
        "pg_advisory_unlock_shared",
        &[INT4, INT4],
        BOOL,
        Func::Advisory(adv(AdvisoryOp::Unlock, true, false), true),
    ),
    sig("pg_notify", &[TEXT, TEXT], VOID, Func::Notify),
    sig(
        "pg_notification_queue_usage",
        &[],
        FLOAT8,
        Func::NotificationQueueUsage,
    ),
    sig("now", &[], TIMESTAMPTZ, Func::Now),
    sig("transaction_timestamp", &[], TIMESTAMPTZ, Func::Now),
    sig("current_timestamp", &[], TIMESTAMPTZ, Func::Now),
    sig(
        "statement_timestamp",
        &[],
        TIMESTAMPTZ,
        Func::StatementTimestamp,
    ),
    sig("clock_timestamp", &[], TIMESTAMPTZ, Func::ClockTimestamp),
    sig("random", &[], FLOAT8, Func::Random),
    sig("setseed", &[FLOAT8], VOID, Func::SetSeed),
    sig("localtimestamp", &[], TIMESTAMP, Func::LocalTimestamp),
    sig("current_date", &[], DATE, Func::CurrentDate),
    sig("current_database", &[], NAME, Func::CurrentDatabase),
    sig("current_catalog", &[], NAME, Func::CurrentDatabase),
    sig("current_user", &[], NAME, Func::CurrentUser),
    sig("current_role", &[], NAME, Func::CurrentUser),
    sig("user", &[], NAME, Func::CurrentUser),
    sig("session_user", &[], NAME, Func::SessionUser),
    sig("current_schema", &[], NAME, Func::CurrentSchema),
    sig("upper", &[TEXT], TEXT, Func::Upper),
    sig("lower", &[TEXT], TEXT, Func::Lower),
    sig("length", &[TEXT], INT4, Func::CharLength),
    sig("length", &[BYTEA], INT4, Func::ByteaLength),
    sig("char_length", &[TEXT], INT4, Func::CharLength),
    sig("character_length", &[TEXT], INT4, Func::CharLength),
    sig("octet_length", &[TEXT], INT4, Func::OctetLength),
    sig("octet_length", &[BYTEA], INT4, Func::ByteaLength),
    Signature {
        name: "abs",
        args: Args::Fixed(&[FLOAT8]),
        ret: None,
        func: Func::Abs,
    },
    Signature {
        name: "abs",
        args: Args::Fixed(&[FLOAT4]),
        ret: None,
        func: Func::Abs,
    },
    Signature {
        name: "abs",
        args: Args::Fixed(&[NUMERIC]),
        ret: None,
        func: Func::Abs,
    },
    Signature {
        name: "abs",
        args: Args::Fixed(&[INT8]),
        ret: None,
        func: Func::Abs,
    },
    Signature {
        name: "abs",
        args: Args::Fixed(&[INT4]),
        ret: None,
        func: Func::Abs,
    },
    Signature {
        name: "abs",
        args: Args::Fixed(&[INT2]),
        ret: None,
        func: Func::Abs,
    },
    sig("round", &[FLOAT8], FLOAT8, Func::RoundFloat),
    sig("round", &[NUMERIC], NUMERIC, Func::RoundNumeric),
    sig("round", &[NUMERIC, INT4], NUMERIC, Func::RoundNumericScale),
    sig("trunc", &[FLOAT8], FLOAT8, Func::TruncFloat),
    sig("trunc", &[NUMERIC], NUMERIC, Func::TruncNumeric),
    sig("trunc", &[NUMERIC, INT4], NUMERIC, Func::TruncNumericScale),
    Signature {
        name: "concat",
        args: Args::VariadicAny,
        ret: Some(TEXT),
        func: Func::Concat,
    },
    Signature {
        name: "format",
        args: Args::VariadicAny,
        ret: Some(TEXT),
        func: Func::Format,
    },
    sig("quote_ident", &[TEXT], TEXT, Func::QuoteIdent),
    sig("quote_literal", &[TEXT], TEXT, Func::QuoteLiteral),
    sig("quote_nullable", &[TEXT], TEXT, Func::QuoteNullable),
    sig(
        "pg_get_function_result",
        &[types::OID],
        TEXT,
        Func::FunctionResult,
    ),
    sig(
        "pg_get_function_arguments",
        &[types::OID],
        TEXT,
        Func::FunctionArguments,
    ),
    sig("pg_get_triggerdef", &[types::OID], TEXT, Func::TriggerDef),
    sig("pg_get_functiondef", &[types::OID], TEXT, Func::FunctionDef),
    sig("tusk_tg_argv", &[INT8], TEXT, Func::TgArgv),
    sig("pg_trigger_depth", &[], INT4, Func::TriggerDepth),
    // The text forms first: an unknown literal ('v') is a name.
    sig("pg_get_viewdef", &[TEXT], TEXT, Func::ViewDef),
    sig("pg_get_viewdef", &[TEXT, BOOL], TEXT, Func::ViewDef),
    sig("pg_get_viewdef", &[types::OID], TEXT, Func::ViewDef),
    sig("pg_get_viewdef", &[types::OID, BOOL], TEXT, Func::ViewDef),
    sig("pg_get_ruledef", &[types::OID], TEXT, Func::RuleDef),
    sig("pg_get_ruledef", &[types::OID, BOOL], TEXT, Func::RuleDef),
    sig(
        "pg_relation_is_updatable",
        &[types::REGCLASS, BOOL],
        INT4,
        Func::IsUpdatable(false),
    ),
    sig(
        "pg_column_is_updatable",
        &[types::REGCLASS, INT2, BOOL],
        BOOL,
        Func::IsUpdatable(true),
    ),
    sig(
        "pg_get_triggerdef",
        &[types::OID, BOOL],
        TEXT,
        Func::TriggerDef,
    ),
    sig(
        "pg_function_is_visible",
        &[types::OID],
        BOOL,
        Func::FunctionIsVisible,
    ),
    sig(
        "pg_get_constraintdef",
        &[types::OID],
        TEXT,
        Func::ConstraintDef,
    ),
    sig(
        "pg_get_constraintdef",
        &[types::OID, BOOL],
        TEXT,
        Func::ConstraintDef,
    ),
    sig("repeat", &[TEXT, INT4], TEXT, Func::Repeat),
    sig("substr", &[TEXT, INT4], TEXT, Func::Substr),
    sig("substr", &[TEXT, INT4, INT4], TEXT, Func::SubstrLen),
    sig("substring", &[TEXT, INT4], TEXT, Func::Substr),
    sig("substring", &[TEXT, INT4, INT4], TEXT, Func::SubstrLen),
    sig(
        "pg_table_is_visible",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::TableIsVisible),
    ),
    sig(
        "pg_type_is_visible",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::TypeIsVisible),
    ),
    sig(
        "pg_ts_dict_is_visible",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::TsIsVisible(crate::tsddl::Kind::Dictionary)),
    ),
    sig(
        "pg_ts_config_is_visible",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::TsIsVisible(crate::tsddl::Kind::Configuration)),
    ),
    sig(
        "pg_ts_template_is_visible",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::TsIsVisible(crate::tsddl::Kind::Template)),
    ),
    sig(
        "pg_ts_parser_is_visible",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::TsIsVisible(crate::tsddl::Kind::Parser)),
    ),
    sig(
        "pg_get_userbyid",
        &[types::OID],
        NAME,
        Func::Sys(Sys::UserById),
    ),
    sig(
        "array_to_string",
        &[1034, TEXT],
        TEXT,
        Func::Sys(Sys::AclToString),
    ),
    sig(
        "pg_stat_reset_subscription_stats",
        &[types::OID],
        VOID,
        Func::Sys(Sys::ResetSubscriptionStats),
    ),
    sig(
        "pg_has_role",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::HasRole),
    ),
    sig(
        "pg_encoding_to_char",
        &[INT4],
        NAME,
        Func::Sys(Sys::EncodingToChar),
    ),
    sig(
        "format_type",
        &[types::OID, INT4],
        TEXT,
        Func::Sys(Sys::FormatType),
    ),
    sig(
        "obj_description",
        &[types::OID, NAME],
        TEXT,
        Func::Sys(Sys::ObjDescription),
    ),
    sig(
        "obj_description",
        &[types::OID],
        TEXT,
        Func::Sys(Sys::ObjDescriptionOid),
    ),
    sig(
        "col_description",
        &[types::OID, INT4],
        TEXT,
        Func::Sys(Sys::ColDescription),
    ),
    sig(
        "pg_operator_is_visible",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::OperatorIsVisible),
    ),
    sig(
        "pg_describe_object",
        &[types::OID, types::OID, INT4],
        TEXT,
        Func::Sys(Sys::DescribeObject),
    ),
    sig(
        "shobj_description",
        &[types::OID, NAME],
        TEXT,
        Func::Sys(Sys::ShobjDescription),
    ),
    sig(
        "pg_tablespace_location",
        &[types::OID],
        TEXT,
        Func::Sys(Sys::TablespaceLocation),
    ),
    sig("pg_size_pretty", &[INT8], TEXT, Func::Sys(Sys::SizePretty)),
    sig(
        "pg_relation_size",
        &[types::REGCLASS],
        INT8,
        Func::Sys(Sys::RelationSize),
    ),
    sig(
        "pg_relation_size",
        &[types::REGCLASS, TEXT],
        INT8,
        Func::Sys(Sys::RelationSize),
    ),
    sig(
        "pg_table_size",
        &[types::REGCLASS],
        INT8,
        Func::Sys(Sys::TableSize),
    ),
    sig(
        "pg_indexes_size",
        &[types::REGCLASS],
        INT8,
        Func::Sys(Sys::IndexesSize),
    ),
    sig(
        "pg_total_relation_size",
        &[types::REGCLASS],
        INT8,
        Func::Sys(Sys::TotalRelationSize),
    ),
    sig(
        "pg_partition_root",
        &[types::REGCLASS],
        types::REGCLASS,
        Func::Sys(Sys::PartitionRoot),
    ),
    sig(
        "pg_get_partition_constraintdef",
        &[types::OID],
        TEXT,
        Func::Sys(Sys::PartConstraintDef),
    ),
    sig(
        "pg_get_partkeydef",
        &[types::OID],
        TEXT,
        Func::Sys(Sys::PartKeyDef),
    ),
    sig(
        "pg_my_temp_schema",
        &[],
        types::OID,
        Func::Sys(Sys::MyTempSchema),
    ),
    sig(
        "pg_is_other_temp_schema",
        &[types::OID],
        BOOL,
        Func::Sys(Sys::IsOtherTempSchema),
    ),
    sig(
        "pg_sequence_last_value",
        &[types::REGCLASS],
        INT8,
        Func::Sys(Sys::SequenceLastValue),
    ),
    sig(
        "has_column_privilege",
        &[TEXT, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[TEXT, INT2, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[types::OID, INT2, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[NAME, TEXT, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[NAME, TEXT, INT2, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[NAME, types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[NAME, types::OID, INT2, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[types::OID, TEXT, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[types::OID, TEXT, INT2, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[types::OID, types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_column_privilege",
        &[types::OID, types::OID, INT2, TEXT],
        BOOL,
        Func::Sys(Sys::ColumnPrivilege),
    ),
    sig(
        "has_type_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Type)),
    ),
    sig(
        "has_type_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Type)),
    ),
    sig(
        "has_type_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Type)),
    ),
    sig(
        "has_type_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Type)),
    ),
    sig(
        "has_type_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Type)),
    ),
    sig(
        "has_type_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Type)),
    ),
    sig(
        "pg_get_function_sqlbody",
        &[types::OID],
        TEXT,
        Func::Sys(Sys::FunctionSqlBody),
    ),
    sig(
        "has_table_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Table)),
    ),
    sig(
        "has_table_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Table)),
    ),
    sig(
        "has_table_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Table)),
    ),
    sig(
        "has_table_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Table)),
    ),
    sig(
        "has_table_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Table)),
    ),
    sig(
        "has_table_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Table)),
    ),
    sig(
        "has_sequence_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Sequence)),
    ),
    sig(
        "has_sequence_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Sequence)),
    ),
    sig(
        "has_sequence_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Sequence)),
    ),
    sig(
        "has_sequence_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Sequence)),
    ),
    sig(
        "has_sequence_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Sequence)),
    ),
    sig(
        "has_sequence_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Sequence)),
    ),
    sig(
        "has_schema_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Schema)),
    ),
    sig(
        "has_schema_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Schema)),
    ),
    sig(
        "has_schema_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Schema)),
    ),
    sig(
        "has_schema_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Schema)),
    ),
    sig(
        "has_schema_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Schema)),
    ),
    sig(
        "has_schema_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Schema)),
    ),
    sig(
        "has_function_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Function)),
    ),
    sig(
        "has_function_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Function)),
    ),
    sig(
        "has_function_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Function)),
    ),
    sig(
        "has_function_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Function)),
    ),
    sig(
        "has_function_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Function)),
    ),
    sig(
        "has_function_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Function)),
    ),
    sig(
        "has_foreign_data_wrapper_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignDataWrapper)),
    ),
    sig(
        "has_foreign_data_wrapper_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignDataWrapper)),
    ),
    sig(
        "has_foreign_data_wrapper_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignDataWrapper)),
    ),
    sig(
        "has_foreign_data_wrapper_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignDataWrapper)),
    ),
    sig(
        "has_foreign_data_wrapper_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignDataWrapper)),
    ),
    sig(
        "has_foreign_data_wrapper_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignDataWrapper)),
    ),
    sig(
        "has_server_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignServer)),
    ),
    sig(
        "has_server_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignServer)),
    ),
    sig(
        "has_server_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignServer)),
    ),
    sig(
        "has_server_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignServer)),
    ),
    sig(
        "has_server_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignServer)),
    ),
    sig(
        "has_server_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::ForeignServer)),
    ),
    sig(
        "has_database_privilege",
        &[TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Database)),
    ),
    sig(
        "has_database_privilege",
        &[types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Database)),
    ),
    sig(
        "has_database_privilege",
        &[NAME, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Database)),
    ),
    sig(
        "has_database_privilege",
        &[NAME, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Database)),
    ),
    sig(
        "has_database_privilege",
        &[types::OID, TEXT, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Database)),
    ),
    sig(
        "has_database_privilege",
        &[types::OID, types::OID, TEXT],
        BOOL,
        Func::Sys(Sys::Privilege(PrivilegeOn::Database)),
    ),
    sig(
        "pg_get_expr",
        &[PG_NODE_TREE, types::OID],
        TEXT,
        Func::Sys(Sys::GetExpr),
    ),
    sig(
        "pg_get_expr",
        &[PG_NODE_TREE, types::OID, BOOL],
        TEXT,
        Func::Sys(Sys::GetExpr),
    ),
    sig(
        "pg_get_indexdef",
        &[types::OID],
        TEXT,
        Func::Sys(Sys::IndexDef),
    ),
    sig(
        "pg_get_indexdef",
        &[types::OID, INT4, BOOL],
        TEXT,
        Func::Sys(Sys::IndexDef),
    ),
    sig(
        "pg_get_statisticsobjdef_columns",
        &[types::OID],
        TEXT,
        Func::Sys(Sys::StatisticsColumns),
    ),
    sig(
        "pg_relation_is_publishable",
        &[types::REGCLASS],
        BOOL,
        Func::Sys(Sys::RelationIsPublishable),
    ),
];

/// Every built-in signature: this file's, then the math and string
/// modules' tables.
pub(crate) fn all_signatures() -> impl Iterator<Item = &'static Signature> {
    SIGNATURES
        .iter()
        .chain(crate::mathfuncs::SIGNATURES.iter())
        .chain(crate::strfuncs::SIGNATURES.iter())
        .chain(crate::scalars::SIGNATURES.iter())
        .chain(crate::geometry::SIGNATURES.iter())
}

/// Aggregates PostgreSQL has that tusk does not run yet: named so the
/// error says "not supported" instead of "does not exist".
pub(crate) const UNSUPPORTED_AGGREGATES: &[&str] = &[
    "string_agg",
    "array_agg",
    "bool_and",
    "bool_or",
    "every",
    "json_agg",
    "stddev",
    "variance",
];

/// Functions whose SQL-standard spelling takes no parentheses.
pub(crate) fn is_niladic_keyword(name: &str) -> bool {
    matches!(
        name,
        "current_timestamp"
            | "current_user"
            | "session_user"
            | "user"
            | "current_role"
            | "current_catalog"
            | "current_schema"
            | "localtimestamp"
            | "current_date"
    )
}

/// Largest string `repeat`, `concat` and `||` will build (PostgreSQL's
/// 1 GB limit).
const MAX_ALLOC: usize = (1 << 30) - 1;

/// Refuse a string of `len` bytes before it is built: without this a
/// chain of `||` over `repeat` results grows without bound until the
/// kernel's OOM killer takes the backend, which the postmaster treats as
/// a crash of every session.
pub(crate) fn check_text_len(len: usize) -> Result<(), PgError> {
    if len > MAX_ALLOC {
        return Err(too_large());
    }
    Ok(())
}

fn text_arg(v: &Value) -> String {
    to_text(v).unwrap_or_default()
}

fn int_arg(v: &Value) -> i64 {
    match v {
        Value::Int2(i) => *i as i64,
        Value::Int4(i) => *i as i64,
        Value::Int8(i) => *i,
        _ => 0,
    }
}

fn current_schema(ctx: &Ctx<'_>) -> Value {
    // The first schema of search_path that exists; tusk has only these.
    let path = ctx
        .host
        .show("search_path")
        .unwrap_or_else(|_| "\"$user\", public".into());
    for part in path.split(',') {
        let p = part.trim().trim_matches('"');
        if matches!(p, "public" | "pg_catalog" | "information_schema") {
            return Value::Name(p.to_string());
        }
    }
    Value::Null
}

fn substr(s: &str, start: i64, len: Option<i64>) -> Result<String, PgError> {
    let end = match len {
        Some(l) if l < 0 => {
            return Err(PgError::error(
                tusk_common::sqlstate::SUBSTRING_ERROR,
                "negative substring length not allowed",
            ));
        }
        Some(l) => Some(start.saturating_add(l)),
        None => None,
    };
    let first = start.max(1);
    if let Some(e) = end {
        if e <= first {
            return Ok(String::new());
        }
    }
    let skip = (first - 1) as usize;
    let take = end.map(|e| (e - first) as usize).unwrap_or(usize::MAX);
    Ok(s.chars().skip(skip).take(take).collect())
}

/// Whether NULL in any argument makes the result NULL without a call
/// (PostgreSQL's STRICT).
fn is_strict(f: Func) -> bool {
    if let Func::Sys(s) = f {
        return crate::sysinfo::is_strict(s);
    }
    if let Func::Str(s) = f {
        return crate::strfuncs::is_strict(s);
    }
    if let Func::Range(r) = f {
        return crate::ranges::is_strict(r);
    }
    if let Func::Ts(_) = f {
        // tsearch::call answers NULL itself (setweight's filter array
        // is checked first).
        return false;
    }
    !matches!(
        f,
        Func::Concat
            | Func::Spread(_)
            | Func::CurrentSettingMissingOk
            | Func::SetConfig
            | Func::Format
            | Func::QuoteNullable
            | Func::Row
            | Func::RowCmp(_)
            | Func::SetField(..)
            | Func::Notify
    )
}

pub(crate) fn call(f: Func, args: Vec<Value>, ctx: &mut Ctx<'_>) -> Result<Value, PgError> {
    if is_strict(f) && args.iter().any(Value::is_null) {
        return Ok(Value::Null);
    }
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    Ok(match f {
        // Each field keeps its value's type (text for text-like values and
        // NULLs), which only record_send shows.
        Func::Row => Value::Record(
            args.into_iter()
                .map(|v| (crate::expr::value_oid(&v).unwrap_or(TEXT), v))
                .collect(),
        ),
        Func::RowCmp(op) => crate::bind::row_cmp(op, &args),
        Func::SetField(i, n) => {
            let mut it = args.into_iter();
            let mut fields = match it.next() {
                Some(Value::Record(f)) => f,
                _ => vec![(TEXT, Value::Null); n as usize],
            };
            if fields.len() < n as usize {
                fields.resize(n as usize, (TEXT, Value::Null));
            }
            let v = it.next().unwrap_or(Value::Null);
            if let Some(slot) = fields.get_mut(i as usize) {
                slot.0 = crate::expr::value_oid(&v).unwrap_or(slot.0);
                slot.1 = v;
            }
            Value::Record(fields)
        }
        Func::Field(i) => match args.into_iter().next() {
            Some(Value::Record(mut f)) if (i as usize) < f.len() => f.swap_remove(i as usize).1,
            _ => Value::Null,
        },
        Func::Version => Value::Text(format!(
            "PostgreSQL 15.0 (tusk {}) on x86_64-pc-linux-gnu, compiled by rustc, 64-bit",
            env!("CARGO_PKG_VERSION")
        )),
        Func::CurrentSetting => match ctx.host.current_setting(&text_arg(&a(0)), false)? {
            Some(s) => Value::Text(s),
            None => Value::Null,
        },
        Func::CurrentSettingMissingOk => {
            if a(0).is_null() {
                return Ok(Value::Null);
            }
            let missing_ok = matches!(a(1), Value::Bool(true));
            match ctx.host.current_setting(&text_arg(&a(0)), missing_ok)? {
                Some(s) => Value::Text(s),
                None => Value::Null,
            }
        }
        Func::SetConfig => {
            if a(0).is_null() {
                return Err(PgError::error(
                    sqlstate::NULL_VALUE_NOT_ALLOWED,
                    "SET requires parameter name",
                ));
            }
            let value = to_text(&a(1)).unwrap_or_default();
            let local = matches!(a(2), Value::Bool(true));
            Value::Text(ctx.host.set_config(&text_arg(&a(0)), &value, local)?)
        }
        Func::BackendPid => Value::Int4(ctx.host.identity().backend_pid),
        Func::CursorCtid => crate::cursor::current_ctid(ctx.host, &a(0), &a(1), &a(2))?,
        Func::Nextval
        | Func::IdentityNextval
        | Func::Currval
        | Func::Lastval
        | Func::Setval
        | Func::Setval3 => {
            use crate::sequence::SeqCall;
            let int = |v: Value| match v {
                Value::Int8(i) => i,
                Value::Int4(i) => i as i64,
                Value::Int2(i) => i as i64,
                _ => 0,
            };
            let call = match f {
                Func::Nextval => SeqCall::Nextval(text_arg(&a(0))),
                Func::IdentityNextval => SeqCall::IdentityNextval(text_arg(&a(0))),
                Func::Currval => SeqCall::Currval(text_arg(&a(0))),
                Func::Lastval => SeqCall::Lastval,
                _ => SeqCall::Setval {
                    seq: text_arg(&a(0)),
                    value: int(a(1)),
                    is_called: f == Func::Setval || a(2) == Value::Bool(true),
                },
            };
            ctx.host.sequence_call(call)?
        }
        Func::SerialSequence => {
            ctx.host
                .sequence_call(crate::sequence::SeqCall::SerialSequence {
                    table: text_arg(&a(0)),
                    column: text_arg(&a(1)),
                })?
        }
        // The xid is assigned on demand, as PostgreSQL's
        // GetTopTransactionId: txid_current() in a read-only transaction
        // gives it one.
        Func::TxidCurrent
        | Func::CurrentXactId
        | Func::TxidCurrentIfAssigned
        | Func::CurrentXactIdIfAssigned => {
            let assign = matches!(f, Func::TxidCurrent | Func::CurrentXactId);
            match ctx.host.current_xid(assign)? {
                None => Value::Null,
                Some(x) if matches!(f, Func::CurrentXactId | Func::CurrentXactIdIfAssigned) => {
                    Value::Xid8(x)
                }
                Some(x) => Value::Int8(x as i64),
            }
        }
        Func::XactStatus | Func::TxidStatus => {
            let xid = match a(0) {
                Value::Xid8(x) => x,
                Value::Int8(x) => x as u64,
                _ => return Ok(Value::Null),
            };
            match ctx.host.xid_status(xid)? {
                Some(s) => Value::Text(s.to_string()),
                None => Value::Null,
            }
        }
        Func::Sleep => {
            let secs = match a(0) {
                Value::Float8(f) => f,
                _ => 0.0,
            };
            ctx.host.sleep(secs)?;
            Value::Void
        }
        Func::Terminate => Value::Bool(ctx.host.terminate_backend(int_arg(&a(0)) as i32, 0)?),
        Func::TerminateTimeout => {
            let t = int_arg(&a(1));
            if t < 0 {
                return Err(PgError::error(
                    sqlstate::NUMERIC_VALUE_OUT_OF_RANGE,
                    "\"timeout\" must not be negative",
                ));
            }
            Value::Bool(ctx.host.terminate_backend(int_arg(&a(0)) as i32, t)?)
        }
        Func::Cancel => Value::Bool(ctx.host.cancel_backend(int_arg(&a(0)) as i32)?),
        Func::BackupStart | Func::BackupStartFast => {
            let label = match a(0) {
                Value::Null => return Ok(Value::Null),
                v => to_text(&v).unwrap_or_default(),
            };
            let fast = matches!(a(1), Value::Bool(true));
            Value::Lsn(maintenance(ctx)?.backup_start(&label, fast)?)
        }
        Func::BackupStop | Func::BackupStopWait => {
            let wait = !matches!(a(0), Value::Bool(false));
            let (lsn, label) = maintenance(ctx)?.backup_stop(wait)?;
            Value::Record(vec![
                (types::PG_LSN, Value::Lsn(lsn)),
                (TEXT, Value::Text(label)),
                (TEXT, Value::Text(String::new())),
            ])
        }
        Func::CurrentWalLsn => Value::Lsn(ctx.host.wal_positions()?.write),
        Func::CurrentWalInsertLsn => Value::Lsn(ctx.host.wal_positions()?.insert),
        Func::CurrentWalFlushLsn => Value::Lsn(ctx.host.wal_positions()?.flush),
        Func::WalfileName => {
            let Value::Lsn(lsn) = a(0) else {
                return Ok(Value::Null);
            };
            let w = ctx.host.wal_positions()?;
            // PostgreSQL's XLByteToPrevSeg: an LSN at a segment boundary
            // names the segment that ends there.
            let segno = lsn.saturating_sub(1) / w.segment_size;
            let per_id = 0x1_0000_0000u64 / w.segment_size;
            Value::Text(format!(
                "{:08X}{:08X}{:08X}",
                w.timeline,
                segno / per_id,
                segno % per_id
            ))
        }
        // A WAL record and nothing else (tusk has no logical decoding):
        // what tests and tools use to write WAL of a chosen size.
        Func::LogicalEmitMessage => {
            if a(0).is_null() || a(1).is_null() || a(2).is_null() {
                return Ok(Value::Null);
            }
            let content = match a(2) {
                Value::Bytea(b) => b,
                v => to_text(&v).unwrap_or_default().into_bytes(),
            };
            let transactional = matches!(a(0), Value::Bool(true));
            Value::Lsn(
                ctx.host
                    .emit_wal_message(transactional, &text_arg(&a(1)), &content)?,
            )
        }
        Func::AdvisoryUnlockAll => {
            ctx.host.advisory_unlock_all();
            Value::Void
        }
        Func::Advisory(af, pair) => {
            let key = if pair {
                AdvisoryKey::Pair(int_arg(&a(0)) as i32, int_arg(&a(1)) as i32)
            } else {
                AdvisoryKey::Int8(int_arg(&a(0)))
            };
            let got = ctx.host.advisory(af, key)?;
            match af.op {
                AdvisoryOp::Lock => Value::Void,
                AdvisoryOp::Try | AdvisoryOp::Unlock => Value::Bool(got),
            }
        }
        // Not strict, as PostgreSQL's: a NULL channel is an empty one, a
        // NULL payload an empty payload.
        Func::Notify => {
            let channel = to_text(&a(0)).unwrap_or_default();
            let payload = to_text(&a(1)).unwrap_or_default();
            crate::notify::check(&channel, &payload)?;
            ctx.host.notify(&channel, &payload)?;
            Value::Void
        }
        Func::NotificationQueueUsage => Value::Float8(ctx.host.notification_queue_usage()),
        Func::ListeningChannels => Value::Array(Box::new(tusk_types::array::Array::from_items(
            TEXT,
            ctx.host
                .listening_channels()
                .into_iter()
                .map(Value::Text)
                .collect(),
        ))),
        Func::Now => Value::TimestampTz(ctx.host.now()),
        Func::StatementTimestamp => Value::TimestampTz(ctx.host.statement_timestamp()),
        Func::ClockTimestamp => Value::TimestampTz(ctx.host.clock_timestamp()),
        Func::Random => Value::Float8(crate::random::random()),
        Func::SetSeed => match a(0) {
            Value::Float8(x) => {
                crate::random::setseed(x)?;
                Value::Void
            }
            _ => Value::Null,
        },
        Func::LocalTimestamp => Value::Timestamp(ctx.host.now()),
        Func::CurrentDate => Value::Date(crate::datetime::timestamp_to_date(ctx.host.now())),
        Func::CurrentDatabase => Value::Name(ctx.host.identity().database.clone()),
        Func::CurrentUser => Value::Name(ctx.host.identity().user.clone()),
        Func::SessionUser => Value::Name(ctx.host.identity().session_user.clone()),
        Func::CurrentSchema => current_schema(ctx),
        // Case mapping can lengthen a string ('ß' becomes "SS").
        Func::Upper => {
            let s = text_arg(&a(0)).to_uppercase();
            check_text_len(s.len())?;
            Value::Text(s)
        }
        Func::Lower => {
            let s = text_arg(&a(0)).to_lowercase();
            check_text_len(s.len())?;
            Value::Text(s)
        }
        Func::CharLength => {
            Value::Int4(text_arg(&a(0)).chars().count().min(i32::MAX as usize) as i32)
        }
        Func::OctetLength => Value::Int4(text_arg(&a(0)).len().min(i32::MAX as usize) as i32),
        Func::ByteaLength => match a(0) {
            Value::Bytea(b) => Value::Int4(b.len().min(i32::MAX as usize) as i32),
            other => Value::Int4(text_arg(&other).len().min(i32::MAX as usize) as i32),
        },
        Func::Abs => match a(0) {
            Value::Int2(i) => Value::Int2(
                i.checked_abs()
                    .ok_or_else(|| crate::cast::int_out_of_range(INT2))?,
            ),
            Value::Int4(i) => Value::Int4(
                i.checked_abs()
                    .ok_or_else(|| crate::cast::int_out_of_range(INT4))?,
            ),
            Value::Int8(i) => Value::Int8(
                i.checked_abs()
                    .ok_or_else(|| crate::cast::int_out_of_range(INT8))?,
            ),
            Value::Float4(f) => Value::Float4(f.abs()),
            Value::Float8(f) => Value::Float8(f.abs()),
            Value::Numeric(n) => Value::Numeric(n.abs()),
            other => other,
        },
        Func::RoundFloat => match a(0) {
            // PostgreSQL's round(float8) is rint(): ties go to even.
            Value::Float8(f) => Value::Float8(f.round_ties_even()),
            other => other,
        },
        Func::TruncFloat => match a(0) {
            Value::Float8(f) => Value::Float8(f.trunc()),
            other => other,
        },
        Func::RoundNumeric
        | Func::TruncNumeric
        | Func::RoundNumericScale
        | Func::TruncNumericScale => {
            let scale = if matches!(f, Func::RoundNumericScale | Func::TruncNumericScale) {
                int_arg(&a(1))
            } else {
                0
            };
            match a(0) {
                Value::Numeric(n) => Value::Numeric(
                    if matches!(f, Func::RoundNumeric | Func::RoundNumericScale) {
                        n.round(scale)
                    } else {
                        n.trunc(scale)
                    },
                ),
                other => other,
            }
        }
        Func::Concat => {
            let mut s = String::new();
            for v in &args {
                if let Some(t) = to_text(v) {
                    check_text_len(s.len() + t.len())?;
                    s.push_str(&t);
                }
            }
            Value::Text(s)
        }
        Func::Format => crate::routine::format(&args)?,
        Func::Send => match tusk_types::value::encode_binary(&a(0)) {
            Some(b) => Value::Bytea(b),
            None => {
                return Err(PgError::error(
                    sqlstate::FEATURE_NOT_SUPPORTED,
                    "no binary output function available for this value",
                ))
            }
        },
        Func::Spread(s) => {
            let mut args = args;
            match args.pop() {
                Some(Value::Array(arr)) => args.extend(arr.items),
                Some(Value::Null) | None if s != SpreadFn::Format => return Ok(Value::Null),
                _ => {}
            }
            let inner = match s {
                SpreadFn::Concat => Func::Concat,
                SpreadFn::ConcatWs => Func::Str(crate::strfuncs::StrFn::ConcatWs),
                SpreadFn::Format => Func::Format,
            };
            return call(inner, args, ctx);
        }
        Func::FunctionResult | Func::FunctionArguments | Func::FunctionIsVisible => {
            let Value::Oid(oid) = cast_oid(&a(0)) else {
                return Ok(Value::Null);
            };
            match ctx.host.routine_by_oid(oid)? {
                None => Value::Null,
                Some(d) => match f {
                    Func::FunctionResult => crate::routine::result_text(&d),
                    Func::FunctionArguments => Value::Text(crate::routine::arguments_text(&d)),
                    _ => Value::Bool(
                        ctx.host
                            .lookup_routines(None, &d.name)?
                            .iter()
                            .any(|r| r.oid == oid),
                    ),
                },
            }
        }
        Func::ConstraintDef => match cast_oid(&a(0)) {
            Value::Oid(oid) => {
                let pretty = args.len() > 1 && a(1) == Value::Bool(true);
                crate::fkey::constraint_def(ctx.host, oid, pretty)?
            }
            _ => Value::Null,
        },
        Func::TriggerDepth => Value::Int4(crate::trigger::depth()),
        Func::ViewDef => {
            let pretty = matches!(args.get(1), Some(Value::Bool(true)));
            crate::view::viewdef(ctx.host, &a(0), pretty)?
        }
        Func::RuleDef => match a(0) {
            Value::Null => Value::Null,
            v => {
                let pretty = matches!(args.get(1), Some(Value::Bool(true)));
                match cast_oid(&v) {
                    Value::Oid(o) => crate::rules::ruledef(ctx.host, o, pretty)?,
                    _ => Value::Null,
                }
            }
        },
        Func::IsUpdatable(col) => crate::bind::view_dml::is_updatable_fn(ctx.host, &args, col)?,
        Func::FunctionDef => crate::fndef::functiondef(&*ctx.host, &cast_oid(&a(0)))?,
        Func::TgArgv => match a(0) {
            Value::Int8(i) => crate::trigger::tg_argv(i),
            Value::Int4(i) => crate::trigger::tg_argv(i.into()),
            _ => Value::Null,
        },
        Func::TriggerDef => {
            let Value::Oid(oid) = cast_oid(&a(0)) else {
                return Ok(Value::Null);
            };
            let pretty = args.get(1) == Some(&Value::Bool(true));
            match ctx.host.trigger_by_oid(oid)? {
                None => Value::Null,
                Some((d, rel)) => {
                    let func = ctx.host.routine_by_oid(d.func)?;
                    Value::Text(crate::trigger::triggerdef(
                        &d,
                        &rel,
                        func.as_deref(),
                        pretty,
                    ))
                }
            }
        }
        Func::QuoteIdent => Value::Text(crate::routine::quote_ident(&text_arg(&a(0)))),
        Func::QuoteLiteral => Value::Text(crate::routine::quote_literal(&text_arg(&a(0)))),
        Func::QuoteNullable => match to_text(&a(0)) {
            Some(t) => Value::Text(crate::routine::quote_literal(&t)),
            None => Value::Text("NULL".into()),
        },
        Func::Repeat => {
            let s = text_arg(&a(0));
            let n = int_arg(&a(1)).max(0) as usize;
            if s.len().saturating_mul(n) > MAX_ALLOC {
                return Err(too_large());
            }
            Value::Text(s.repeat(n))
        }
        Func::Sys(s) => crate::sysinfo::call(s, &args, ctx.host)?,
        Func::Scalar(s) => crate::scalars::call(s, &args)?,
        Func::Math(m) => crate::mathfuncs::call(m, &args)?,
        Func::Range(r) => crate::ranges::call(r, &args)?,
        Func::Ts(t) => {
            let mut notices = Vec::new();
            let r = crate::tsearch::call(t, &args, ctx.host, &mut notices);
            for n in notices {
                ctx.host.notice(n);
            }
            r?
        }
        Func::Str(s) => crate::strfuncs::call(s, &args)?,
        Func::Substr => Value::Text(substr(&text_arg(&a(0)), int_arg(&a(1)), None)?),
        Func::SubstrLen => Value::Text(substr(
            &text_arg(&a(0)),
            int_arg(&a(1)),
            Some(int_arg(&a(2))),
        )?),
    })
}

fn too_large() -> PgError {
    PgError::error(
        sqlstate::PROGRAM_LIMIT_EXCEEDED,
        "requested length too large",
    )
}

/// `numeric` helper for the binder's constant folding of literals.
pub(crate) fn numeric_literal(text: &str) -> Option<Numeric> {
    Numeric::parse(text).ok()
}

/// The server's maintenance operations, or the 0A000 of a host without.
fn maintenance<'c>(ctx: &'c mut Ctx<'_>) -> Result<&'c mut dyn crate::Maintenance, PgError> {
    ctx.host
        .maintenance()
        .ok_or_else(|| crate::host::no_maintenance("online backups are not supported by this host"))
}

/// An oid argument (an int given where an oid is expected arrives cast).
fn cast_oid(v: &Value) -> Value {
    match v {
        Value::Oid(o) => Value::Oid(*o),
        Value::Int4(i) => Value::Oid(*i as u32),
        Value::Int8(i) => Value::Oid(*i as u32),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substr_follows_postgres() {
        assert_eq!(substr("hello", 2, None).unwrap(), "ello");
        assert_eq!(substr("hello", 2, Some(2)).unwrap(), "el");
        assert_eq!(substr("hello", -1, Some(3)).unwrap(), "h");
        assert_eq!(substr("hello", 0, Some(1)).unwrap(), "");
        assert_eq!(substr("hello", 10, None).unwrap(), "");
        assert_eq!(substr("hello", 1, Some(-1)).unwrap_err().code, "22011");
        assert_eq!(substr("hello", i64::MAX, Some(i64::MAX)).unwrap(), "");
    }
}
