//! The built-in views over the catalog that tools read: pg_tables, pg_views, pg_rules, pg_indexes, pg_policies,
//! pg_matviews, pg_sequences, pg_user_mappings, pg_stat_subscription_stats (no
//! apply workers, so no errors and no reset), the information_schema views ORMs and drivers
//! introspect with.
//!
//! Why SQL text: each of these views is a query over catalog tables tusk
//! keeps as heap tables, so it is written once as SQL (the files under
//! `sysviews/`) and expanded exactly like a user's view (bind/viewref.rs
//! binds the text as a FROM subquery). No storage, no pg_class row, no
//! upgrade step: a new definition takes effect with the binary, and the
//! catalog a cluster was initialised with stays unchanged. The columns are
//! PostgreSQL 15's, in its order and with its names; where PostgreSQL uses
//! the information_schema domains (sql_identifier, character_data,
//! yes_or_no, cardinal_number) tusk gives their base types (name,
//! varchar, varchar(3), int4), which print the same.
//!
//! What is left out, and why: rows are not filtered by privileges (tusk
//! enforces none yet, so every role may see every object), and the
//! information_schema schema itself has no pg_namespace row. Views'
//! updatability comes from pg_relation_is_updatable (bind/view_dml.rs).
//!
//! Called by the binder of any backend (`catalog::lookup`).

/// A built-in view: (schema, name, PostgreSQL 15's OID for it, query).
type BuiltinView = (&'static str, &'static str, u32, &'static str);

static VIEWS: &[BuiltinView] = &[
    (
        "pg_catalog",
        "pg_views",
        12028,
        include_str!("sysviews/pg_views.sql"),
    ),
    (
        "pg_catalog",
        "pg_policies",
        12018,
        include_str!("sysviews/pg_policies.sql"),
    ),
    (
        "pg_catalog",
        "pg_rules",
        12023,
        include_str!("sysviews/pg_rules.sql"),
    ),
    (
        "pg_catalog",
        "pg_tables",
        12033,
        include_str!("sysviews/pg_tables.sql"),
    ),
    (
        "pg_catalog",
        "pg_matviews",
        12038,
        include_str!("sysviews/pg_matviews.sql"),
    ),
    (
        "pg_catalog",
        "pg_indexes",
        12043,
        include_str!("sysviews/pg_indexes.sql"),
    ),
    (
        "pg_catalog",
        "pg_sequences",
        12048,
        include_str!("sysviews/pg_sequences.sql"),
    ),
    (
        "pg_catalog",
        "pg_user_mappings",
        12327,
        include_str!("sysviews/pg_user_mappings.sql"),
    ),
    (
        "pg_catalog",
        "pg_stat_subscription_stats",
        12336,
        include_str!("sysviews/pg_stat_subscription_stats.sql"),
    ),
    (
        "information_schema",
        "foreign_data_wrapper_options",
        13511,
        include_str!("sysviews/information_schema.foreign_data_wrapper_options.sql"),
    ),
    (
        "information_schema",
        "foreign_data_wrappers",
        13515,
        include_str!("sysviews/information_schema.foreign_data_wrappers.sql"),
    ),
    (
        "information_schema",
        "foreign_server_options",
        13524,
        include_str!("sysviews/information_schema.foreign_server_options.sql"),
    ),
    (
        "information_schema",
        "foreign_servers",
        13528,
        include_str!("sysviews/information_schema.foreign_servers.sql"),
    ),
    (
        "information_schema",
        "foreign_table_options",
        13537,
        include_str!("sysviews/information_schema.foreign_table_options.sql"),
    ),
    (
        "information_schema",
        "foreign_tables",
        13541,
        include_str!("sysviews/information_schema.foreign_tables.sql"),
    ),
    (
        "information_schema",
        "user_mapping_options",
        13550,
        include_str!("sysviews/information_schema.user_mapping_options.sql"),
    ),
    (
        "information_schema",
        "user_mappings",
        13555,
        include_str!("sysviews/information_schema.user_mappings.sql"),
    ),
    (
        "information_schema",
        "check_constraints",
        13260,
        include_str!("sysviews/information_schema.check_constraints.sql"),
    ),
    (
        "information_schema",
        "columns",
        13295,
        include_str!("sysviews/information_schema.columns.sql"),
    ),
    (
        "information_schema",
        "constraint_column_usage",
        13300,
        include_str!("sysviews/information_schema.constraint_column_usage.sql"),
    ),
    (
        "information_schema",
        "key_column_usage",
        13329,
        include_str!("sysviews/information_schema.key_column_usage.sql"),
    ),
    (
        "information_schema",
        "referential_constraints",
        13339,
        include_str!("sysviews/information_schema.referential_constraints.sql"),
    ),
    (
        "information_schema",
        "schemata",
        13382,
        include_str!("sysviews/information_schema.schemata.sql"),
    ),
    (
        "information_schema",
        "sequences",
        13386,
        include_str!("sysviews/information_schema.sequences.sql"),
    ),
    (
        "information_schema",
        "table_constraints",
        13411,
        include_str!("sysviews/information_schema.table_constraints.sql"),
    ),
    (
        "information_schema",
        "tables",
        13425,
        include_str!("sysviews/information_schema.tables.sql"),
    ),
    (
        "information_schema",
        "views",
        13483,
        include_str!("sysviews/information_schema.views.sql"),
    ),
];

/// PostgreSQL 15's OIDs of the schemas the views live in.
const PG_CATALOG_NAMESPACE: u32 = 11;
const INFORMATION_SCHEMA_NAMESPACE: u32 = 13207;

/// The built-in view `schema.name` (`schema` None: unqualified, which finds
/// pg_catalog's, searched first as PostgreSQL does), as a view relation
/// whose query the binder expands.
pub(crate) fn lookup(schema: Option<&str>, name: &str) -> Option<crate::catalog::Relation> {
    let schema = schema.unwrap_or("pg_catalog");
    let &(s, n, oid, sql) = VIEWS.iter().find(|v| v.0 == schema && v.1 == name)?;
    let namespace = if s == "pg_catalog" {
        PG_CATALOG_NAMESPACE
    } else {
        INFORMATION_SCHEMA_NAMESPACE
    };
    let mut rel = crate::catalog::Relation::new(
        s,
        n,
        Vec::new(),
        crate::catalog::RelationSource::View(crate::catalog::TableRef {
            oid,
            relfilenode: 0,
            shared: false,
            namespace,
        }),
    );
    rel.view_query = Some(sql.to_string());
    // Owned by the bootstrap superuser, readable by PUBLIC, as initdb
    // leaves PostgreSQL's system views (their queries run with the
    // owner's rights, so other roles read them too).
    rel.owner = crate::acl::BOOTSTRAP_SUPERUSER;
    rel.acl = Some("{10=arwdDxt/10,=r/10}".to_string());
    Some(rel)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_definition_parses_as_one_query() {
        for (s, n, _, sql) in VIEWS {
            crate::view::parse_query_text(sql).unwrap_or_else(|e| panic!("{s}.{n}: {}", e.message));
        }
    }

    #[test]
    fn unqualified_names_find_only_pg_catalog_views() {
        assert!(lookup(None, "pg_tables").is_some());
        assert!(lookup(Some("pg_catalog"), "pg_indexes").is_some());
        assert!(lookup(None, "columns").is_none());
        let r = lookup(Some("information_schema"), "columns").unwrap();
        assert_eq!(r.schema, "information_schema");
        assert!(lookup(Some("public"), "pg_tables").is_none());
    }
}
