SELECT current_database()::name AS foreign_table_catalog, n.nspname AS foreign_table_schema,
  c.relname AS foreign_table_name, o.option_name::name AS option_name,
  o.option_value::varchar AS option_value
FROM pg_catalog.pg_foreign_table t
  JOIN pg_catalog.pg_class c ON c.oid = t.ftrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace,
  LATERAL pg_catalog.pg_options_to_table(t.ftoptions) o
