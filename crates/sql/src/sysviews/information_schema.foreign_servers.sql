SELECT current_database()::name AS foreign_server_catalog, s.srvname AS foreign_server_name,
  current_database()::name AS foreign_data_wrapper_catalog, w.fdwname AS foreign_data_wrapper_name,
  s.srvtype::varchar AS foreign_server_type, s.srvversion::varchar AS foreign_server_version,
  pg_get_userbyid(s.srvowner) AS authorization_identifier
FROM pg_catalog.pg_foreign_server s JOIN pg_catalog.pg_foreign_data_wrapper w ON w.oid = s.srvfdw
WHERE pg_has_role(s.srvowner, 'USAGE') OR has_server_privilege(s.oid, 'USAGE')
