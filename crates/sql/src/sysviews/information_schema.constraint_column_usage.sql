SELECT current_database()::name AS table_catalog, nr.nspname AS table_schema, r.relname AS table_name,
  a.attname AS column_name, current_database()::name AS constraint_catalog, nc.nspname AS constraint_schema,
  c.conname AS constraint_name
FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_namespace nc ON nc.oid = c.connamespace
  JOIN pg_catalog.pg_class r ON r.oid = (CASE WHEN c.contype = 'f' THEN c.confrelid ELSE c.conrelid END)
  JOIN pg_catalog.pg_namespace nr ON nr.oid = r.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
    AND a.attnum = ANY (CASE WHEN c.contype = 'f' THEN c.confkey ELSE c.conkey END)
WHERE c.contype IN ('c', 'f', 'p', 'u') AND NOT a.attisdropped AND r.relkind IN ('r', 'p')
  AND NOT pg_is_other_temp_schema(nr.oid)
