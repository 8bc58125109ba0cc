//! The system catalog's tables: their PostgreSQL 15 OIDs and column layouts, the rows of built-in objects, and the bootstrap that writes them as heap files at `tusk init`.
//!
//! Why in storage: a catalog row is a heap tuple like any other (the codec
//! is [`crate::datum`]), and the bootstrap runs before any server process
//! exists, writing pages straight through the storage manager as
//! PostgreSQL's bootstrap mode does: no WAL is needed for files written
//! and fsynced before the initial checkpoint, because recovery never
//! starts before that checkpoint.
//!
//! What is PostgreSQL's and what is not:
//! - Table OIDs, column names, column order and types are PostgreSQL 15's
//!   (generated from a real PostgreSQL 15's pg_attribute), so the byte
//!   layout of every catalog row is PostgreSQL's.
//! - relfilenode = oid for every catalog (PostgreSQL maps pg_class,
//!   pg_attribute, pg_type, pg_proc, pg_database and pg_authid through
//!   pg_filenode.map instead; tusk has no relation mapper).
//! - Bootstrap rows carry xmin 1 (BootstrapTransactionId, committed to
//!   every snapshot) with the committed hint set, as PostgreSQL's
//!   bootstrap tuples do.
//! - Not yet: rows of pg_proc (built-in functions live in the sql crate),
//!   the composite row types of the catalogs in pg_type (reltype is the
//!   PostgreSQL OID, the pg_type row is missing), system-column rows of
//!   pg_attribute (ctid, xmin, ...), information_schema, the
//!   pg_database_owner role (public's owner is the bootstrap superuser).
//!
//! Who may call: `tusk init` ([`write_bootstrap`]); the column tables are
//! read by backends.

use std::path::Path;

use tusk_common::{sqlstate, PgError};
use tusk_types::types::{self, Oid};
use tusk_types::value::Value;

use crate::datum;
use crate::heaptuple::{self, ItemPointer, MAX_HEAP_TUPLES_PER_PAGE};
use crate::page::{self, AddAt, PageBuf, BLCKSZ};
use crate::smgr::{
    Fork, Md, RelFileLocator, Smgr, DEFAULTTABLESPACE_OID, DEFAULT_SEGMENT_BLOCKS,
    GLOBALTABLESPACE_OID,
};

/// One column of a catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatCol {
    pub name: &'static str,
    pub ty: Oid,
    pub not_null: bool,
}

const fn c(name: &'static str, ty: Oid, not_null: bool) -> CatCol {
    CatCol { name, ty, not_null }
}

/// One catalog table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catalog {
    pub oid: u32,
    pub name: &'static str,
    /// In `global/`, one copy for the cluster.
    pub shared: bool,
    /// pg_class.reltype: PostgreSQL's OID of the catalog's row type.
    pub rowtype: u32,
    pub cols: &'static [CatCol],
}

impl Catalog {
    /// Where the catalog's file is in database `db`.
    pub fn locator(&self, db: u32) -> RelFileLocator {
        if self.shared {
            RelFileLocator {
                spc: GLOBALTABLESPACE_OID,
                db: 0,
                rel: self.oid,
            }
        } else {
            RelFileLocator {
                spc: DEFAULTTABLESPACE_OID,
                db,
                rel: self.oid,
            }
        }
    }

    pub fn types(&self) -> Vec<Oid> {
        self.cols.iter().map(|c| c.ty).collect()
    }

    /// Index of column `name` (a programming error if missing).
    pub fn col(&self, name: &str) -> usize {
        self.cols
            .iter()
            .position(|c| c.name == name)
            .unwrap_or_else(|| panic!("{} has no column {name}", self.name))
    }
}

pub const PG_TYPE_OID: u32 = 1247;
pub const PG_ATTRIBUTE_OID: u32 = 1249;
pub const PG_PROC_OID: u32 = 1255;
pub const PG_CLASS_OID: u32 = 1259;
pub const PG_AUTHID_OID: u32 = 1260;
pub const PG_DATABASE_OID: u32 = 1262;
pub const PG_ATTRDEF_OID: u32 = 2604;
pub const PG_CONSTRAINT_OID: u32 = 2606;
pub const PG_DEPEND_OID: u32 = 2608;
pub const PG_DESCRIPTION_OID: u32 = 2609;
pub const PG_INDEX_OID: u32 = 2610;
pub const PG_NAMESPACE_OID: u32 = 2615;
/// pg_sequence: one row of parameters per sequence relation.
pub const PG_SEQUENCE_OID: u32 = 2224;
pub const PG_TRIGGER_OID: u32 = 2620;
/// pg_rewrite: one row per view (its `_RETURN` rule; crates/server/src/backend/tables/view.rs).
pub const PG_REWRITE_OID: u32 = 2618;

pub const PG_CATALOG_NAMESPACE: u32 = 11;
pub const PUBLIC_NAMESPACE: u32 = 2200;
/// The schema of toast tables (PostgreSQL's PG_TOAST_NAMESPACE).
pub const PG_TOAST_NAMESPACE: u32 = 99;
/// OIDs below this are built in (PostgreSQL's FirstNormalObjectId).
pub const FIRST_NORMAL_OBJECT_ID: u32 = 16384;
/// The heap access method (pg_am) row PostgreSQL gives OID 2.
pub const HEAP_TABLE_AM_OID: u32 = 2;
/// BootstrapTransactionId: the xmin of every bootstrap row.
pub const BOOTSTRAP_XID: u64 = 1;

// Generated from PostgreSQL 15's pg_attribute (attnum > 0, in order).
pub static PG_ATTRDEF_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("adrelid", 26, true),
    c("adnum", 21, true),
    c("adbin", 194, true),
];
pub static PG_ATTRIBUTE_COLS: &[CatCol] = &[
    c("attrelid", 26, true),
    c("attname", 19, true),
    c("atttypid", 26, true),
    c("attstattarget", 23, true),
    c("attlen", 21, true),
    c("attnum", 21, true),
    c("attndims", 23, true),
    c("attcacheoff", 23, true),
    c("atttypmod", 23, true),
    c("attbyval", 16, true),
    c("attalign", 18, true),
    c("attstorage", 18, true),
    c("attcompression", 18, true),
    c("attnotnull", 16, true),
    c("atthasdef", 16, true),
    c("atthasmissing", 16, true),
    c("attidentity", 18, true),
    c("attgenerated", 18, true),
    c("attisdropped", 16, true),
    c("attislocal", 16, true),
    c("attinhcount", 23, true),
    c("attcollation", 26, true),
    c("attacl", 1034, false),
    c("attoptions", 1009, false),
    c("attfdwoptions", 1009, false),
    c("attmissingval", 2277, false),
];
pub static PG_AUTHID_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("rolname", 19, true),
    c("rolsuper", 16, true),
    c("rolinherit", 16, true),
    c("rolcreaterole", 16, true),
    c("rolcreatedb", 16, true),
    c("rolcanlogin", 16, true),
    c("rolreplication", 16, true),
    c("rolbypassrls", 16, true),
    c("rolconnlimit", 23, true),
    c("rolpassword", 25, false),
    c("rolvaliduntil", 1184, false),
];
pub static PG_CLASS_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("relname", 19, true),
    c("relnamespace", 26, true),
    c("reltype", 26, true),
    c("reloftype", 26, true),
    c("relowner", 26, true),
    c("relam", 26, true),
    c("relfilenode", 26, true),
    c("reltablespace", 26, true),
    c("relpages", 23, true),
    c("reltuples", 700, true),
    c("relallvisible", 23, true),
    c("reltoastrelid", 26, true),
    c("relhasindex", 16, true),
    c("relisshared", 16, true),
    c("relpersistence", 18, true),
    c("relkind", 18, true),
    c("relnatts", 21, true),
    c("relchecks", 21, true),
    c("relhasrules", 16, true),
    c("relhastriggers", 16, true),
    c("relhassubclass", 16, true),
    c("relrowsecurity", 16, true),
    c("relforcerowsecurity", 16, true),
    c("relispopulated", 16, true),
    c("relreplident", 18, true),
    c("relispartition", 16, true),
    c("relrewrite", 26, true),
    c("relfrozenxid", 28, true),
    c("relminmxid", 28, true),
    c("relacl", 1034, false),
    c("reloptions", 1009, false),
    c("relpartbound", 194, false),
];
pub static PG_CONSTRAINT_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("conname", 19, true),
    c("connamespace", 26, true),
    c("contype", 18, true),
    c("condeferrable", 16, true),
    c("condeferred", 16, true),
    c("convalidated", 16, true),
    c("conrelid", 26, true),
    c("contypid", 26, true),
    c("conindid", 26, true),
    c("conparentid", 26, true),
    c("confrelid", 26, true),
    c("confupdtype", 18, true),
    c("confdeltype", 18, true),
    c("confmatchtype", 18, true),
    c("conislocal", 16, true),
    c("coninhcount", 23, true),
    c("connoinherit", 16, true),
    c("conkey", 1005, false),
    c("confkey", 1005, false),
    c("conpfeqop", 1028, false),
    c("conppeqop", 1028, false),
    c("conffeqop", 1028, false),
    c("confdelsetcols", 1005, false),
    c("conexclop", 1028, false),
    c("conbin", 194, false),
];
pub static PG_DATABASE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("datname", 19, true),
    c("datdba", 26, true),
    c("encoding", 23, true),
    c("datlocprovider", 18, true),
    c("datistemplate", 16, true),
    c("datallowconn", 16, true),
    c("datconnlimit", 23, true),
    c("datfrozenxid", 28, true),
    c("datminmxid", 28, true),
    c("dattablespace", 26, true),
    c("datcollate", 25, true),
    c("datctype", 25, true),
    c("daticulocale", 25, false),
    c("datcollversion", 25, false),
    c("datacl", 1034, false),
];
pub static PG_DEPEND_COLS: &[CatCol] = &[
    c("classid", 26, true),
    c("objid", 26, true),
    c("objsubid", 23, true),
    c("refclassid", 26, true),
    c("refobjid", 26, true),
    c("refobjsubid", 23, true),
    c("deptype", 18, true),
];
pub static PG_DESCRIPTION_COLS: &[CatCol] = &[
    c("objoid", 26, true),
    c("classoid", 26, true),
    c("objsubid", 23, true),
    c("description", 25, true),
];
pub static PG_INDEX_COLS: &[CatCol] = &[
    c("indexrelid", 26, true),
    c("indrelid", 26, true),
    c("indnatts", 21, true),
    c("indnkeyatts", 21, true),
    c("indisunique", 16, true),
    c("indnullsnotdistinct", 16, true),
    c("indisprimary", 16, true),
    c("indisexclusion", 16, true),
    c("indimmediate", 16, true),
    c("indisclustered", 16, true),
    c("indisvalid", 16, true),
    c("indcheckxmin", 16, true),
    c("indisready", 16, true),
    c("indislive", 16, true),
    c("indisreplident", 16, true),
    c("indkey", 22, true),
    c("indcollation", 30, true),
    c("indclass", 30, true),
    c("indoption", 22, true),
    c("indexprs", 194, false),
    c("indpred", 194, false),
];
pub static PG_SEQUENCE_COLS: &[CatCol] = &[
    c("seqrelid", 26, true),
    c("seqtypid", 26, true),
    c("seqstart", 20, true),
    c("seqincrement", 20, true),
    c("seqmax", 20, true),
    c("seqmin", 20, true),
    c("seqcache", 20, true),
    c("seqcycle", 16, true),
];
pub static PG_NAMESPACE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("nspname", 19, true),
    c("nspowner", 26, true),
    c("nspacl", 1034, false),
];
pub static PG_REWRITE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("rulename", 19, true),
    c("ev_class", 26, true),
    c("ev_type", 18, true),
    c("ev_enabled", 18, true),
    c("is_instead", 16, true),
    c("ev_qual", 194, true),
    c("ev_action", 194, true),
];
pub static PG_TRIGGER_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("tgrelid", 26, true),
    c("tgparentid", 26, true),
    c("tgname", 19, true),
    c("tgfoid", 26, true),
    c("tgtype", 21, true),
    c("tgenabled", 18, true),
    c("tgisinternal", 16, true),
    c("tgconstrrelid", 26, true),
    c("tgconstrindid", 26, true),
    c("tgconstraint", 26, true),
    c("tgdeferrable", 16, true),
    c("tginitdeferred", 16, true),
    c("tgnargs", 21, true),
    c("tgattr", 22, true),
    c("tgargs", 17, true),
    c("tgqual", 194, false),
    c("tgoldtable", 19, false),
    c("tgnewtable", 19, false),
];
pub static PG_PROC_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("proname", 19, true),
    c("pronamespace", 26, true),
    c("proowner", 26, true),
    c("prolang", 26, true),
    c("procost", 700, true),
    c("prorows", 700, true),
    c("provariadic", 26, true),
    c("prosupport", 24, true),
    c("prokind", 18, true),
    c("prosecdef", 16, true),
    c("proleakproof", 16, true),
    c("proisstrict", 16, true),
    c("proretset", 16, true),
    c("provolatile", 18, true),
    c("proparallel", 18, true),
    c("pronargs", 21, true),
    c("pronargdefaults", 21, true),
    c("prorettype", 26, true),
    c("proargtypes", 30, true),
    c("proallargtypes", 1028, false),
    c("proargmodes", 1002, false),
    c("proargnames", 1009, false),
    c("proargdefaults", 194, false),
    c("protrftypes", 1028, false),
    c("prosrc", 25, true),
    c("probin", 25, false),
    c("prosqlbody", 194, false),
    c("proconfig", 1009, false),
    c("proacl", 1034, false),
];
pub static PG_TYPE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("typname", 19, true),
    c("typnamespace", 26, true),
    c("typowner", 26, true),
    c("typlen", 21, true),
    c("typbyval", 16, true),
    c("typtype", 18, true),
    c("typcategory", 18, true),
    c("typispreferred", 16, true),
    c("typisdefined", 16, true),
    c("typdelim", 18, true),
    c("typrelid", 26, true),
    c("typsubscript", 24, true),
    c("typelem", 26, true),
    c("typarray", 26, true),
    c("typinput", 24, true),
    c("typoutput", 24, true),
    c("typreceive", 24, true),
    c("typsend", 24, true),
    c("typmodin", 24, true),
    c("typmodout", 24, true),
    c("typanalyze", 24, true),
    c("typalign", 18, true),
    c("typstorage", 18, true),
    c("typnotnull", 16, true),
    c("typbasetype", 26, true),
    c("typtypmod", 23, true),
    c("typndims", 23, true),
    c("typcollation", 26, true),
    c("typdefaultbin", 194, false),
    c("typdefault", 25, false),
    c("typacl", 1034, false),
];

// psql's catalogs (generated from PostgreSQL 15's pg_attribute like the
// ones above): the access methods, tablespaces, extensions and collations
// it names in \d output, and the catalogs it LEFT JOINs that stay empty
// in tusk (no row-level security, extended statistics, publications or
// foreign tables yet; pg_inherits holds inheritance and partitions).
pub const PG_AM_OID: u32 = 2601;
pub const PG_TABLESPACE_OID: u32 = 1213;
pub const PG_EXTENSION_OID: u32 = 3079;
pub const PG_COLLATION_OID: u32 = 3456;
pub const PG_INHERITS_OID: u32 = 2611;
/// pg_default_acl: ALTER DEFAULT PRIVILEGES' lists, one row per (role,
/// schema or 0, object type).
pub const PG_DEFAULT_ACL_OID: u32 = 826;
/// pg_language: internal, c, sql and plpgsql (tusk's plpgsql OID, which
/// pg_proc.prolang holds), lanacl for GRANT ... ON LANGUAGE.
pub const PG_LANGUAGE_OID: u32 = 2612;
/// plpgsql's pg_language OID in tusk.
pub const PLPGSQL_LANGUAGE_OID: u32 = 13_999;
/// pg_partitioned_table: the partition key of each partitioned table
/// (relkind 'p'); partexprs holds SQL text, as tusk's other stored
/// expressions do.
pub const PG_PARTITIONED_TABLE_OID: u32 = 3350;
pub const PG_POLICY_OID: u32 = 3256;
pub const PG_STATISTIC_EXT_OID: u32 = 3381;
pub const PG_PUBLICATION_REL_OID: u32 = 6106;
pub const PG_FOREIGN_TABLE_OID: u32 = 3118;
pub const PG_PUBLICATION_OID: u32 = 6104;
pub const PG_PUBLICATION_NAMESPACE_OID: u32 = 6237;
/// pg_enum: the labels of enum types (CREATE TYPE ... AS ENUM), one row
/// per label with its sort order.
pub const PG_ENUM_OID: u32 = 3501;
/// The plpgsql extension's OID in a PostgreSQL 15 initdb.
pub const PLPGSQL_EXTENSION_OID: u32 = 13559;
/// The text-search catalogs (tsddl.rs and tsearch.rs in the sql crate).
pub const PG_TS_DICT_OID: u32 = 3600;
pub const PG_TS_PARSER_OID: u32 = 3601;
pub const PG_TS_CONFIG_OID: u32 = 3602;
pub const PG_TS_CONFIG_MAP_OID: u32 = 3603;
pub const PG_TS_TEMPLATE_OID: u32 = 3764;
pub static PG_TS_DICT_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("dictname", 19, true),
    c("dictnamespace", 26, true),
    c("dictowner", 26, true),
    c("dicttemplate", 26, true),
    c("dictinitoption", 25, false),
];
pub static PG_TS_PARSER_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("prsname", 19, true),
    c("prsnamespace", 26, true),
    c("prsstart", 24, true),
    c("prstoken", 24, true),
    c("prsend", 24, true),
    c("prsheadline", 24, true),
    c("prslextype", 24, true),
];
pub static PG_TS_CONFIG_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("cfgname", 19, true),
    c("cfgnamespace", 26, true),
    c("cfgowner", 26, true),
    c("cfgparser", 26, true),
];
pub static PG_TS_CONFIG_MAP_COLS: &[CatCol] = &[
    c("mapcfg", 26, true),
    c("maptokentype", 23, true),
    c("mapseqno", 23, true),
    c("mapdict", 26, true),
];
pub static PG_TS_TEMPLATE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("tmplname", 19, true),
    c("tmplnamespace", 26, true),
    c("tmplinit", 24, true),
    c("tmpllexize", 24, true),
];
pub static PG_AM_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("amname", 19, true),
    c("amhandler", 24, true),
    c("amtype", 18, true),
];
pub static PG_TABLESPACE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("spcname", 19, true),
    c("spcowner", 26, true),
    c("spcacl", 1034, false),
    c("spcoptions", 1009, false),
];
pub static PG_EXTENSION_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("extname", 19, true),
    c("extowner", 26, true),
    c("extnamespace", 26, true),
    c("extrelocatable", 16, true),
    c("extversion", 25, true),
    c("extconfig", 1028, false),
    c("extcondition", 1009, false),
];
pub static PG_COLLATION_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("collname", 19, true),
    c("collnamespace", 26, true),
    c("collowner", 26, true),
    c("collprovider", 18, true),
    c("collisdeterministic", 16, true),
    c("collencoding", 23, true),
    c("collcollate", 25, false),
    c("collctype", 25, false),
    c("colliculocale", 25, false),
    c("collversion", 25, false),
];
pub static PG_LANGUAGE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("lanname", 19, true),
    c("lanowner", 26, true),
    c("lanispl", 16, true),
    c("lanpltrusted", 16, true),
    c("lanplcallfoid", 26, true),
    c("laninline", 26, true),
    c("lanvalidator", 26, true),
    c("lanacl", 1034, false),
];
pub static PG_DEFAULT_ACL_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("defaclrole", 26, true),
    c("defaclnamespace", 26, true),
    c("defaclobjtype", 18, true),
    c("defaclacl", 1034, true),
];
pub static PG_INHERITS_COLS: &[CatCol] = &[
    c("inhrelid", 26, true),
    c("inhparent", 26, true),
    c("inhseqno", 23, true),
    c("inhdetachpending", 16, true),
];
pub static PG_PARTITIONED_TABLE_COLS: &[CatCol] = &[
    c("partrelid", 26, true),
    c("partstrat", 18, true),
    c("partnatts", 21, true),
    c("partdefid", 26, true),
    c("partattrs", 22, true),
    c("partclass", 30, true),
    c("partcollation", 30, true),
    c("partexprs", 194, false),
];
pub static PG_POLICY_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("polname", 19, true),
    c("polrelid", 26, true),
    c("polcmd", 18, true),
    c("polpermissive", 16, true),
    c("polroles", 1028, true),
    c("polqual", 194, false),
    c("polwithcheck", 194, false),
];
pub static PG_STATISTIC_EXT_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("stxrelid", 26, true),
    c("stxname", 19, true),
    c("stxnamespace", 26, true),
    c("stxowner", 26, true),
    c("stxstattarget", 23, true),
    c("stxkeys", 22, true),
    c("stxkind", 1002, true),
    c("stxexprs", 194, false),
];
pub static PG_PUBLICATION_REL_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("prpubid", 26, true),
    c("prrelid", 26, true),
    c("prqual", 194, false),
    c("prattrs", 22, false),
];
pub static PG_FOREIGN_TABLE_COLS: &[CatCol] = &[
    c("ftrelid", 26, true),
    c("ftserver", 26, true),
    c("ftoptions", 1009, false),
];
pub static PG_PUBLICATION_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("pubname", 19, true),
    c("pubowner", 26, true),
    c("puballtables", 16, true),
    c("pubinsert", 16, true),
    c("pubupdate", 16, true),
    c("pubdelete", 16, true),
    c("pubtruncate", 16, true),
    c("pubviaroot", 16, true),
];
/// pg_range: the subtype and multirange of each range type (built-in and
/// CREATE TYPE ... AS RANGE).
pub const PG_RANGE_OID: u32 = 3541;
pub static PG_RANGE_COLS: &[CatCol] = &[
    c("rngtypid", 26, true),
    c("rngsubtype", 26, true),
    c("rngmultitypid", 26, true),
    c("rngcollation", 26, true),
    c("rngsubopc", 26, true),
    c("rngcanonical", 24, true),
    c("rngsubdiff", 24, true),
];
pub static PG_ENUM_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("enumtypid", 26, true),
    c("enumsortorder", 700, true),
    c("enumlabel", 19, true),
];
pub static PG_PUBLICATION_NAMESPACE_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("pnpubid", 26, true),
    c("pnnspid", 26, true),
];
/// SQL/MED (crates/sql/src/fdw.rs): foreign-data wrappers, foreign
/// servers and user mappings; options are `name=value` text arrays.
pub const PG_FOREIGN_DATA_WRAPPER_OID: u32 = 2328;
pub const PG_FOREIGN_SERVER_OID: u32 = 1417;
pub const PG_USER_MAPPING_OID: u32 = 1418;
/// pg_subscription: shared, as in PostgreSQL (subdbid says whose).
pub const PG_SUBSCRIPTION_OID: u32 = 6100;
pub static PG_FOREIGN_DATA_WRAPPER_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("fdwname", 19, true),
    c("fdwowner", 26, true),
    c("fdwhandler", 26, true),
    c("fdwvalidator", 26, true),
    c("fdwacl", 1034, false),
    c("fdwoptions", 1009, false),
];
pub static PG_FOREIGN_SERVER_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("srvname", 19, true),
    c("srvowner", 26, true),
    c("srvfdw", 26, true),
    c("srvtype", 25, false),
    c("srvversion", 25, false),
    c("srvacl", 1034, false),
    c("srvoptions", 1009, false),
];
pub static PG_USER_MAPPING_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("umuser", 26, true),
    c("umserver", 26, true),
    c("umoptions", 1009, false),
];
pub static PG_SUBSCRIPTION_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("subdbid", 26, true),
    c("subskiplsn", 3220, true),
    c("subname", 19, true),
    c("subowner", 26, true),
    c("subenabled", 16, true),
    c("subbinary", 16, true),
    c("substream", 16, true),
    c("subtwophasestate", 18, true),
    c("subdisableonerr", 16, true),
    c("subconninfo", 25, true),
    c("subslotname", 19, false),
    c("subsynccommit", 25, true),
    c("subpublications", 1009, true),
];

/// User-defined operators and casts (crates/sql/src/operator.rs): the
/// built-in ones live in the sql crate's tables and have no rows, as
/// built-in functions have no pg_proc rows.
pub const PG_OPERATOR_OID: u32 = 2617;
pub const PG_CAST_OID: u32 = 2605;
pub static PG_OPERATOR_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("oprname", 19, true),
    c("oprnamespace", 26, true),
    c("oprowner", 26, true),
    c("oprkind", 18, true),
    c("oprcanmerge", 16, true),
    c("oprcanhash", 16, true),
    c("oprleft", 26, true),
    c("oprright", 26, true),
    c("oprresult", 26, true),
    c("oprcom", 26, true),
    c("oprnegate", 26, true),
    c("oprcode", 24, true),
    c("oprrest", 24, true),
    c("oprjoin", 24, true),
];
pub static PG_CAST_COLS: &[CatCol] = &[
    c("oid", 26, true),
    c("castsource", 26, true),
    c("casttarget", 26, true),
    c("castfunc", 26, true),
    c("castcontext", 18, true),
    c("castmethod", 18, true),
];

/// Every catalog tusk has (in OID order up to pg_trigger; psql's
/// catalogs after it).
pub static CATALOGS: &[Catalog] = &[
    Catalog {
        oid: PG_TYPE_OID,
        name: "pg_type",
        shared: false,
        rowtype: 71,
        cols: PG_TYPE_COLS,
    },
    Catalog {
        oid: PG_ATTRIBUTE_OID,
        name: "pg_attribute",
        shared: false,
        rowtype: 75,
        cols: PG_ATTRIBUTE_COLS,
    },
    Catalog {
        oid: PG_PROC_OID,
        name: "pg_proc",
        shared: false,
        rowtype: 81,
        cols: PG_PROC_COLS,
    },
    Catalog {
        oid: PG_CLASS_OID,
        name: "pg_class",
        shared: false,
        rowtype: 83,
        cols: PG_CLASS_COLS,
    },
    Catalog {
        oid: PG_AUTHID_OID,
        name: "pg_authid",
        shared: true,
        rowtype: 2842,
        cols: PG_AUTHID_COLS,
    },
    Catalog {
        oid: PG_DATABASE_OID,
        name: "pg_database",
        shared: true,
        rowtype: 1248,
        cols: PG_DATABASE_COLS,
    },
    Catalog {
        oid: PG_ATTRDEF_OID,
        name: "pg_attrdef",
        shared: false,
        rowtype: 10001,
        cols: PG_ATTRDEF_COLS,
    },
    Catalog {
        oid: PG_CONSTRAINT_OID,
        name: "pg_constraint",
        shared: false,
        rowtype: 10003,
        cols: PG_CONSTRAINT_COLS,
    },
    Catalog {
        oid: PG_DEPEND_OID,
        name: "pg_depend",
        shared: false,
        rowtype: 10051,
        cols: PG_DEPEND_COLS,
    },
    Catalog {
        oid: PG_DESCRIPTION_OID,
        name: "pg_description",
        shared: false,
        rowtype: 10041,
        cols: PG_DESCRIPTION_COLS,
    },
    Catalog {
        oid: PG_INDEX_OID,
        name: "pg_index",
        shared: false,
        rowtype: 10007,
        cols: PG_INDEX_COLS,
    },
    Catalog {
        oid: PG_NAMESPACE_OID,
        name: "pg_namespace",
        shared: false,
        rowtype: 10047,
        cols: PG_NAMESPACE_COLS,
    },
    Catalog {
        oid: PG_SEQUENCE_OID,
        name: "pg_sequence",
        shared: false,
        rowtype: 10105,
        cols: PG_SEQUENCE_COLS,
    },
    Catalog {
        oid: PG_REWRITE_OID,
        name: "pg_rewrite",
        shared: false,
        rowtype: 10035,
        cols: PG_REWRITE_COLS,
    },
    Catalog {
        oid: PG_TRIGGER_OID,
        name: "pg_trigger",
        shared: false,
        rowtype: 10037,
        cols: PG_TRIGGER_COLS,
    },
    Catalog {
        oid: PG_AM_OID,
        name: "pg_am",
        shared: false,
        rowtype: 10015,
        cols: PG_AM_COLS,
    },
    Catalog {
        oid: PG_TABLESPACE_OID,
        name: "pg_tablespace",
        shared: true,
        rowtype: 10056,
        cols: PG_TABLESPACE_COLS,
    },
    Catalog {
        oid: PG_EXTENSION_OID,
        name: "pg_extension",
        shared: false,
        rowtype: 10074,
        cols: PG_EXTENSION_COLS,
    },
    Catalog {
        oid: PG_COLLATION_OID,
        name: "pg_collation",
        shared: false,
        rowtype: 10095,
        cols: PG_COLLATION_COLS,
    },
    Catalog {
        oid: PG_LANGUAGE_OID,
        name: "pg_language",
        shared: false,
        rowtype: 10021,
        cols: PG_LANGUAGE_COLS,
    },
    Catalog {
        oid: PG_DEFAULT_ACL_OID,
        name: "pg_default_acl",
        shared: false,
        rowtype: 10088,
        cols: PG_DEFAULT_ACL_COLS,
    },
    Catalog {
        oid: PG_INHERITS_OID,
        name: "pg_inherits",
        shared: false,
        rowtype: 10005,
        cols: PG_INHERITS_COLS,
    },
    Catalog {
        oid: PG_PARTITIONED_TABLE_OID,
        name: "pg_partitioned_table",
        shared: false,
        rowtype: 10099,
        cols: PG_PARTITIONED_TABLE_COLS,
    },
    Catalog {
        oid: PG_POLICY_OID,
        name: "pg_policy",
        shared: false,
        rowtype: 10084,
        cols: PG_POLICY_COLS,
    },
    Catalog {
        oid: PG_STATISTIC_EXT_OID,
        name: "pg_statistic_ext",
        shared: false,
        rowtype: 10031,
        cols: PG_STATISTIC_EXT_COLS,
    },
    Catalog {
        oid: PG_PUBLICATION_REL_OID,
        name: "pg_publication_rel",
        shared: false,
        rowtype: 10111,
        cols: PG_PUBLICATION_REL_COLS,
    },
    Catalog {
        oid: PG_FOREIGN_TABLE_OID,
        name: "pg_foreign_table",
        shared: false,
        rowtype: 10082,
        cols: PG_FOREIGN_TABLE_COLS,
    },
    Catalog {
        oid: PG_PUBLICATION_OID,
        name: "pg_publication",
        shared: false,
        rowtype: 10107,
        cols: PG_PUBLICATION_COLS,
    },
    Catalog {
        oid: PG_PUBLICATION_NAMESPACE_OID,
        name: "pg_publication_namespace",
        shared: false,
        rowtype: 10109,
        cols: PG_PUBLICATION_NAMESPACE_COLS,
    },
    Catalog {
        oid: PG_ENUM_OID,
        name: "pg_enum",
        shared: false,
        rowtype: 10045,
        cols: PG_ENUM_COLS,
    },
    Catalog {
        oid: PG_RANGE_OID,
        name: "pg_range",
        shared: false,
        rowtype: 10101,
        cols: PG_RANGE_COLS,
    },
    Catalog {
        oid: PG_FOREIGN_DATA_WRAPPER_OID,
        name: "pg_foreign_data_wrapper",
        shared: false,
        rowtype: 10076,
        cols: PG_FOREIGN_DATA_WRAPPER_COLS,
    },
    Catalog {
        oid: PG_FOREIGN_SERVER_OID,
        name: "pg_foreign_server",
        shared: false,
        rowtype: 10078,
        cols: PG_FOREIGN_SERVER_COLS,
    },
    Catalog {
        oid: PG_USER_MAPPING_OID,
        name: "pg_user_mapping",
        shared: false,
        rowtype: 10080,
        cols: PG_USER_MAPPING_COLS,
    },
    Catalog {
        oid: PG_SUBSCRIPTION_OID,
        name: "pg_subscription",
        shared: true,
        rowtype: 6101,
        cols: PG_SUBSCRIPTION_COLS,
    },
    Catalog {
        oid: PG_TS_PARSER_OID,
        name: "pg_ts_parser",
        shared: false,
        rowtype: 10070,
        cols: PG_TS_PARSER_COLS,
    },
    Catalog {
        oid: PG_TS_TEMPLATE_OID,
        name: "pg_ts_template",
        shared: false,
        rowtype: 10072,
        cols: PG_TS_TEMPLATE_COLS,
    },
    Catalog {
        oid: PG_TS_DICT_OID,
        name: "pg_ts_dict",
        shared: false,
        rowtype: 10068,
        cols: PG_TS_DICT_COLS,
    },
    Catalog {
        oid: PG_TS_CONFIG_OID,
        name: "pg_ts_config",
        shared: false,
        rowtype: 10064,
        cols: PG_TS_CONFIG_COLS,
    },
    Catalog {
        oid: PG_TS_CONFIG_MAP_OID,
        name: "pg_ts_config_map",
        shared: false,
        rowtype: 10066,
        cols: PG_TS_CONFIG_MAP_COLS,
    },
    Catalog {
        oid: PG_OPERATOR_OID,
        name: "pg_operator",
        shared: false,
        rowtype: 10009,
        cols: PG_OPERATOR_COLS,
    },
    Catalog {
        oid: PG_CAST_OID,
        name: "pg_cast",
        shared: false,
        rowtype: 10043,
        cols: PG_CAST_COLS,
    },
];

/// The catalog with this OID.
pub fn catalog(oid: u32) -> &'static Catalog {
    CATALOGS
        .iter()
        .find(|c| c.oid == oid)
        .unwrap_or_else(|| panic!("no catalog {oid}"))
}

/// One index on a system catalog (PostgreSQL 15's OID, name and key
/// columns; relfilenode = OID like the catalogs).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CatIndex {
    pub oid: u32,
    pub name: &'static str,
    /// The catalog it indexes.
    pub heap: u32,
    /// Key column names of the catalog, in key order.
    pub cols: &'static [&'static str],
}

/// The B-tree access method's pg_am OID.
pub const BTREE_AM_OID: u32 = 403;

const fn ci(oid: u32, name: &'static str, heap: u32, cols: &'static [&'static str]) -> CatIndex {
    CatIndex {
        oid,
        name,
        heap,
        cols,
    }
}

/// The catalog indexes tusk keeps, by catalog: PostgreSQL 15's unique
/// indexes on the columns lookups search by (issue 9 item 7). All are
/// unique in PostgreSQL and flagged so in pg_index; tusk's B-tree does
/// not run the unique check on them (the DDL code checks names and OIDs
/// before inserting, through these indexes), so each lookup re-checks
/// the key on the heap tuple it fetches. Shared catalogs (pg_authid,
/// pg_database) have none yet.
pub static CATALOG_INDEXES: &[CatIndex] = &[
    ci(2703, "pg_type_oid_index", PG_TYPE_OID, &["oid"]),
    ci(3502, "pg_enum_oid_index", PG_ENUM_OID, &["oid"]),
    ci(3542, "pg_range_rngtypid_index", PG_RANGE_OID, &["rngtypid"]),
    ci(
        2704,
        "pg_type_typname_nsp_index",
        PG_TYPE_OID,
        &["typname", "typnamespace"],
    ),
    ci(
        2658,
        "pg_attribute_relid_attnam_index",
        PG_ATTRIBUTE_OID,
        &["attrelid", "attname"],
    ),
    ci(
        2659,
        "pg_attribute_relid_attnum_index",
        PG_ATTRIBUTE_OID,
        &["attrelid", "attnum"],
    ),
    ci(2690, "pg_proc_oid_index", PG_PROC_OID, &["oid"]),
    ci(2662, "pg_class_oid_index", PG_CLASS_OID, &["oid"]),
    ci(
        2663,
        "pg_class_relname_nsp_index",
        PG_CLASS_OID,
        &["relname", "relnamespace"],
    ),
    ci(
        3455,
        "pg_class_tblspc_relfilenode_index",
        PG_CLASS_OID,
        &["reltablespace", "relfilenode"],
    ),
    ci(
        2656,
        "pg_attrdef_adrelid_adnum_index",
        PG_ATTRDEF_OID,
        &["adrelid", "adnum"],
    ),
    ci(2657, "pg_attrdef_oid_index", PG_ATTRDEF_OID, &["oid"]),
    ci(
        2665,
        "pg_constraint_conrelid_contypid_conname_index",
        PG_CONSTRAINT_OID,
        &["conrelid", "contypid", "conname"],
    ),
    ci(2667, "pg_constraint_oid_index", PG_CONSTRAINT_OID, &["oid"]),
    ci(
        2673,
        "pg_depend_depender_index",
        PG_DEPEND_OID,
        &["classid", "objid", "objsubid"],
    ),
    ci(
        2674,
        "pg_depend_reference_index",
        PG_DEPEND_OID,
        &["refclassid", "refobjid", "refobjsubid"],
    ),
    ci(
        2675,
        "pg_description_o_c_o_index",
        PG_DESCRIPTION_OID,
        &["objoid", "classoid", "objsubid"],
    ),
    ci(2678, "pg_index_indrelid_index", PG_INDEX_OID, &["indrelid"]),
    ci(
        2679,
        "pg_index_indexrelid_index",
        PG_INDEX_OID,
        &["indexrelid"],
    ),
    ci(
        2684,
        "pg_namespace_nspname_index",
        PG_NAMESPACE_OID,
        &["nspname"],
    ),
    ci(2685, "pg_namespace_oid_index", PG_NAMESPACE_OID, &["oid"]),
    ci(
        5002,
        "pg_sequence_seqrelid_index",
        PG_SEQUENCE_OID,
        &["seqrelid"],
    ),
    ci(2699, "pg_trigger_oid_index", PG_TRIGGER_OID, &["oid"]),
    ci(
        2701,
        "pg_trigger_tgrelid_tgname_index",
        PG_TRIGGER_OID,
        &["tgrelid", "tgname"],
    ),
];

pub const PG_CLASS_OID_INDEX: u32 = 2662;
pub const PG_TYPE_OID_INDEX: u32 = 2703;
pub const PG_TYPE_TYPNAME_NSP_INDEX: u32 = 2704;
pub const PG_CLASS_RELNAME_NSP_INDEX: u32 = 2663;
pub const PG_CLASS_TBLSPC_RELFILENODE_INDEX: u32 = 3455;
pub const PG_ATTRIBUTE_RELID_ATTNAM_INDEX: u32 = 2658;
pub const PG_ATTRIBUTE_RELID_ATTNUM_INDEX: u32 = 2659;
pub const PG_ATTRDEF_ADRELID_ADNUM_INDEX: u32 = 2656;
pub const PG_CONSTRAINT_CONRELID_CONTYPID_CONNAME_INDEX: u32 = 2665;
pub const PG_DEPEND_DEPENDER_INDEX: u32 = 2673;
pub const PG_DEPEND_REFERENCE_INDEX: u32 = 2674;
pub const PG_INDEX_INDRELID_INDEX: u32 = 2678;
pub const PG_INDEX_INDEXRELID_INDEX: u32 = 2679;
pub const PG_NAMESPACE_NSPNAME_INDEX: u32 = 2684;
pub const PG_NAMESPACE_OID_INDEX: u32 = 2685;
pub const PG_SEQUENCE_SEQRELID_INDEX: u32 = 5002;
pub const PG_TRIGGER_TGRELID_TGNAME_INDEX: u32 = 2701;

/// The index on column `oid` alone of catalog `heap`, if it has one.
pub fn oid_index_of(heap: u32) -> Option<u32> {
    indexes_of_catalog(heap)
        .find(|i| i.cols == ["oid"])
        .map(|i| i.oid)
}

/// The catalog index with this OID.
pub fn catalog_index(oid: u32) -> &'static CatIndex {
    CATALOG_INDEXES
        .iter()
        .find(|i| i.oid == oid)
        .unwrap_or_else(|| panic!("no catalog index {oid}"))
}

/// The indexes of catalog `heap`.
pub fn indexes_of_catalog(heap: u32) -> impl Iterator<Item = &'static CatIndex> {
    CATALOG_INDEXES.iter().filter(move |i| i.heap == heap)
}

impl CatIndex {
    /// Where the index's file is in database `db` (catalogs with indexes
    /// are per database).
    pub fn locator(&self, db: u32) -> RelFileLocator {
        RelFileLocator {
            spc: DEFAULTTABLESPACE_OID,
            db,
            rel: self.oid,
        }
    }

    /// (column position in the catalog, type) of each key column.
    fn key_cols(&self) -> impl Iterator<Item = (usize, Oid)> + '_ {
        let cat = catalog(self.heap);
        self.cols.iter().map(move |n| {
            let i = cat.col(n);
            (i, cat.cols[i].ty)
        })
    }

    /// The B-tree's key columns: `name` compares as text in byte order
    /// (the C collation PostgreSQL's name_ops uses), stored as a varlena
    /// rather than PostgreSQL's 64 bytes.
    pub fn key_columns(&self) -> Vec<crate::nbtree::KeyColumn> {
        use crate::nbtree::KeyType;
        self.key_cols()
            .zip(self.cols)
            .map(|((_, ty), n)| crate::nbtree::KeyColumn {
                name: n.to_string(),
                ty: match ty {
                    types::INT2 => KeyType::Int2,
                    types::INT4 => KeyType::Int4,
                    types::NAME => KeyType::Text,
                    _ => KeyType::Oid,
                },
            })
            .collect()
    }

    /// The index key of catalog row `row`.
    pub fn key_of(&self, row: &[Value]) -> Vec<Value> {
        self.key_cols().map(|(i, _)| key_value(&row[i])).collect()
    }

    /// The pg_class row of the index.
    pub fn class_row(&self) -> Vec<Value> {
        let c = catalog(PG_CLASS_OID);
        let mut r = class_row(
            self.oid,
            self.name,
            PG_CATALOG_NAMESPACE,
            0,
            self.oid,
            false,
            self.cols.len() as i16,
            b'n',
        );
        r[c.col("relkind")] = Value::Char(b'i');
        r[c.col("relam")] = Value::Oid(BTREE_AM_OID);
        r
    }

    /// The pg_attribute rows of the index's columns.
    pub fn attribute_rows(&self) -> Vec<Vec<Value>> {
        self.key_cols()
            .zip(self.cols)
            .enumerate()
            .map(|(n, ((_, ty), name))| {
                attribute_row(self.oid, n as i16 + 1, name, ty, -1, false, false)
            })
            .collect()
    }

    /// The pg_index row of the index (PostgreSQL's: unique, valid, keys
    /// as attnums with their default opclasses).
    pub fn index_row(&self) -> Vec<Value> {
        let keys: Vec<(usize, Oid)> = self.key_cols().collect();
        let join = |f: &dyn Fn(&(usize, Oid)) -> String| {
            Value::Text(keys.iter().map(f).collect::<Vec<_>>().join(" "))
        };
        row(
            catalog(PG_INDEX_OID),
            &[
                ("indexrelid", Value::Oid(self.oid)),
                ("indrelid", Value::Oid(self.heap)),
                ("indnatts", Value::Int2(keys.len() as i16)),
                ("indnkeyatts", Value::Int2(keys.len() as i16)),
                ("indisunique", Value::Bool(true)),
                ("indimmediate", Value::Bool(true)),
                ("indisvalid", Value::Bool(true)),
                ("indisready", Value::Bool(true)),
                ("indislive", Value::Bool(true)),
                ("indkey", join(&|k| (k.0 + 1).to_string())),
                ("indcollation", join(&|k| typcollation(k.1).to_string())),
                (
                    "indclass",
                    join(&|k| {
                        match k.1 {
                            types::INT2 => 1979,
                            types::INT4 => 1978,
                            types::NAME => 1986,
                            _ => 1981,
                        }
                        .to_string()
                    }),
                ),
                ("indoption", join(&|_| "0".to_string())),
            ],
        )
    }
}

/// A catalog value as a catalog index stores it (`name` as text).
pub fn key_value(v: &Value) -> Value {
    match v {
        Value::Name(s) => Value::Text(s.clone()),
        v => v.clone(),
    }
}

/// A pg_type row of a built-in type (PostgreSQL 15's values): oid, name,
/// typlen, typbyval, typtype, typcategory, typispreferred, typsubscript,
/// typelem, typarray, typinput, typoutput, typreceive, typsend, typmodin,
/// typmodout, typalign, typstorage, typcollation.
type TypeRow = (
    u32,
    &'static str,
    i16,
    bool,
    u8,
    u8,
    bool,
    u32,
    u32,
    u32,
    u32,
    u32,
    u32,
    u32,
    u32,
    u32,
    u8,
    u8,
    u32,
);

#[rustfmt::skip]
static TYPE_ROWS: &[TypeRow] = &[
    (16, "bool", 1, true, b'b', b'B', true, 0, 0, 1000, 1242, 1243, 2436, 2437, 0, 0, b'c', b'p', 0),
    (17, "bytea", -1, false, b'b', b'U', false, 0, 0, 1001, 1244, 31, 2412, 2413, 0, 0, b'i', b'x', 0),
    (18, "char", 1, true, b'b', b'Z', false, 0, 0, 1002, 1245, 33, 2434, 2435, 0, 0, b'c', b'p', 0),
    (19, "name", 64, false, b'b', b'S', false, 6180, 18, 1003, 34, 35, 2422, 2423, 0, 0, b'c', b'p', 950),
    (20, "int8", 8, true, b'b', b'N', false, 0, 0, 1016, 460, 461, 2408, 2409, 0, 0, b'd', b'p', 0),
    (21, "int2", 2, true, b'b', b'N', false, 0, 0, 1005, 38, 39, 2404, 2405, 0, 0, b's', b'p', 0),
    (22, "int2vector", -1, false, b'b', b'A', false, 6179, 21, 1006, 40, 41, 2410, 2411, 0, 0, b'i', b'p', 0),
    (23, "int4", 4, true, b'b', b'N', false, 0, 0, 1007, 42, 43, 2406, 2407, 0, 0, b'i', b'p', 0),
    (24, "regproc", 4, true, b'b', b'N', false, 0, 0, 1008, 44, 45, 2444, 2445, 0, 0, b'i', b'p', 0),
    (25, "text", -1, false, b'b', b'S', true, 0, 0, 1009, 46, 47, 2414, 2415, 0, 0, b'i', b'x', 100),
    (26, "oid", 4, true, b'b', b'N', true, 0, 0, 1028, 1798, 1799, 2418, 2419, 0, 0, b'i', b'p', 0),
    (28, "xid", 4, true, b'b', b'U', false, 0, 0, 1011, 50, 51, 2440, 2441, 0, 0, b'i', b'p', 0),
    (30, "oidvector", -1, false, b'b', b'A', false, 6179, 26, 1013, 54, 55, 2420, 2421, 0, 0, b'i', b'p', 0),
    (194, "pg_node_tree", -1, false, b'b', b'Z', false, 0, 0, 0, 195, 196, 197, 198, 0, 0, b'i', b'x', 100),
    (271, "_xid8", -1, false, b'b', b'A', false, 2750, 5069, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    // The geometric types (point, lseg, box and line subscript as
    // fixed-length arrays of their parts; box's array delimiter is ';').
    (600, "point", 16, false, b'b', b'G', false, 6180, 701, 1017, 117, 118, 2428, 2429, 0, 0, b'd', b'p', 0),
    (601, "lseg", 32, false, b'b', b'G', false, 6180, 600, 1018, 119, 120, 2480, 2481, 0, 0, b'd', b'p', 0),
    (602, "path", -1, false, b'b', b'G', false, 0, 0, 1019, 121, 122, 2482, 2483, 0, 0, b'd', b'x', 0),
    (603, "box", 32, false, b'b', b'G', false, 6180, 600, 1020, 123, 124, 2484, 2485, 0, 0, b'd', b'p', 0),
    (604, "polygon", -1, false, b'b', b'G', false, 0, 0, 1027, 347, 348, 2486, 2487, 0, 0, b'd', b'x', 0),
    (628, "line", 24, false, b'b', b'G', false, 6180, 701, 629, 1490, 1491, 2488, 2489, 0, 0, b'd', b'p', 0),
    (629, "_line", -1, false, b'b', b'A', false, 6179, 628, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (718, "circle", 24, false, b'b', b'G', false, 0, 0, 719, 1450, 1451, 2490, 2491, 0, 0, b'd', b'p', 0),
    (719, "_circle", -1, false, b'b', b'A', false, 6179, 718, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (1017, "_point", -1, false, b'b', b'A', false, 6179, 600, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (1018, "_lseg", -1, false, b'b', b'A', false, 6179, 601, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (1019, "_path", -1, false, b'b', b'A', false, 6179, 602, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (1020, "_box", -1, false, b'b', b'A', false, 6179, 603, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (1027, "_polygon", -1, false, b'b', b'A', false, 6179, 604, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (700, "float4", 4, true, b'b', b'N', false, 0, 0, 1021, 200, 201, 2424, 2425, 0, 0, b'i', b'p', 0),
    (701, "float8", 8, true, b'b', b'N', true, 0, 0, 1022, 214, 215, 2426, 2427, 0, 0, b'd', b'p', 0),
    (705, "unknown", -2, false, b'p', b'X', false, 0, 0, 0, 109, 110, 2416, 2417, 0, 0, b'c', b'p', 0),
    (790, "money", 8, true, b'b', b'N', false, 0, 0, 791, 886, 887, 2492, 2493, 0, 0, b'd', b'p', 0),
    (791, "_money", -1, false, b'b', b'A', false, 2750, 790, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (869, "inet", -1, false, b'b', b'I', true, 0, 0, 1041, 910, 911, 2496, 2497, 0, 0, b'i', b'm', 0),
    (1000, "_bool", -1, false, b'b', b'A', false, 2750, 16, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1001, "_bytea", -1, false, b'b', b'A', false, 2750, 17, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1002, "_char", -1, false, b'b', b'A', false, 2750, 18, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1003, "_name", -1, false, b'b', b'A', false, 2750, 19, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 950),
    (1005, "_int2", -1, false, b'b', b'A', false, 2750, 21, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1007, "_int4", -1, false, b'b', b'A', false, 2750, 23, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1009, "_text", -1, false, b'b', b'A', false, 2750, 25, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 100),
    (1014, "_bpchar", -1, false, b'b', b'A', false, 2750, 1042, 0, 750, 751, 2400, 2401, 2913, 2914, b'i', b'x', 100),
    (1015, "_varchar", -1, false, b'b', b'A', false, 2750, 1043, 0, 750, 751, 2400, 2401, 2915, 2916, b'i', b'x', 100),
    (1016, "_int8", -1, false, b'b', b'A', false, 2750, 20, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (1021, "_float4", -1, false, b'b', b'A', false, 2750, 700, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1022, "_float8", -1, false, b'b', b'A', false, 2750, 701, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (1028, "_oid", -1, false, b'b', b'A', false, 2750, 26, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1041, "_inet", -1, false, b'b', b'A', false, 2750, 869, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1042, "bpchar", -1, false, b'b', b'S', false, 0, 0, 1014, 1044, 1045, 2430, 2431, 2913, 2914, b'i', b'x', 100),
    (1790, "refcursor", -1, false, b'b', b'U', false, 0, 0, 2201, 46, 47, 2414, 2415, 0, 0, b'i', b'x', 0),
    (2201, "_refcursor", -1, false, b'b', b'A', false, 2750, 1790, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1043, "varchar", -1, false, b'b', b'S', false, 0, 0, 1015, 1046, 1047, 2432, 2433, 2915, 2916, b'i', b'x', 100),
    (1082, "date", 4, true, b'b', b'D', false, 0, 0, 1182, 1084, 1085, 2468, 2469, 0, 0, b'i', b'p', 0),
    (1083, "time", 8, true, b'b', b'D', false, 0, 0, 1183, 1143, 1144, 2470, 2471, 2909, 2910, b'd', b'p', 0),
    (1114, "timestamp", 8, true, b'b', b'D', false, 0, 0, 1115, 1312, 1313, 2474, 2475, 2905, 2906, b'd', b'p', 0),
    (1115, "_timestamp", -1, false, b'b', b'A', false, 2750, 1114, 0, 750, 751, 2400, 2401, 2905, 2906, b'd', b'x', 0),
    (1182, "_date", -1, false, b'b', b'A', false, 2750, 1082, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (1183, "_time", -1, false, b'b', b'A', false, 6179, 1083, 0, 750, 751, 2400, 2401, 2909, 2910, b'd', b'x', 0),
    (1184, "timestamptz", 8, true, b'b', b'D', true, 0, 0, 1185, 1150, 1151, 2476, 2477, 2907, 2908, b'd', b'p', 0),
    (1185, "_timestamptz", -1, false, b'b', b'A', false, 2750, 1184, 0, 750, 751, 2400, 2401, 2907, 2908, b'd', b'x', 0),
    (1186, "interval", 16, false, b'b', b'T', true, 0, 0, 1187, 1160, 1161, 2478, 2479, 2903, 2904, b'd', b'p', 0),
    (1187, "_interval", -1, false, b'b', b'A', false, 6179, 1186, 0, 750, 751, 2400, 2401, 2903, 2904, b'd', b'x', 0),
    (1231, "_numeric", -1, false, b'b', b'A', false, 2750, 1700, 0, 750, 751, 2400, 2401, 2917, 2918, b'i', b'x', 0),
    (1266, "timetz", 12, false, b'b', b'D', false, 0, 0, 1270, 1350, 1351, 2472, 2473, 2911, 2912, b'd', b'p', 0),
    (1270, "_timetz", -1, false, b'b', b'A', false, 6179, 1266, 0, 750, 751, 2400, 2401, 2911, 2912, b'd', b'x', 0),
    (1560, "bit", -1, false, b'b', b'V', false, 0, 0, 1561, 1564, 1565, 2456, 2457, 2919, 2920, b'i', b'x', 0),
    (1561, "_bit", -1, false, b'b', b'A', false, 2750, 1560, 0, 750, 751, 2400, 2401, 2919, 2920, b'i', b'x', 0),
    (1562, "varbit", -1, false, b'b', b'V', true, 0, 0, 1563, 1579, 1580, 2458, 2459, 2902, 2921, b'i', b'x', 0),
    (1563, "_varbit", -1, false, b'b', b'A', false, 2750, 1562, 0, 750, 751, 2400, 2401, 2902, 2921, b'i', b'x', 0),
    (1700, "numeric", -1, false, b'b', b'N', false, 0, 0, 1231, 1701, 1702, 2460, 2461, 2917, 2918, b'i', b'm', 0),
    (2249, "record", -1, false, b'p', b'P', false, 0, 0, 2287, 2290, 2291, 2402, 2403, 0, 0, b'd', b'x', 0),
    (2278, "void", 4, true, b'p', b'P', false, 0, 0, 0, 2298, 2299, 3120, 3121, 0, 0, b'i', b'p', 0),
    (2950, "uuid", 16, false, b'b', b'U', false, 0, 0, 2951, 2952, 2953, 2961, 2962, 0, 0, b'c', b'p', 0),
    (2951, "_uuid", -1, false, b'b', b'A', false, 2750, 2950, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (3220, "pg_lsn", 8, true, b'b', b'U', false, 0, 0, 3221, 3229, 3230, 3238, 3239, 0, 0, b'd', b'p', 0),
    (3221, "_pg_lsn", -1, false, b'b', b'A', false, 2750, 3220, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (4072, "jsonpath", -1, false, b'b', b'U', false, 0, 0, 4073, 4001, 4003, 4002, 4004, 0, 0, b'i', b'x', 0),
    (4073, "_jsonpath", -1, false, b'b', b'A', false, 6179, 4072, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (5069, "xid8", 8, true, b'b', b'U', false, 0, 0, 271, 5070, 5081, 5082, 5083, 0, 0, b'd', b'p', 0),
    // The reg* alias types (psql casts to them).
    (2202, "regprocedure", 4, true, b'b', b'N', false, 0, 0, 2207, 2212, 2213, 2446, 2447, 0, 0, b'i', b'p', 0),
    (2203, "regoper", 4, true, b'b', b'N', false, 0, 0, 2208, 2214, 2215, 2448, 2449, 0, 0, b'i', b'p', 0),
    (2204, "regoperator", 4, true, b'b', b'N', false, 0, 0, 2209, 2216, 2217, 2450, 2451, 0, 0, b'i', b'p', 0),
    (2205, "regclass", 4, true, b'b', b'N', false, 0, 0, 2210, 2218, 2219, 2452, 2453, 0, 0, b'i', b'p', 0),
    (2206, "regtype", 4, true, b'b', b'N', false, 0, 0, 2211, 2220, 2221, 2454, 2455, 0, 0, b'i', b'p', 0),
    (4089, "regnamespace", 4, true, b'b', b'N', false, 0, 0, 4090, 4084, 4085, 4087, 4088, 0, 0, b'i', b'p', 0),
    (4096, "regrole", 4, true, b'b', b'N', false, 0, 0, 4097, 4098, 4092, 4094, 4095, 0, 0, b'i', b'p', 0),
    // Range and multirange types and their arrays (crates/types/src/range.rs).
(3904, "int4range", -1, false, b'r', b'R', false, 0, 0, 3905, 3834, 3835, 3836, 3837, 0, 0, b'i', b'x', 0),
    (3905, "_int4range", -1, false, b'b', b'A', false, 6179, 3904, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (3906, "numrange", -1, false, b'r', b'R', false, 0, 0, 3907, 3834, 3835, 3836, 3837, 0, 0, b'i', b'x', 0),
    (3907, "_numrange", -1, false, b'b', b'A', false, 6179, 3906, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (3908, "tsrange", -1, false, b'r', b'R', false, 0, 0, 3909, 3834, 3835, 3836, 3837, 0, 0, b'd', b'x', 0),
    (3909, "_tsrange", -1, false, b'b', b'A', false, 6179, 3908, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (3910, "tstzrange", -1, false, b'r', b'R', false, 0, 0, 3911, 3834, 3835, 3836, 3837, 0, 0, b'd', b'x', 0),
    (3911, "_tstzrange", -1, false, b'b', b'A', false, 6179, 3910, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (3912, "daterange", -1, false, b'r', b'R', false, 0, 0, 3913, 3834, 3835, 3836, 3837, 0, 0, b'i', b'x', 0),
    (3913, "_daterange", -1, false, b'b', b'A', false, 6179, 3912, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (3926, "int8range", -1, false, b'r', b'R', false, 0, 0, 3927, 3834, 3835, 3836, 3837, 0, 0, b'd', b'x', 0),
    (3927, "_int8range", -1, false, b'b', b'A', false, 6179, 3926, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (4451, "int4multirange", -1, false, b'm', b'R', false, 0, 0, 6150, 4231, 4232, 4233, 4234, 0, 0, b'i', b'x', 0),
    (4532, "nummultirange", -1, false, b'm', b'R', false, 0, 0, 6151, 4231, 4232, 4233, 4234, 0, 0, b'i', b'x', 0),
    (4533, "tsmultirange", -1, false, b'm', b'R', false, 0, 0, 6152, 4231, 4232, 4233, 4234, 0, 0, b'd', b'x', 0),
    (4534, "tstzmultirange", -1, false, b'm', b'R', false, 0, 0, 6153, 4231, 4232, 4233, 4234, 0, 0, b'd', b'x', 0),
    (4535, "datemultirange", -1, false, b'm', b'R', false, 0, 0, 6155, 4231, 4232, 4233, 4234, 0, 0, b'i', b'x', 0),
    (4536, "int8multirange", -1, false, b'm', b'R', false, 0, 0, 6157, 4231, 4232, 4233, 4234, 0, 0, b'd', b'x', 0),
    (6150, "_int4multirange", -1, false, b'b', b'A', false, 6179, 4451, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (6151, "_nummultirange", -1, false, b'b', b'A', false, 6179, 4532, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (6152, "_tsmultirange", -1, false, b'b', b'A', false, 6179, 4533, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (6153, "_tstzmultirange", -1, false, b'b', b'A', false, 6179, 4534, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
    (6155, "_datemultirange", -1, false, b'b', b'A', false, 6179, 4535, 0, 750, 751, 2400, 2401, 0, 0, b'i', b'x', 0),
    (6157, "_int8multirange", -1, false, b'b', b'A', false, 6179, 4536, 0, 750, 751, 2400, 2401, 0, 0, b'd', b'x', 0),
];

/// pg_type's typstorage of a built-in type (b'p' when unknown).
pub fn typstorage(oid: Oid) -> u8 {
    TYPE_ROWS
        .iter()
        .find(|r| r.0 == oid)
        .map(|r| r.17)
        // User-defined types (composites, ranges) from their registries.
        .or_else(|| types::type_info(oid).map(|t| t.storage.code() as u8))
        .unwrap_or(b'p')
}

/// The collation PostgreSQL gives a column of this type (C for name,
/// default for text-like types, none otherwise).
pub fn typcollation(oid: Oid) -> u32 {
    TYPE_ROWS
        .iter()
        .find(|r| r.0 == oid)
        .map(|r| r.18)
        .unwrap_or(0)
}

/// A row of `cat` from named values; every other column is NULL when
/// nullable, else the zero of its type (0, false, '\0', "").
pub fn row(cat: &Catalog, named: &[(&str, Value)]) -> Vec<Value> {
    let mut out: Vec<Value> = cat
        .cols
        .iter()
        .map(|c| {
            if !c.not_null {
                return Value::Null;
            }
            match c.ty {
                types::BOOL => Value::Bool(false),
                types::CHAR => Value::Char(0),
                types::INT2 => Value::Int2(0),
                types::INT4 => Value::Int4(0),
                types::OID | datum::REGPROC => Value::Oid(0),
                types::XID => Value::Xid8(0),
                types::FLOAT4 => Value::Float4(0.0),
                types::NAME => Value::Name(String::new()),
                _ => Value::Text(String::new()),
            }
        })
        .collect();
    for (name, v) in named {
        out[cat.col(name)] = v.clone();
    }
    out
}

/// The pg_class row of a heap relation.
#[allow(clippy::too_many_arguments)]
pub fn class_row(
    oid: u32,
    name: &str,
    namespace: u32,
    rowtype: u32,
    relfilenode: u32,
    shared: bool,
    natts: i16,
    replident: u8,
) -> Vec<Value> {
    row(
        catalog(PG_CLASS_OID),
        &[
            ("oid", Value::Oid(oid)),
            ("relname", Value::Name(name.into())),
            ("relnamespace", Value::Oid(namespace)),
            ("reltype", Value::Oid(rowtype)),
            (
                "relowner",
                Value::Oid(crate::bootstrap::BOOTSTRAP_SUPERUSER_OID),
            ),
            ("relam", Value::Oid(HEAP_TABLE_AM_OID)),
            ("relfilenode", Value::Oid(relfilenode)),
            (
                "reltablespace",
                Value::Oid(if shared { GLOBALTABLESPACE_OID } else { 0 }),
            ),
            ("reltuples", Value::Float4(-1.0)),
            ("relisshared", Value::Bool(shared)),
            ("relpersistence", Value::Char(b'p')),
            ("relkind", Value::Char(b'r')),
            ("relnatts", Value::Int2(natts)),
            ("relispopulated", Value::Bool(true)),
            ("relreplident", Value::Char(replident)),
            (
                "relfrozenxid",
                Value::Xid8(crate::clog::FIRST_NORMAL_TRANSACTION_ID),
            ),
            ("relminmxid", Value::Xid8(1)),
        ],
    )
}

/// The pg_attribute row of column `attnum` (from 1) of relation `rel`.
pub fn attribute_row(
    rel: u32,
    attnum: i16,
    name: &str,
    ty: Oid,
    typmod: i32,
    not_null: bool,
    has_default: bool,
) -> Vec<Value> {
    let a = datum::attr_for(ty);
    let (len, align, byval) = match a {
        Some(a) => (
            a.len,
            match a.align {
                heaptuple::Align::Char => b'c',
                heaptuple::Align::Short => b's',
                heaptuple::Align::Int => b'i',
                heaptuple::Align::Double => b'd',
            },
            a.byval,
        ),
        None => (-1, b'i', false),
    };
    row(
        catalog(PG_ATTRIBUTE_OID),
        &[
            ("attrelid", Value::Oid(rel)),
            ("attname", Value::Name(name.into())),
            ("atttypid", Value::Oid(ty)),
            ("attstattarget", Value::Int4(-1)),
            ("attlen", Value::Int2(len)),
            ("attnum", Value::Int2(attnum)),
            ("attcacheoff", Value::Int4(-1)),
            ("atttypmod", Value::Int4(typmod)),
            ("attbyval", Value::Bool(byval)),
            ("attalign", Value::Char(align)),
            ("attstorage", Value::Char(typstorage(ty))),
            ("attnotnull", Value::Bool(not_null)),
            ("atthasdef", Value::Bool(has_default)),
            ("attislocal", Value::Bool(true)),
            ("attcollation", Value::Oid(typcollation(ty))),
        ],
    )
}

/// The rows every database's catalogs start with, per catalog OID
/// (shared catalogs included; the caller writes those once).
pub fn bootstrap_rows(superuser: &str) -> Vec<(u32, Vec<Vec<Value>>)> {
    let mut out: Vec<(u32, Vec<Vec<Value>>)> =
        CATALOGS.iter().map(|c| (c.oid, Vec::new())).collect();
    let mut push = |cat: u32, r: Vec<Value>| {
        out.iter_mut()
            .find(|(o, _)| *o == cat)
            .expect("catalog")
            .1
            .push(r);
    };
    let ty = catalog(PG_TYPE_OID);
    for t in TYPE_ROWS {
        push(
            PG_TYPE_OID,
            row(
                ty,
                &[
                    ("oid", Value::Oid(t.0)),
                    ("typname", Value::Name(t.1.into())),
                    ("typnamespace", Value::Oid(PG_CATALOG_NAMESPACE)),
                    (
                        "typowner",
                        Value::Oid(crate::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    ),
                    ("typlen", Value::Int2(t.2)),
                    ("typbyval", Value::Bool(t.3)),
                    ("typtype", Value::Char(t.4)),
                    ("typcategory", Value::Char(t.5)),
                    ("typispreferred", Value::Bool(t.6)),
                    ("typisdefined", Value::Bool(true)),
                    // box is the one built-in type delimited by ';'.
                    (
                        "typdelim",
                        Value::Char(if matches!(t.0, 603 | 1020) {
                            b';'
                        } else {
                            b','
                        }),
                    ),
                    ("typsubscript", Value::Oid(t.7)),
                    ("typelem", Value::Oid(t.8)),
                    ("typarray", Value::Oid(t.9)),
                    ("typinput", Value::Oid(t.10)),
                    ("typoutput", Value::Oid(t.11)),
                    ("typreceive", Value::Oid(t.12)),
                    ("typsend", Value::Oid(t.13)),
                    ("typmodin", Value::Oid(t.14)),
                    ("typmodout", Value::Oid(t.15)),
                    ("typalign", Value::Char(t.16)),
                    ("typstorage", Value::Char(t.17)),
                    ("typtypmod", Value::Int4(-1)),
                    ("typcollation", Value::Oid(t.18)),
                ],
            ),
        );
    }
    let ns = catalog(PG_NAMESPACE_OID);
    for (oid, name) in [
        (PG_CATALOG_NAMESPACE, "pg_catalog"),
        (PG_TOAST_NAMESPACE, "pg_toast"),
        (PUBLIC_NAMESPACE, "public"),
    ] {
        push(
            PG_NAMESPACE_OID,
            row(
                ns,
                &[
                    ("oid", Value::Oid(oid)),
                    ("nspname", Value::Name(name.into())),
                    (
                        "nspowner",
                        Value::Oid(crate::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    ),
                ],
            ),
        );
    }
    for cat in CATALOGS {
        let mut class = class_row(
            cat.oid,
            cat.name,
            PG_CATALOG_NAMESPACE,
            cat.rowtype,
            cat.oid,
            cat.shared,
            cat.cols.len() as i16,
            b'n',
        );
        // Everyone may read the catalogs but pg_authid and pg_statistic
        // (PostgreSQL's initdb grants SELECT to PUBLIC the same way); the
        // ACLs are written out, not left NULL, as initdb leaves them.
        let public = if matches!(cat.name, "pg_authid" | "pg_statistic") {
            String::new()
        } else {
            format!(",=r/{}", crate::bootstrap::BOOTSTRAP_SUPERUSER_OID)
        };
        class[catalog(PG_CLASS_OID).col("relacl")] = Value::Text(format!(
            "{{{0}=arwdDxt/{0}{public}}}",
            crate::bootstrap::BOOTSTRAP_SUPERUSER_OID
        ));
        push(PG_CLASS_OID, class);
        for (i, col) in cat.cols.iter().enumerate() {
            push(
                PG_ATTRIBUTE_OID,
                attribute_row(
                    cat.oid,
                    i as i16 + 1,
                    col.name,
                    col.ty,
                    -1,
                    col.not_null,
                    false,
                ),
            );
        }
    }
    let c = catalog(PG_CLASS_OID);
    for idx in CATALOG_INDEXES {
        push(PG_CLASS_OID, idx.class_row());
        for a in idx.attribute_rows() {
            push(PG_ATTRIBUTE_OID, a);
        }
        push(PG_INDEX_OID, idx.index_row());
    }
    for (oid, rows) in out.iter_mut() {
        if *oid != PG_CLASS_OID {
            continue;
        }
        for r in rows.iter_mut() {
            let me = match r[c.col("oid")] {
                Value::Oid(o) => o,
                _ => 0,
            };
            if CATALOG_INDEXES.iter().any(|i| i.heap == me) {
                r[c.col("relhasindex")] = Value::Bool(true);
            }
        }
    }
    let mut push = |cat: u32, r: Vec<Value>| {
        out.iter_mut()
            .find(|(o, _)| *o == cat)
            .expect("catalog")
            .1
            .push(r);
    };
    push(
        PG_AUTHID_OID,
        row(
            catalog(PG_AUTHID_OID),
            &[
                ("oid", Value::Oid(crate::bootstrap::BOOTSTRAP_SUPERUSER_OID)),
                ("rolname", Value::Name(superuser.into())),
                ("rolsuper", Value::Bool(true)),
                ("rolinherit", Value::Bool(true)),
                ("rolcreaterole", Value::Bool(true)),
                ("rolcreatedb", Value::Bool(true)),
                ("rolcanlogin", Value::Bool(true)),
                ("rolreplication", Value::Bool(true)),
                ("rolbypassrls", Value::Bool(true)),
                ("rolconnlimit", Value::Int4(-1)),
            ],
        ),
    );
    for (oid, name, template, allow) in [
        (1, "template1", true, true),
        (4, "template0", true, false),
        (5, "postgres", false, true),
    ] {
        push(
            PG_DATABASE_OID,
            row(
                catalog(PG_DATABASE_OID),
                &[
                    ("oid", Value::Oid(oid)),
                    ("datname", Value::Name(name.into())),
                    (
                        "datdba",
                        Value::Oid(crate::bootstrap::BOOTSTRAP_SUPERUSER_OID),
                    ),
                    ("encoding", Value::Int4(6)),
                    ("datlocprovider", Value::Char(b'c')),
                    ("datistemplate", Value::Bool(template)),
                    ("datallowconn", Value::Bool(allow)),
                    ("datconnlimit", Value::Int4(-1)),
                    (
                        "datfrozenxid",
                        Value::Xid8(crate::clog::FIRST_NORMAL_TRANSACTION_ID),
                    ),
                    ("datminmxid", Value::Xid8(1)),
                    ("dattablespace", Value::Oid(DEFAULTTABLESPACE_OID)),
                    ("datcollate", Value::Text("C".into())),
                    ("datctype", Value::Text("C".into())),
                ],
            ),
        );
    }
    psql_catalog_rows(&mut push);
    ts_catalog_rows(&mut push);
    out
}

/// The text-search objects of a PostgreSQL 15 initdb that tusk
/// implements, with its OIDs: the default parser, the five dictionary
/// templates, the `simple` and `english_stem` dictionaries and the
/// `simple` and `english` configurations with their token mappings.
fn ts_catalog_rows(push: &mut impl FnMut(u32, Vec<Value>)) {
    let su = Value::Oid(crate::bootstrap::BOOTSTRAP_SUPERUSER_OID);
    let nsp = Value::Oid(PG_CATALOG_NAMESPACE);
    push(
        PG_TS_PARSER_OID,
        row(
            catalog(PG_TS_PARSER_OID),
            &[
                ("oid", Value::Oid(3722)),
                ("prsname", Value::Name("default".into())),
                ("prsnamespace", nsp.clone()),
                ("prsstart", Value::Oid(3717)),
                ("prstoken", Value::Oid(3718)),
                ("prsend", Value::Oid(3719)),
                ("prsheadline", Value::Oid(3720)),
                ("prslextype", Value::Oid(3721)),
            ],
        ),
    );
    for (oid, name, init, lexize) in [
        (3727, "simple", 3725, 3726),
        (3730, "synonym", 3728, 3729),
        (3733, "ispell", 3731, 3732),
        (3742, "thesaurus", 3740, 3741),
        (13150, "snowball", 13148, 13149),
    ] {
        push(
            PG_TS_TEMPLATE_OID,
            row(
                catalog(PG_TS_TEMPLATE_OID),
                &[
                    ("oid", Value::Oid(oid)),
                    ("tmplname", Value::Name(name.into())),
                    ("tmplnamespace", nsp.clone()),
                    ("tmplinit", Value::Oid(init)),
                    ("tmpllexize", Value::Oid(lexize)),
                ],
            ),
        );
    }
    for (oid, name, template, options) in [
        (3765, "simple", 3727, None),
        (
            13163,
            "english_stem",
            13150,
            Some("language = 'english', stopwords = 'english'"),
        ),
    ] {
        push(
            PG_TS_DICT_OID,
            row(
                catalog(PG_TS_DICT_OID),
                &[
                    ("oid", Value::Oid(oid)),
                    ("dictname", Value::Name(name.into())),
                    ("dictnamespace", nsp.clone()),
                    ("dictowner", su.clone()),
                    ("dicttemplate", Value::Oid(template)),
                    (
                        "dictinitoption",
                        options.map_or(Value::Null, |o| Value::Text(o.into())),
                    ),
                ],
            ),
        );
    }
    // initdb's comments on these objects (psql's \dF, \dFd, \dFp, \dFt).
    for (oid, class, text) in [
        (3722, PG_TS_PARSER_OID, "default word parser"),
        (
            3727,
            PG_TS_TEMPLATE_OID,
            "simple dictionary: just lower case and check for stopword",
        ),
        (
            3730,
            PG_TS_TEMPLATE_OID,
            "synonym dictionary: replace word by its synonym",
        ),
        (3733, PG_TS_TEMPLATE_OID, "ispell dictionary"),
        (
            3742,
            PG_TS_TEMPLATE_OID,
            "thesaurus dictionary: phrase by phrase substitution",
        ),
        (13150, PG_TS_TEMPLATE_OID, "snowball stemmer"),
        (
            3765,
            PG_TS_DICT_OID,
            "simple dictionary: just lower case and check for stopword",
        ),
        (
            13163,
            PG_TS_DICT_OID,
            "snowball stemmer for english language",
        ),
        (3748, PG_TS_CONFIG_OID, "simple configuration"),
        (
            13164,
            PG_TS_CONFIG_OID,
            "configuration for english language",
        ),
    ] {
        push(
            PG_DESCRIPTION_OID,
            row(
                catalog(PG_DESCRIPTION_OID),
                &[
                    ("objoid", Value::Oid(oid)),
                    ("classoid", Value::Oid(class)),
                    ("objsubid", Value::Int4(0)),
                    ("description", Value::Text(text.into())),
                ],
            ),
        );
    }
    // Token types 12 (blank), 13 (tag), 14 (protocol) and 23 (entity)
    // are unmapped; english stems the word types, simple keeps them.
    const WORDS: &[i32] = &[1, 2, 10, 11, 16, 17];
    for (oid, name, word_dict) in [(3748, "simple", 3765), (13164, "english", 13163)] {
        push(
            PG_TS_CONFIG_OID,
            row(
                catalog(PG_TS_CONFIG_OID),
                &[
                    ("oid", Value::Oid(oid)),
                    ("cfgname", Value::Name(name.into())),
                    ("cfgnamespace", nsp.clone()),
                    ("cfgowner", su.clone()),
                    ("cfgparser", Value::Oid(3722)),
                ],
            ),
        );
        for ty in (1..=22).filter(|t| ![12, 13, 14].contains(t)) {
            let dict = if WORDS.contains(&ty) { word_dict } else { 3765 };
            push(
                PG_TS_CONFIG_MAP_OID,
                row(
                    catalog(PG_TS_CONFIG_MAP_OID),
                    &[
                        ("mapcfg", Value::Oid(oid)),
                        ("maptokentype", Value::Int4(ty)),
                        ("mapseqno", Value::Int4(1)),
                        ("mapdict", Value::Oid(dict)),
                    ],
                ),
            );
        }
    }
}

/// The rows of psql's catalogs: PostgreSQL 15's access methods,
/// tablespaces, the plpgsql extension (with its pg_description) and the
/// three built-in collations, with their OIDs, so that `\d` joins find
/// what PostgreSQL's do.
fn psql_catalog_rows(push: &mut impl FnMut(u32, Vec<Value>)) {
    let su = Value::Oid(crate::bootstrap::BOOTSTRAP_SUPERUSER_OID);
    let am = catalog(PG_AM_OID);
    for (oid, name, handler, kind) in [
        (HEAP_TABLE_AM_OID, "heap", 3, b't'),
        (403, "btree", 330, b'i'),
        (405, "hash", 331, b'i'),
        (783, "gist", 332, b'i'),
        (2742, "gin", 333, b'i'),
        (4000, "spgist", 334, b'i'),
        (3580, "brin", 335, b'i'),
    ] {
        push(
            PG_AM_OID,
            row(
                am,
                &[
                    ("oid", Value::Oid(oid)),
                    ("amname", Value::Name(name.into())),
                    ("amhandler", Value::Oid(handler)),
                    ("amtype", Value::Char(kind)),
                ],
            ),
        );
    }
    for (oid, name, pl, trusted, call, inline, validator) in [
        (12, "internal", false, false, 0, 0, 2246),
        (13, "c", false, false, 0, 0, 2247),
        (14, "sql", false, true, 0, 0, 2248),
        (
            PLPGSQL_LANGUAGE_OID,
            "plpgsql",
            true,
            true,
            13560,
            13561,
            13562,
        ),
    ] {
        push(
            PG_LANGUAGE_OID,
            row(
                catalog(PG_LANGUAGE_OID),
                &[
                    ("oid", Value::Oid(oid)),
                    ("lanname", Value::Name(name.into())),
                    ("lanowner", su.clone()),
                    ("lanispl", Value::Bool(pl)),
                    ("lanpltrusted", Value::Bool(trusted)),
                    ("lanplcallfoid", Value::Oid(call)),
                    ("laninline", Value::Oid(inline)),
                    ("lanvalidator", Value::Oid(validator)),
                ],
            ),
        );
    }
    for (oid, name) in [
        (DEFAULTTABLESPACE_OID, "pg_default"),
        (GLOBALTABLESPACE_OID, "pg_global"),
    ] {
        push(
            PG_TABLESPACE_OID,
            row(
                catalog(PG_TABLESPACE_OID),
                &[
                    ("oid", Value::Oid(oid)),
                    ("spcname", Value::Name(name.into())),
                    ("spcowner", su.clone()),
                ],
            ),
        );
    }
    push(
        PG_EXTENSION_OID,
        row(
            catalog(PG_EXTENSION_OID),
            &[
                ("oid", Value::Oid(PLPGSQL_EXTENSION_OID)),
                ("extname", Value::Name("plpgsql".into())),
                ("extowner", su.clone()),
                ("extnamespace", Value::Oid(PG_CATALOG_NAMESPACE)),
                ("extrelocatable", Value::Bool(false)),
                ("extversion", Value::Text("1.0".into())),
            ],
        ),
    );
    push(
        PG_DESCRIPTION_OID,
        row(
            catalog(PG_DESCRIPTION_OID),
            &[
                ("objoid", Value::Oid(PLPGSQL_EXTENSION_OID)),
                ("classoid", Value::Oid(PG_EXTENSION_OID)),
                ("objsubid", Value::Int4(0)),
                (
                    "description",
                    Value::Text("PL/pgSQL procedural language".into()),
                ),
            ],
        ),
    );
    // PostgreSQL 15's pg_range rows of the built-in range types.
    for (typ, sub, multi, opc, canonical, diff) in [
        (3904, 23, 4451, 1978, 3914, 3922),
        (3906, 1700, 4532, 3125, 0, 3924),
        (3908, 1114, 4533, 3128, 0, 3929),
        (3910, 1184, 4534, 3127, 0, 3930),
        (3912, 1082, 4535, 3122, 3915, 3925),
        (3926, 20, 4536, 3124, 3928, 3923),
    ] {
        push(
            PG_RANGE_OID,
            row(
                catalog(PG_RANGE_OID),
                &[
                    ("rngtypid", Value::Oid(typ)),
                    ("rngsubtype", Value::Oid(sub)),
                    ("rngmultitypid", Value::Oid(multi)),
                    ("rngcollation", Value::Oid(0)),
                    ("rngsubopc", Value::Oid(opc)),
                    ("rngcanonical", Value::Oid(canonical)),
                    ("rngsubdiff", Value::Oid(diff)),
                ],
            ),
        );
    }
    for (oid, name, provider, locale) in [
        (100, "default", b'd', None),
        (950, "C", b'c', Some("C")),
        (951, "POSIX", b'c', Some("POSIX")),
    ] {
        let text = |l: Option<&str>| l.map_or(Value::Null, |l| Value::Text(l.into()));
        push(
            PG_COLLATION_OID,
            row(
                catalog(PG_COLLATION_OID),
                &[
                    ("oid", Value::Oid(oid)),
                    ("collname", Value::Name(name.into())),
                    ("collnamespace", Value::Oid(PG_CATALOG_NAMESPACE)),
                    ("collowner", su.clone()),
                    ("collprovider", Value::Char(provider)),
                    ("collisdeterministic", Value::Bool(true)),
                    ("collencoding", Value::Int4(-1)),
                    ("collcollate", text(locale)),
                    ("collctype", text(locale)),
                ],
            ),
        );
    }
}

/// The databases `tusk init` creates (OID, name), as PostgreSQL's initdb.
pub const BOOTSTRAP_DATABASES: [(u32, &str); 3] =
    [(1, "template1"), (4, "template0"), (5, "postgres")];

/// Pages holding `tuples` as bootstrap rows (xmin 1, committed hint,
/// own TID in t_ctid), filled in order.
pub fn bootstrap_pages(tuples: &[Vec<u8>], checksums: bool) -> Result<Vec<Box<PageBuf>>, PgError> {
    let mut pages: Vec<Box<PageBuf>> = Vec::new();
    for t in tuples {
        let mut t = t.clone();
        heaptuple::set_xmin(&mut t, BOOTSTRAP_XID);
        heaptuple::set_xmax(&mut t, 0);
        heaptuple::set_cid(&mut t, 0);
        let m =
            heaptuple::infomask(&t) | heaptuple::HEAP_XMIN_COMMITTED | heaptuple::HEAP_XMAX_INVALID;
        heaptuple::set_infomask(&mut t, m);
        let mut placed = false;
        if let Some(p) = pages.last_mut() {
            if let Ok(off) = page::add_item(p, &t, AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE) {
                let block = pages.len() as u32 - 1;
                let p = pages.last_mut().expect("just used");
                heaptuple::set_ctid(
                    page::get_item_mut(p, off).expect("added"),
                    ItemPointer { block, offset: off },
                );
                placed = true;
            }
        }
        if !placed {
            let mut p: Box<PageBuf> = Box::new([0u8; BLCKSZ]);
            heaptuple::init_heap_page(&mut p);
            let off = page::add_item(&mut p, &t, AddAt::FirstFree, MAX_HEAP_TUPLES_PER_PAGE)
                .map_err(|e| e.to_pg_error())?;
            let block = pages.len() as u32;
            heaptuple::set_ctid(
                page::get_item_mut(&mut p, off).expect("added"),
                ItemPointer { block, offset: off },
            );
            pages.push(p);
        }
    }
    if checksums {
        for (i, p) in pages.iter_mut().enumerate() {
            page::set_checksum(p, i as u32);
        }
    }
    Ok(pages)
}

/// The pages of catalog index `idx` over the bootstrap heap pages
/// `heap` of its catalog (rows of layout `types_`).
fn bootstrap_index_pages(
    idx: &CatIndex,
    types_: &[Oid],
    heap: &[Box<PageBuf>],
    checksums: bool,
) -> Result<Vec<Box<PageBuf>>, PgError> {
    let mut entries = Vec::new();
    for (b, p) in heap.iter().enumerate() {
        for off in 1..=page::max_offset(p) {
            let t = page::get_item(p, off).expect("bootstrap tuple");
            let r = datum::deform_row(t, types_)?;
            entries.push((
                idx.key_of(&r),
                ItemPointer {
                    block: b as u32,
                    offset: off,
                },
            ));
        }
    }
    crate::nbtree::sort_entries(&mut entries);
    let cols = idx.key_columns();
    let tuples = entries
        .iter()
        .map(|(k, tid)| crate::nbtree::leaf_tuple_of(&cols, k, *tid))
        .collect::<Result<Vec<_>, _>>()?;
    let mut pages = crate::nbtree::build_images(&cols, tuples)?;
    if checksums {
        for (i, p) in pages.iter_mut().enumerate() {
            page::set_checksum(p, i as u32);
        }
    }
    Ok(pages)
}

fn fsync_dir(dir: &Path) -> Result<(), PgError> {
    std::fs::File::open(dir)
        .and_then(|f| f.sync_all())
        .map_err(|e| {
            PgError::error(
                sqlstate::IO_ERROR,
                format!("could not fsync directory \"{}\": {e}", dir.display()),
            )
            .with_detail(format!(
                "Failed system call was fsync(\"{}\").",
                dir.display()
            ))
        })
}

/// Writes the catalog files of a new cluster: the shared catalogs under
/// `global/` and every catalog of each bootstrap database under
/// `base/<oid>/`, each file fsynced, then the directories. Called by
/// `tusk init` before it writes the initial checkpoint, so that the files
/// are durable before any WAL could refer to them.
pub fn write_bootstrap(data_dir: &Path, superuser: &str, checksums: bool) -> Result<(), PgError> {
    let mut md = Md::new(data_dir, DEFAULT_SEGMENT_BLOCKS);
    let rows = bootstrap_rows(superuser);
    for (oid, rows) in &rows {
        let cat = catalog(*oid);
        let types_ = cat.types();
        let tuples = rows
            .iter()
            .map(|r| datum::form_row(&types_, r))
            .collect::<Result<Vec<_>, _>>()?;
        let pages = bootstrap_pages(&tuples, checksums)?;
        let dbs: Vec<u32> = if cat.shared {
            vec![0]
        } else {
            BOOTSTRAP_DATABASES.iter().map(|d| d.0).collect()
        };
        for db in dbs {
            let loc = cat.locator(db);
            md.create(loc, Fork::Main, false)?;
            for (i, p) in pages.iter().enumerate() {
                md.extend(loc, Fork::Main, i as u32, p)?;
            }
            md.sync(loc, Fork::Main)?;
        }
        // The catalog's indexes over the rows just laid out (their TIDs
        // are the ones the pages give them), in every database.
        for idx in indexes_of_catalog(*oid) {
            let pages = bootstrap_index_pages(idx, &types_, &pages, checksums)?;
            for (db, _) in BOOTSTRAP_DATABASES {
                let loc = idx.locator(db);
                md.create(loc, Fork::Main, false)?;
                for (i, p) in pages.iter().enumerate() {
                    md.extend(loc, Fork::Main, i as u32, p)?;
                }
                md.sync(loc, Fork::Main)?;
            }
        }
    }
    for (db, _) in BOOTSTRAP_DATABASES {
        fsync_dir(&data_dir.join("base").join(db.to_string()))?;
    }
    fsync_dir(&data_dir.join("base"))?;
    fsync_dir(&data_dir.join("global"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layouts_match_the_catalogs_row_counts() {
        for cat in CATALOGS {
            for col in cat.cols {
                assert!(
                    datum::attr_for(col.ty).is_some(),
                    "{}.{} type {}",
                    cat.name,
                    col.name,
                    col.ty
                );
            }
        }
        assert_eq!(catalog(PG_CLASS_OID).cols.len(), 33);
        assert_eq!(catalog(PG_ATTRIBUTE_OID).cols.len(), 26);
        assert_eq!(catalog(PG_TYPE_OID).cols.len(), 32);
        assert_eq!(catalog(PG_DATABASE_OID).cols.len(), 16);
    }

    #[test]
    fn bootstrap_writes_readable_catalogs() {
        let d = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(d.path().join("global")).unwrap();
        std::fs::create_dir_all(d.path().join("base")).unwrap();
        write_bootstrap(d.path(), "alice", true).unwrap();
        for f in [
            "global/1262",
            "global/1260",
            "base/1/1259",
            "base/5/1249",
            "base/4/2615",
            "base/5/2610",
        ] {
            assert!(d.path().join(f).exists(), "{f}");
        }
        // Read pg_class of postgres back through the smgr and the codec.
        let mut md = Md::new(d.path(), DEFAULT_SEGMENT_BLOCKS);
        let cat = catalog(PG_CLASS_OID);
        let loc = cat.locator(5);
        let n = md.nblocks(loc, Fork::Main).unwrap();
        let mut names = Vec::new();
        for b in 0..n {
            let mut p = [0u8; BLCKSZ];
            md.read(loc, Fork::Main, b, &mut p).unwrap();
            assert_eq!(page::checksum(&p), page::checksum_page(&p, b));
            for off in 1..=page::max_offset(&p) {
                let t = page::get_item(&p, off).unwrap();
                assert_eq!(heaptuple::xmin(t), BOOTSTRAP_XID);
                assert_eq!(
                    heaptuple::ctid(t),
                    ItemPointer {
                        block: b,
                        offset: off
                    }
                );
                let r = datum::deform_row(t, &cat.types()).unwrap();
                if let Value::Name(n) = &r[cat.col("relname")] {
                    names.push(n.clone());
                }
                assert_eq!(r[cat.col("oid")], r[cat.col("relfilenode")]);
            }
        }
        assert!(names.contains(&"pg_class".to_string()));
        assert!(names.contains(&"pg_class_relname_nsp_index".to_string()));
        assert_eq!(names.len(), CATALOGS.len() + CATALOG_INDEXES.len());
        for idx in CATALOG_INDEXES {
            assert!(
                d.path().join(format!("base/5/{}", idx.oid)).exists(),
                "{}",
                idx.name
            );
        }
        // pg_database is shared: one file, three rows.
        let db = catalog(PG_DATABASE_OID);
        let mut p = [0u8; BLCKSZ];
        md.read(db.locator(0), Fork::Main, 0, &mut p).unwrap();
        assert_eq!(page::max_offset(&p), 3);
        let r = datum::deform_row(page::get_item(&p, 3).unwrap(), &db.types()).unwrap();
        assert_eq!(r[db.col("datname")], Value::Name("postgres".into()));
        assert_eq!(r[db.col("oid")], Value::Oid(5));
    }
}
