SELECT v.oid, v.prsname, v.prsnamespace, v.prsstart, v.prstoken, v.prsend, v.prsheadline, v.prslextype
FROM (VALUES (3722::oid, 'default'::name, 11::oid, 3717::oid, 3718::oid, 3719::oid, 3720::oid, 3721::oid))
  AS v(oid, prsname, prsnamespace, prsstart, prstoken, prsend, prsheadline, prslextype)
