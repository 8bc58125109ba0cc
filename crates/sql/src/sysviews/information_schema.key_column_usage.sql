SELECT current_database()::name AS constraint_catalog, nc.nspname AS constraint_schema, c.conname AS constraint_name,
  current_database()::name AS table_catalog, nr.nspname AS table_schema, r.relname AS table_name,
  a.attname AS column_name, array_position(c.conkey, a.attnum)::int4 AS ordinal_position,
  (CASE WHEN c.contype = 'f' THEN array_position(pkc.conkey, (c.confkey)[array_position(c.conkey, a.attnum)]) END)::int4 AS position_in_unique_constraint
FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_namespace nc ON nc.oid = c.connamespace
  JOIN pg_catalog.pg_class r ON r.oid = c.conrelid
  JOIN pg_catalog.pg_namespace nr ON nr.oid = r.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid AND a.attnum = ANY (c.conkey)
  LEFT JOIN pg_catalog.pg_constraint pkc ON c.contype = 'f' AND pkc.conindid = c.conindid AND pkc.contype IN ('p', 'u') AND pkc.conrelid = c.confrelid
WHERE c.contype IN ('p', 'u', 'f') AND r.relkind IN ('r', 'p') AND NOT pg_is_other_temp_schema(nr.oid)
