SELECT CASE WHEN u.umuser = 0 THEN 'PUBLIC'::name ELSE a.rolname END AS authorization_identifier,
  current_database()::name AS foreign_server_catalog, s.srvname AS foreign_server_name,
  o.option_name::name AS option_name,
  CASE WHEN (u.umuser <> 0 AND a.rolname = current_user)
         OR (u.umuser = 0 AND pg_has_role(s.srvowner, 'USAGE'))
         OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
       THEN o.option_value::varchar ELSE NULL::varchar END AS option_value
FROM pg_catalog.pg_user_mapping u
  JOIN pg_catalog.pg_foreign_server s ON s.oid = u.umserver
  LEFT JOIN pg_catalog.pg_roles a ON a.oid = u.umuser,
  LATERAL pg_catalog.pg_options_to_table(u.umoptions) o
WHERE pg_has_role(s.srvowner, 'USAGE') OR has_server_privilege(s.oid, 'USAGE')
