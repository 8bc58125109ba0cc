-- User-defined operators and casts.
CREATE FUNCTION box_like(int4, int4) RETURNS bool LANGUAGE sql IMMUTABLE
  AS $$ SELECT abs($1 - $2) <= 1 $$;
CREATE FUNCTION not_box_like(int4, int4) RETURNS bool LANGUAGE sql IMMUTABLE
  AS $$ SELECT abs($1 - $2) > 1 $$;
CREATE FUNCTION twice(int8) RETURNS int8 LANGUAGE plpgsql IMMUTABLE
  AS $$ BEGIN RETURN $1 * 2; END $$;
CREATE FUNCTION cat3(text, int4) RETURNS text LANGUAGE sql
  AS $$ SELECT $1 || '/' || $2 $$;
CREATE OPERATOR ~~~ (leftarg = int4, rightarg = int4, procedure = box_like,
  commutator = ~~~, negator = !~~~, restrict = eqsel, join = eqjoinsel, hashes);
SELECT oprname, oprkind, oprleft::regtype, oprright::regtype, oprresult::regtype,
       oprcode, oprrest, oprjoin, oprcanhash, oprcanmerge,
       oprcom = oid AS self_commutator, oprnegate <> 0 AS has_negator
  FROM pg_operator WHERE oid >= 16384 ORDER BY oprname;
-- the negator is a shell until defined
SELECT oprname, oprcode, oprresult FROM pg_operator WHERE oprname = '!~~~';
CREATE OPERATOR !~~~ (leftarg = int4, rightarg = int4, procedure = not_box_like);
SELECT a.oprname, b.oprname AS negator FROM pg_operator a JOIN pg_operator b ON a.oprnegate = b.oid
  WHERE a.oid >= 16384 ORDER BY 1;
SELECT 3 ~~~ 4, 3 ~~~ 5, 3 !~~~ 5, 3 OPERATOR(public.~~~) 2;
SELECT x FROM generate_series(1, 6) x WHERE x ~~~ 3 ORDER BY x;
SELECT '7' ~~~ 8;
SELECT 3::int2 ~~~ 4::int2;
CREATE OPERATOR ## (leftarg = text, rightarg = int4, procedure = cat3);
SELECT 'a' ## 1, ('b'::varchar) ## 2::int2;
CREATE OPERATOR @@@ (rightarg = int8, procedure = twice);
SELECT @@@ 21, @@@ 2 + 3 AS p, 1 + @@@ 4, @@@ @@@ 1, @@@ '5';
SELECT x FROM generate_series(1, 5) x WHERE @@@ x > 6 ORDER BY @@@ x DESC;
SELECT @@@ 1.5;
SELECT 2 !=- 1, 2 !=/**/ 1, 2<>-1;
CREATE OPERATOR <+> (leftarg = int4, rightarg = int4, procedure = int4pl);
SELECT 20 <+> 22;
CREATE OPERATOR === (leftarg = int4, rightarg = int4, procedure = int4eq, commutator = ===);
SELECT 1 === 1, 1 === 2;
-- errors
CREATE OPERATOR ~~~ (leftarg = int4, rightarg = int4, procedure = box_like);
CREATE OPERATOR #%# (leftarg = int8, procedure = twice);
CREATE OPERATOR #%# (procedure = twice);
CREATE OPERATOR #%# (rightarg = int8);
CREATE OPERATOR #%# (rightarg = int8, procedure = twice, bogus = 1);
CREATE OPERATOR #%# (leftarg = SETOF int8, rightarg = int8, procedure = twice);
CREATE OPERATOR #%# (leftarg = int8, rightarg = int8, procedure = twice);
CREATE OPERATOR #%# (rightarg = int8, procedure = twice, commutator = ##);
CREATE OPERATOR #%# (rightarg = int8, procedure = twice, negator = ##);
CREATE OPERATOR #%# (leftarg = int4, rightarg = int4, procedure = int4eq, negator = #%#);
CREATE OPERATOR => (rightarg = int8, procedure = twice);
CREATE OPERATOR #%# (leftarg = int4, rightarg = int4, procedure = int4eq, restrict = nosuch);
CREATE OPERATOR #%# (leftarg = int4, rightarg = int4, procedure = int4eq, join = nosuch);
-- ALTER OPERATOR
ALTER OPERATOR ~~~ (int4, int4) SET (RESTRICT = NONE, JOIN = NONE);
SELECT oprrest, oprjoin FROM pg_operator WHERE oprname = '~~~';
ALTER OPERATOR ~~~ (int4, int4) SET (RESTRICT = contsel);
SELECT oprrest, oprjoin FROM pg_operator WHERE oprname = '~~~';
ALTER OPERATOR ~~~ (int4, int4) SET (COMMUTATOR = ~~~);
ALTER OPERATOR ~~~ (int4, int4) SET (bogus = nosuch);
ALTER OPERATOR ~~~ (int4, int8) SET (RESTRICT = NONE);
CREATE SCHEMA opschema;
ALTER OPERATOR <+> (int4, int4) SET SCHEMA opschema;
SELECT 1 <+> 2;
SELECT 1 OPERATOR(opschema.<+>) 2;
CREATE ROLE op_owner;
ALTER OPERATOR opschema.<+> (int4, int4) OWNER TO op_owner;
SELECT o.oprname, n.nspname, r.rolname FROM pg_operator o JOIN pg_namespace n ON n.oid = o.oprnamespace
  JOIN pg_roles r ON r.oid = o.oprowner WHERE o.oprname = '<+>';
-- DROP OPERATOR
DROP OPERATOR ~~~ (int4, int8);
DROP OPERATOR IF EXISTS ~~~ (int4, int8);
DROP OPERATOR ~~~ (int4, NONE);
DROP OPERATOR IF EXISTS ~~~ (nosuchtype, int4);
DROP OPERATOR IF EXISTS nosuchschema.~~~ (int4, int4);
DROP OPERATOR @@@ (NONE, int8), opschema.<+> (int4, int4);
DROP FUNCTION box_like(int4, int4);
DROP FUNCTION box_like(int4, int4) CASCADE;
SELECT oprname, oprnegate FROM pg_operator WHERE oid >= 16384 ORDER BY oprname;
DROP OPERATOR !~~~ (int4, int4);
DROP FUNCTION cat3(text, int4) RESTRICT;
-- casts
CREATE TYPE digit AS ENUM ('1', '2', '3');
CREATE FUNCTION digit_num(digit) RETURNS int4 LANGUAGE sql IMMUTABLE
  AS $$ SELECT $1::text::int4 * 10 $$;
SELECT '2'::digit::int4;
CREATE CAST (digit AS int4) WITH FUNCTION digit_num(digit);
SELECT '2'::digit::int4, CAST('3'::digit AS integer);
CREATE CAST (int4 AS digit) WITH INOUT AS ASSIGNMENT;
SELECT 3::digit;
SELECT castsource::regtype, casttarget::regtype, castfunc::regproc, castcontext, castmethod FROM pg_cast
  WHERE oid >= 16384 ORDER BY 1, 2;
CREATE CAST (digit AS int4) WITH FUNCTION digit_num(digit);
CREATE CAST (int4 AS digit) WITH FUNCTION digit_num;
DROP FUNCTION digit_num(digit);
DROP CAST (digit AS int4);
DROP CAST (digit AS int4);
DROP CAST IF EXISTS (digit AS int4);
DROP CAST IF EXISTS (digit AS nosuchtype);
DROP FUNCTION digit_num(digit);
DROP CAST (int4 AS digit);
SELECT count(*) FROM pg_cast WHERE oid >= 16384;
DROP OPERATOR ## (text, int4), === (int4, int4);
SELECT count(*) FROM pg_operator WHERE oid >= 16384;
DROP ROLE op_owner;
-- transactional: visible to the transaction's later commands, gone with
-- a rolled-back savepoint or transaction
BEGIN;
CREATE FUNCTION half(int4, int4) RETURNS int4 LANGUAGE sql AS $$ SELECT ($1 + $2) / 2 $$;
CREATE OPERATOR <^^> (leftarg = int4, rightarg = int4, procedure = half);
SELECT 4 <^^> 8;
SAVEPOINT s;
DROP OPERATOR <^^> (int4, int4);
SELECT 4 <^^> 8;
ROLLBACK TO SAVEPOINT s;
SELECT 10 <^^> 20;
ROLLBACK;
SELECT 4 <^^> 8;
