SELECT current_database()::name AS table_catalog, nc.nspname AS table_schema, c.relname AS table_name,
  (CASE WHEN nc.oid = pg_my_temp_schema() THEN 'LOCAL TEMPORARY'
        WHEN c.relkind IN ('r', 'p') THEN 'BASE TABLE'
        WHEN c.relkind = 'v' THEN 'VIEW'
        WHEN c.relkind = 'f' THEN 'FOREIGN'
        ELSE NULL END)::varchar AS table_type,
  NULL::name AS self_referencing_column_name, NULL::varchar AS reference_generation,
  NULL::name AS user_defined_type_catalog, NULL::name AS user_defined_type_schema, NULL::name AS user_defined_type_name,
  (CASE WHEN c.relkind IN ('r', 'p') THEN 'YES'
    WHEN c.relkind IN ('v', 'f') AND pg_relation_is_updatable(c.oid, false) & 8 = 8 THEN 'YES'
    ELSE 'NO' END)::varchar(3) AS is_insertable_into,
  'NO'::varchar(3) AS is_typed,
  NULL::varchar AS commit_action
FROM pg_catalog.pg_namespace nc JOIN pg_catalog.pg_class c ON nc.oid = c.relnamespace
WHERE c.relkind IN ('r', 'v', 'f', 'p') AND NOT pg_is_other_temp_schema(nc.oid)
