SELECT s.oid AS subid, s.subname AS subname, 0::int8 AS apply_error_count,
  0::int8 AS sync_error_count, NULL::timestamptz AS stats_reset
FROM pg_catalog.pg_subscription s
