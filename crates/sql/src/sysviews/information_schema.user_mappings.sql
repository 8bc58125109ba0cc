SELECT CASE WHEN u.umuser = 0 THEN 'PUBLIC'::name ELSE a.rolname END AS authorization_identifier,
  current_database()::name AS foreign_server_catalog, s.srvname AS foreign_server_name
FROM pg_catalog.pg_user_mapping u
  JOIN pg_catalog.pg_foreign_server s ON s.oid = u.umserver
  LEFT JOIN pg_catalog.pg_roles a ON a.oid = u.umuser
WHERE pg_has_role(s.srvowner, 'USAGE') OR has_server_privilege(s.oid, 'USAGE')
