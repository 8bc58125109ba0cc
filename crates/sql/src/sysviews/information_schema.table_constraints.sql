SELECT current_database()::name AS constraint_catalog, nc.nspname AS constraint_schema, c.conname AS constraint_name,
  current_database()::name AS table_catalog, nr.nspname AS table_schema, r.relname AS table_name,
  (CASE c.contype WHEN 'c' THEN 'CHECK' WHEN 'f' THEN 'FOREIGN KEY' WHEN 'p' THEN 'PRIMARY KEY'
     WHEN 'u' THEN 'UNIQUE' END)::varchar AS constraint_type,
  (CASE WHEN c.condeferrable THEN 'YES' ELSE 'NO' END)::varchar(3) AS is_deferrable,
  (CASE WHEN c.condeferred THEN 'YES' ELSE 'NO' END)::varchar(3) AS initially_deferred,
  'YES'::varchar(3) AS enforced,
  (CASE WHEN c.contype = 'u' THEN CASE WHEN (SELECT NOT i.indnullsnotdistinct FROM pg_catalog.pg_index i WHERE i.indexrelid = c.conindid) THEN 'YES' ELSE 'NO' END END)::varchar(3) AS nulls_distinct
FROM pg_catalog.pg_constraint c
  JOIN pg_catalog.pg_namespace nc ON nc.oid = c.connamespace
  JOIN pg_catalog.pg_class r ON r.oid = c.conrelid
  JOIN pg_catalog.pg_namespace nr ON nr.oid = r.relnamespace
WHERE c.contype IN ('c', 'f', 'p', 'u') AND r.relkind IN ('r', 'p') AND NOT pg_is_other_temp_schema(nr.oid)
UNION ALL
SELECT current_database()::name, nr.nspname,
  (nr.oid::text || '_' || r.oid::text || '_' || a.attnum::text || '_not_null')::name,
  current_database()::name, nr.nspname, r.relname,
  'CHECK'::varchar, 'NO'::varchar(3), 'NO'::varchar(3), 'YES'::varchar(3), NULL::varchar(3)
FROM pg_catalog.pg_namespace nr
  JOIN pg_catalog.pg_class r ON nr.oid = r.relnamespace
  JOIN pg_catalog.pg_attribute a ON a.attrelid = r.oid
WHERE a.attnotnull AND a.attnum > 0 AND NOT a.attisdropped AND r.relkind IN ('r', 'p')
  AND NOT pg_is_other_temp_schema(nr.oid)
