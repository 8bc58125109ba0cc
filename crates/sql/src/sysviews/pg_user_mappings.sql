SELECT u.oid AS umid, s.oid AS srvid, s.srvname AS srvname, u.umuser AS umuser,
  CASE WHEN u.umuser = 0 THEN 'public'::name ELSE a.rolname END AS usename,
  CASE WHEN (u.umuser <> 0 AND a.rolname = current_user AND pg_has_role(s.srvowner, 'USAGE'))
         OR (u.umuser = 0 AND pg_has_role(s.srvowner, 'USAGE'))
         OR (SELECT r.rolsuper FROM pg_catalog.pg_roles r WHERE r.rolname = current_user)
       THEN u.umoptions ELSE NULL END AS umoptions
FROM pg_catalog.pg_user_mapping u
  JOIN pg_catalog.pg_foreign_server s ON u.umserver = s.oid
  LEFT JOIN pg_catalog.pg_roles a ON a.oid = u.umuser
