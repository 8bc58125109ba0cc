SELECT current_database()::name AS table_catalog, nc.nspname AS table_schema, c.relname AS table_name,
  a.attname AS column_name, a.attnum::int4 AS ordinal_position,
  (CASE WHEN a.attgenerated = '' AND a.attidentity = '' THEN pg_get_expr(ad.adbin, ad.adrelid) END)::varchar AS column_default,
  (CASE WHEN a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) THEN 'NO' ELSE 'YES' END)::varchar(3) AS is_nullable,
  (CASE WHEN t.typtype = 'd' THEN
          CASE WHEN bt.typelem <> 0 AND bt.typlen = -1 THEN 'ARRAY'
               WHEN nbt.nspname = 'pg_catalog' THEN format_type(t.typbasetype, NULL)
               ELSE 'USER-DEFINED' END
        ELSE
          CASE WHEN t.typelem <> 0 AND t.typlen = -1 THEN 'ARRAY'
               WHEN nt.nspname = 'pg_catalog' THEN format_type(a.atttypid, NULL)
               ELSE 'USER-DEFINED' END
   END)::varchar AS data_type,
  (CASE WHEN a.atttypmod = -1 THEN NULL
        WHEN a.atttypid IN (1042, 1043) THEN a.atttypmod - 4
        WHEN a.atttypid IN (1560, 1562) THEN a.atttypmod
        ELSE NULL END)::int4 AS character_maximum_length,
  (CASE WHEN a.atttypid IN (25, 1042, 1043) THEN
          CASE WHEN a.atttypmod = -1 THEN 1073741824 ELSE (a.atttypmod - 4) * 4 END
        ELSE NULL END)::int4 AS character_octet_length,
  (CASE a.atttypid WHEN 21 THEN 16 WHEN 23 THEN 32 WHEN 20 THEN 64
        WHEN 700 THEN 24 WHEN 701 THEN 53
        WHEN 1700 THEN CASE WHEN a.atttypmod = -1 THEN NULL ELSE (a.atttypmod - 4) / 65536 END
        ELSE NULL END)::int4 AS numeric_precision,
  (CASE WHEN a.atttypid IN (21, 23, 20, 700, 701) THEN 2 WHEN a.atttypid = 1700 THEN 10 ELSE NULL END)::int4 AS numeric_precision_radix,
  (CASE WHEN a.atttypid IN (21, 23, 20) THEN 0
        WHEN a.atttypid = 1700 THEN CASE WHEN a.atttypmod = -1 THEN NULL ELSE (a.atttypmod - 4) % 65536 END
        ELSE NULL END)::int4 AS numeric_scale,
  (CASE WHEN a.atttypid = 1082 THEN 0
        WHEN a.atttypid IN (1083, 1114, 1184, 1266) THEN CASE WHEN a.atttypmod < 0 THEN 6 ELSE a.atttypmod END
        WHEN a.atttypid = 1186 THEN CASE WHEN a.atttypmod < 0 OR a.atttypmod % 65536 = 65535 THEN 6 ELSE a.atttypmod % 65536 END
        ELSE NULL END)::int4 AS datetime_precision,
  NULL::varchar AS interval_type, NULL::int4 AS interval_precision,
  NULL::name AS character_set_catalog, NULL::name AS character_set_schema, NULL::name AS character_set_name,
  NULL::name AS collation_catalog, NULL::name AS collation_schema, NULL::name AS collation_name,
  (CASE WHEN t.typtype = 'd' THEN current_database() END)::name AS domain_catalog,
  (CASE WHEN t.typtype = 'd' THEN nt.nspname END)::name AS domain_schema,
  (CASE WHEN t.typtype = 'd' THEN t.typname END)::name AS domain_name,
  current_database()::name AS udt_catalog,
  coalesce(nbt.nspname, nt.nspname)::name AS udt_schema,
  coalesce(bt.typname, t.typname)::name AS udt_name,
  NULL::name AS scope_catalog, NULL::name AS scope_schema, NULL::name AS scope_name,
  NULL::int4 AS maximum_cardinality,
  a.attnum::text::name AS dtd_identifier,
  'NO'::varchar(3) AS is_self_referencing,
  (CASE WHEN a.attidentity IN ('a', 'd') THEN 'YES' ELSE 'NO' END)::varchar(3) AS is_identity,
  (CASE a.attidentity WHEN 'a' THEN 'ALWAYS' WHEN 'd' THEN 'BY DEFAULT' END)::varchar AS identity_generation,
  (CASE WHEN a.attidentity IN ('a', 'd') THEN s.seqstart::text END)::varchar AS identity_start,
  (CASE WHEN a.attidentity IN ('a', 'd') THEN s.seqincrement::text END)::varchar AS identity_increment,
  (CASE WHEN a.attidentity IN ('a', 'd') THEN s.seqmax::text END)::varchar AS identity_maximum,
  (CASE WHEN a.attidentity IN ('a', 'd') THEN s.seqmin::text END)::varchar AS identity_minimum,
  (CASE WHEN s.seqcycle THEN 'YES' ELSE 'NO' END)::varchar(3) AS identity_cycle,
  (CASE WHEN a.attgenerated <> '' THEN 'ALWAYS' ELSE 'NEVER' END)::varchar AS is_generated,
  (CASE WHEN a.attgenerated <> '' THEN pg_get_expr(ad.adbin, ad.adrelid) END)::varchar AS generation_expression,
  (CASE WHEN c.relkind IN ('r', 'p') THEN 'YES'
    WHEN c.relkind IN ('v', 'f') AND pg_column_is_updatable(c.oid, a.attnum, false) THEN 'YES'
    ELSE 'NO' END)::varchar(3) AS is_updatable
FROM pg_catalog.pg_attribute a
  LEFT JOIN pg_catalog.pg_attrdef ad ON a.attrelid = ad.adrelid AND a.attnum = ad.adnum
  JOIN pg_catalog.pg_class c ON a.attrelid = c.oid
  JOIN pg_catalog.pg_namespace nc ON c.relnamespace = nc.oid
  JOIN pg_catalog.pg_type t ON a.atttypid = t.oid
  JOIN pg_catalog.pg_namespace nt ON t.typnamespace = nt.oid
  LEFT JOIN pg_catalog.pg_type bt ON t.typtype = 'd' AND t.typbasetype = bt.oid
  LEFT JOIN pg_catalog.pg_namespace nbt ON bt.typnamespace = nbt.oid
  LEFT JOIN pg_catalog.pg_depend dep ON a.attidentity IN ('a', 'd') AND dep.refobjid = c.oid AND dep.refobjsubid = a.attnum AND dep.classid = 1259 AND dep.deptype = 'i'
  LEFT JOIN pg_catalog.pg_sequence s ON s.seqrelid = dep.objid
WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'v', 'f', 'p')
  AND NOT pg_is_other_temp_schema(nc.oid)
