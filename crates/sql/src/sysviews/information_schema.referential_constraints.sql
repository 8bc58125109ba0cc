SELECT current_database()::name AS constraint_catalog, ncon.nspname AS constraint_schema, con.conname AS constraint_name,
  (CASE WHEN npkc.nspname IS NULL THEN NULL ELSE current_database() END)::name AS unique_constraint_catalog,
  npkc.nspname AS unique_constraint_schema, pkc.conname AS unique_constraint_name,
  (CASE con.confmatchtype WHEN 'f' THEN 'FULL' WHEN 'p' THEN 'PARTIAL' ELSE 'NONE' END)::varchar AS match_option,
  (CASE con.confupdtype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
     WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END)::varchar AS update_rule,
  (CASE con.confdeltype WHEN 'c' THEN 'CASCADE' WHEN 'n' THEN 'SET NULL' WHEN 'd' THEN 'SET DEFAULT'
     WHEN 'r' THEN 'RESTRICT' ELSE 'NO ACTION' END)::varchar AS delete_rule
FROM pg_catalog.pg_constraint con
  JOIN pg_catalog.pg_namespace ncon ON con.connamespace = ncon.oid
  JOIN pg_catalog.pg_class c ON con.conrelid = c.oid
  LEFT JOIN pg_catalog.pg_constraint pkc ON pkc.conindid = con.conindid AND pkc.contype IN ('p', 'u') AND pkc.conrelid = con.confrelid
  LEFT JOIN pg_catalog.pg_namespace npkc ON pkc.connamespace = npkc.oid
WHERE con.contype = 'f' AND NOT pg_is_other_temp_schema(ncon.oid)
