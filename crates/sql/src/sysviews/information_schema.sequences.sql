SELECT current_database()::name AS sequence_catalog, nc.nspname AS sequence_schema, c.relname AS sequence_name,
  format_type(s.seqtypid, NULL)::varchar AS data_type,
  (CASE s.seqtypid WHEN 21 THEN 16 WHEN 23 THEN 32 ELSE 64 END)::int4 AS numeric_precision,
  2::int4 AS numeric_precision_radix, 0::int4 AS numeric_scale,
  s.seqstart::varchar AS start_value, s.seqmin::varchar AS minimum_value, s.seqmax::varchar AS maximum_value,
  s.seqincrement::varchar AS increment,
  (CASE WHEN s.seqcycle THEN 'YES' ELSE 'NO' END)::varchar(3) AS cycle_option
FROM pg_catalog.pg_namespace nc JOIN pg_catalog.pg_class c ON nc.oid = c.relnamespace
  JOIN pg_catalog.pg_sequence s ON c.oid = s.seqrelid
WHERE c.relkind = 'S'
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d WHERE d.classid = 1259 AND d.objid = c.oid AND d.deptype = 'i') AND NOT pg_is_other_temp_schema(nc.oid)
