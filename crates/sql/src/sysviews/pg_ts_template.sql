SELECT v.oid, v.tmplname, v.tmplnamespace, v.tmplinit, v.tmpllexize
FROM (VALUES (3727::oid, 'simple'::name, 11::oid, 3725::oid, 3726::oid),
             (3730::oid, 'synonym'::name, 11::oid, 3728::oid, 3729::oid),
             (3733::oid, 'ispell'::name, 11::oid, 3731::oid, 3732::oid),
             (3742::oid, 'thesaurus'::name, 11::oid, 3740::oid, 3741::oid),
             (13150::oid, 'snowball'::name, 11::oid, 13148::oid, 13149::oid))
  AS v(oid, tmplname, tmplnamespace, tmplinit, tmpllexize)
