SELECT current_database()::name AS table_catalog, nc.nspname AS table_schema, c.relname AS table_name,
  pg_get_viewdef(c.oid)::varchar AS view_definition, 'NONE'::varchar AS check_option,
  'NO'::varchar(3) AS is_updatable, 'NO'::varchar(3) AS is_insertable_into,
  'NO'::varchar(3) AS is_trigger_updatable, 'NO'::varchar(3) AS is_trigger_deletable,
  'NO'::varchar(3) AS is_trigger_insertable_into
FROM pg_catalog.pg_namespace nc JOIN pg_catalog.pg_class c ON nc.oid = c.relnamespace
WHERE c.relkind = 'v' AND NOT pg_is_other_temp_schema(nc.oid)
