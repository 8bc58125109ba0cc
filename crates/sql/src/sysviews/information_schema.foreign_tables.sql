SELECT current_database()::name AS foreign_table_catalog, n.nspname AS foreign_table_schema,
  c.relname AS foreign_table_name, current_database()::name AS foreign_server_catalog,
  s.srvname AS foreign_server_name
FROM pg_catalog.pg_foreign_table t
  JOIN pg_catalog.pg_class c ON c.oid = t.ftrelid
  JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  JOIN pg_catalog.pg_foreign_server s ON s.oid = t.ftserver
