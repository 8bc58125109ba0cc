SELECT current_database()::name AS foreign_data_wrapper_catalog, w.fdwname AS foreign_data_wrapper_name,
  pg_get_userbyid(w.fdwowner) AS authorization_identifier, NULL::varchar AS library_name,
  'c'::varchar AS foreign_data_wrapper_language
FROM pg_catalog.pg_foreign_data_wrapper w
WHERE pg_has_role(w.fdwowner, 'USAGE') OR has_foreign_data_wrapper_privilege(w.oid, 'USAGE')
