SELECT n.nspname AS schemaname, c.relname AS tablename, pol.polname AS policyname,
  CASE WHEN pol.polpermissive THEN 'PERMISSIVE'::text ELSE 'RESTRICTIVE'::text END AS permissive,
  CASE WHEN pol.polroles = '{0}'::oid[] THEN string_to_array('public'::text, ''::text)::name[]
    ELSE ARRAY(SELECT pg_authid.rolname FROM pg_catalog.pg_roles pg_authid
               WHERE pg_authid.oid = ANY (pol.polroles) ORDER BY pg_authid.rolname)
  END AS roles,
  CASE pol.polcmd
    WHEN 'r'::"char" THEN 'SELECT'::text
    WHEN 'a'::"char" THEN 'INSERT'::text
    WHEN 'w'::"char" THEN 'UPDATE'::text
    WHEN 'd'::"char" THEN 'DELETE'::text
    WHEN '*'::"char" THEN 'ALL'::text
    ELSE NULL::text
  END AS cmd,
  pg_get_expr(pol.polqual, pol.polrelid) AS qual,
  pg_get_expr(pol.polwithcheck, pol.polrelid) AS with_check
FROM pg_catalog.pg_policy pol
  JOIN pg_catalog.pg_class c ON c.oid = pol.polrelid
  LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
