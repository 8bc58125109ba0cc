SELECT current_database()::name AS constraint_catalog, rs.nspname AS constraint_schema, con.conname AS constraint_name,
  substring(pg_get_constraintdef(con.oid), 7)::varchar AS check_clause
FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_namespace rs ON rs.oid = con.connamespace
  JOIN pg_catalog.pg_class c ON c.oid = con.conrelid
WHERE con.contype = 'c' AND NOT pg_is_other_temp_schema(rs.oid)
UNION ALL
SELECT current_database()::name, n.nspname,
  (n.oid::text || '_' || r.oid::text || '_' || a.attnum::text || '_not_null')::name,
  (a.attname::text || ' IS NOT NULL')::varchar
FROM pg_catalog.pg_namespace n
  JOIN pg_catalog.pg_class r ON n.oid = r.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
WHERE a.attnotnull AND a.attnum > 0 AND NOT a.attisdropped AND r.relkind IN ('r', 'p')
  AND NOT pg_is_other_temp_schema(n.oid)
