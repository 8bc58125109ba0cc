SELECT v.oid, v.cfgname, v.cfgnamespace, v.cfgowner, v.cfgparser
FROM (VALUES (3748::oid, 'simple'::name, 11::oid, 10::oid, 3722::oid),
             (13164::oid, 'english'::name, 11::oid, 10::oid, 3722::oid))
  AS v(oid, cfgname, cfgnamespace, cfgowner, cfgparser)
