SELECT current_database()::name AS foreign_data_wrapper_catalog, w.fdwname AS foreign_data_wrapper_name,
  o.option_name::name AS option_name, o.option_value::varchar AS option_value
FROM pg_catalog.pg_foreign_data_wrapper w, LATERAL pg_catalog.pg_options_to_table(w.fdwoptions) o
WHERE pg_has_role(w.fdwowner, 'USAGE') OR has_foreign_data_wrapper_privilege(w.oid, 'USAGE')
