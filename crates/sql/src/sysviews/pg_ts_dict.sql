SELECT v.oid, v.dictname, v.dictnamespace, v.dictowner, v.dicttemplate, v.dictinitoption
FROM (VALUES (3765::oid, 'simple'::name, 11::oid, 10::oid, 3727::oid, NULL::text),
             (13163::oid, 'english_stem'::name, 11::oid, 10::oid, 13150::oid,
              'language = ''english'', stopwords = ''english'''::text))
  AS v(oid, dictname, dictnamespace, dictowner, dicttemplate, dictinitoption)
