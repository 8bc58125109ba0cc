SELECT current_database()::name AS foreign_server_catalog, s.srvname AS foreign_server_name,
  o.option_name::name AS option_name, o.option_value::varchar AS option_value
FROM pg_catalog.pg_foreign_server s, LATERAL pg_catalog.pg_options_to_table(s.srvoptions) o
WHERE pg_has_role(s.srvowner, 'USAGE') OR has_server_privilege(s.oid, 'USAGE')
