\set SHOW_CONTEXT always
CREATE TABLE acct (id int, owner text, balance numeric);
INSERT INTO acct VALUES (1, 'ann', 100), (2, 'bob', 50), (3, 'cy', 0);
-- SQL functions: named and numbered arguments, defaults, overloading.
CREATE FUNCTION add_one(a integer) RETURNS integer LANGUAGE sql IMMUTABLE AS 'SELECT a + 1';
SELECT add_one(41);
CREATE FUNCTION add2(integer, integer DEFAULT 10) RETURNS integer AS $$ SELECT $1 + $2 $$ LANGUAGE sql;
SELECT add2(1), add2(1, 2);
CREATE FUNCTION add_one(a text) RETURNS text LANGUAGE sql AS $$ SELECT a || '+1' $$;
SELECT add_one('x'::text), add_one(1);
CREATE FUNCTION add_one(a integer) RETURNS integer LANGUAGE sql AS 'SELECT a + 2';
CREATE OR REPLACE FUNCTION add_one(a integer) RETURNS integer LANGUAGE sql AS 'SELECT a + 2';
SELECT add_one(41);
CREATE OR REPLACE FUNCTION add_one(a integer) RETURNS text LANGUAGE sql AS 'SELECT a::text';
CREATE FUNCTION bad() RETURNS integer LANGUAGE sql AS $$ SELECT 'a'::text $$;
CREATE FUNCTION owner_of(int) RETURNS text LANGUAGE sql STABLE AS $$ SELECT owner FROM acct WHERE id = $1 $$;
SELECT id, owner_of(id) FROM acct ORDER BY id;
CREATE FUNCTION rich(min numeric) RETURNS TABLE(who text, amount numeric) LANGUAGE sql AS $$ SELECT owner, balance FROM acct WHERE balance >= min ORDER BY balance DESC $$;
SELECT * FROM rich(1);
CREATE FUNCTION ids() RETURNS SETOF integer LANGUAGE sql AS $$ SELECT id FROM acct ORDER BY id DESC $$;
SELECT * FROM ids();
SELECT add_one(1, 2, 3);
DROP FUNCTION add_one;
DROP FUNCTION add_one(text);
DROP FUNCTION IF EXISTS add_one(text);
DROP FUNCTION add_one(text);
DROP FUNCTION nothing_here;
-- PL/pgSQL
CREATE FUNCTION fact(n integer) RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
  r integer := 1;
BEGIN
  FOR i IN 1..n LOOP
    r := r * i;
  END LOOP;
  RETURN r;
END;
$$;
SELECT fact(5), fact(0);
CREATE FUNCTION classify(v integer) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
  IF v < 0 THEN
    RETURN 'negative';
  ELSIF v = 0 THEN
    RETURN 'zero';
  ELSE
    CASE v
      WHEN 1, 2, 3 THEN RETURN 'small';
      ELSE RETURN 'large';
    END CASE;
  END IF;
END;
$$;
SELECT classify(-5), classify(0), classify(2), classify(100);
CREATE FUNCTION loops() RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  s text := '';
  i integer := 0;
BEGIN
  LOOP
    i := i + 1;
    EXIT WHEN i > 10;
    CONTINUE WHEN i % 2 = 0;
    s := s || i || ',';
  END LOOP;
  WHILE i > 7 LOOP
    i := i - 1;
  END LOOP;
  FOR j IN REVERSE 10..1 BY 3 LOOP
    s := s || j || ';';
  END LOOP;
  <<outer>>
  FOR a IN 1..3 LOOP
    FOR b IN 1..3 LOOP
      EXIT outer WHEN a * b = 4;
      s := s || a * b;
    END LOOP;
  END LOOP;
  RETURN s || ' i=' || i;
END;
$$;
SELECT loops();
CREATE FUNCTION total() RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
  r record;
  t numeric := 0;
  n acct.balance%TYPE;
BEGIN
  FOR r IN SELECT * FROM acct ORDER BY id LOOP
    t := t + r.balance;
    RAISE NOTICE 'account % of % has %', r.id, r.owner, r.balance;
  END LOOP;
  SELECT balance INTO n FROM acct WHERE owner = 'bob';
  RAISE NOTICE 'bob has %, found %', n, FOUND;
  SELECT balance INTO n FROM acct WHERE owner = 'nobody';
  RAISE NOTICE 'nobody has %, found %', n, FOUND;
  RETURN t;
END;
$$;
SELECT total();
CREATE FUNCTION strict_one(who text) RETURNS numeric LANGUAGE plpgsql AS $$
DECLARE
  b numeric;
BEGIN
  SELECT balance INTO STRICT b FROM acct WHERE owner LIKE who;
  RETURN b;
END;
$$;
SELECT strict_one('ann');
SELECT strict_one('nobody');
SELECT strict_one('%');
CREATE FUNCTION pay(src int, dst int, amount numeric) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  n bigint;
BEGIN
  UPDATE acct SET balance = balance - amount WHERE id = src;
  GET DIAGNOSTICS n = ROW_COUNT;
  IF n = 0 THEN
    RAISE EXCEPTION 'no account %', src USING ERRCODE = 'no_data_found', HINT = 'Check the id.';
  END IF;
  IF (SELECT balance FROM acct WHERE id = src) < 0 THEN
    RAISE EXCEPTION 'account % would be overdrawn', src USING DETAIL = 'balance below zero';
  END IF;
  UPDATE acct SET balance = balance + amount WHERE id = dst;
  RETURN 'ok';
EXCEPTION
  WHEN raise_exception THEN
    RAISE NOTICE 'refused: % (%)', SQLERRM, SQLSTATE;
    RETURN 'refused';
END;
$$;
SELECT pay(1, 2, 30);
SELECT pay(2, 3, 500);
SELECT pay(9, 3, 1);
SELECT id, balance FROM acct ORDER BY id;
CREATE FUNCTION series(n int) RETURNS SETOF integer LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    RETURN NEXT i * 10;
  END LOOP;
  RETURN QUERY SELECT id FROM acct ORDER BY id;
  RETURN;
END;
$$;
SELECT * FROM series(3);
CREATE FUNCTION report() RETURNS TABLE(who text, doubled numeric) LANGUAGE plpgsql AS $$
BEGIN
  FOR who, doubled IN SELECT owner, balance * 2 FROM acct ORDER BY id LOOP
    RETURN NEXT;
  END LOOP;
END;
$$;
SELECT * FROM report();
CREATE FUNCTION dyn(tbl text, min numeric) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  c bigint;
BEGIN
  EXECUTE 'SELECT count(*) FROM ' || tbl || ' WHERE balance >= $1' INTO c USING min;
  RETURN c;
END;
$$;
SELECT dyn('acct', 50);
CREATE FUNCTION div(a int, b int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
  r int;
BEGIN
  r := a / b;
  RETURN r;
END;
$$;
SELECT div(1, 0);
CREATE FUNCTION safe_div(a int, b int) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RETURN a / b;
EXCEPTION WHEN division_by_zero THEN
  RAISE WARNING 'caught %', SQLSTATE;
  RETURN NULL;
END;
$$;
SELECT safe_div(1, 0) IS NULL;
CREATE FUNCTION no_return() RETURNS int LANGUAGE plpgsql AS $$ BEGIN END $$;
SELECT no_return();
CREATE FUNCTION undo() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    INSERT INTO acct VALUES (4, 'dee', 1);
    PERFORM 1 / 0;
  EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'rolled back: %', SQLERRM;
  END;
  RETURN (SELECT count(*) FROM acct);
END;
$$;
SELECT undo();
DO $$
DECLARE
  x int := 3;
BEGIN
  RAISE NOTICE 'x is %', x;
  ASSERT x = 3, 'x should be 3';
  ASSERT x = 4, 'x should be 4';
END
$$;
DO $$ BEGIN RAISE division_by_zero; END $$;
DO $$ BEGIN RAISE SQLSTATE '22012'; END $$;
DO $$ BEGIN RAISE 'plain % and %%', 5; END $$;
DO $$ BEGIN RAISE NOTICE 'a %', 1, 2; END $$;
CREATE PROCEDURE deposit(who int, amount numeric) LANGUAGE plpgsql AS $$
BEGIN
  UPDATE acct SET balance = balance + amount WHERE id = who;
  RAISE NOTICE 'deposited % to %', amount, who;
END;
$$;
CALL deposit(3, 5);
SELECT balance FROM acct WHERE id = 3;
SELECT deposit(3, 5);
CALL fact(3);
DROP PROCEDURE deposit;
CREATE TABLE emp(id int, name text, salary numeric);
INSERT INTO emp VALUES (1,'a',10),(2,'b',20);
CREATE FUNCTION f_rt(i int) RETURNS text LANGUAGE plpgsql AS $$
DECLARE e emp%ROWTYPE; c CONSTANT int := 5; t text;
BEGIN
  SELECT * INTO e FROM emp WHERE id = i;
  e.salary := e.salary + c;
  t := format('%s earns %s', e.name, e.salary);
  RETURN t;
END $$;
SELECT f_rt(1);
CREATE FUNCTION f_all() RETURNS SETOF emp LANGUAGE plpgsql AS $$
DECLARE r emp%ROWTYPE;
BEGIN
  FOR r IN SELECT * FROM emp ORDER BY id LOOP
    r.salary := r.salary * 2;
    RETURN NEXT r;
  END LOOP;
END $$;
SELECT * FROM f_all();
DO $$
DECLARE n int;
BEGIN
  EXECUTE format('SELECT count(*) FROM %I', 'emp') INTO n;
  RAISE NOTICE 'n=%', n;
  INSERT INTO emp VALUES (3, 'c', 30) RETURNING id INTO n;
  RAISE NOTICE 'inserted %', n;
  UPDATE emp SET salary = salary + 1 WHERE id > 1;
  GET DIAGNOSTICS n = ROW_COUNT;
  RAISE NOTICE 'updated %', n;
END $$;
SELECT * FROM emp ORDER BY id;
DO $$ BEGIN PERFORM pg_sleep(0); IF NOT FOUND THEN RAISE NOTICE 'nf'; ELSE RAISE NOTICE 'f'; END IF; END $$;
DO $$
BEGIN
  BEGIN
    RAISE EXCEPTION USING MESSAGE = 'custom', ERRCODE = '22012';
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'got it: %', SQLERRM;
  END;
  BEGIN
    PERFORM 1/0;
  EXCEPTION WHEN others THEN
    DECLARE m text; d text;
    BEGIN
      GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = RETURNED_SQLSTATE;
      RAISE NOTICE 'stacked % %', m, d;
    END;
  END;
END $$;
CREATE FUNCTION retry() RETURNS int LANGUAGE plpgsql AS $$
DECLARE tries int := 0;
BEGIN
  LOOP
    BEGIN
      tries := tries + 1;
      IF tries < 3 THEN RAISE EXCEPTION 'transient'; END IF;
      RETURN tries;
    EXCEPTION WHEN raise_exception THEN
      RAISE NOTICE 'retry %', tries;
    END;
  END LOOP;
END $$;
SELECT retry();
CREATE FUNCTION functest_q1(text, date) RETURNS bool LANGUAGE 'sql' AS 'SELECT $1 = ''abcd'' AND $2 > ''2001-01-01''';
CREATE FUNCTION functest_q2(text[]) RETURNS int LANGUAGE 'SQL' AS 'SELECT $1[1]::int';
SELECT proname, prorettype::regtype FROM pg_proc WHERE oid in ('functest_q1'::regproc, 'functest_q1'::regproc) ORDER BY proname;
SELECT functest_q1('abcd', '2020-01-01');
select 1 where 26::oid in (26::oid, 'int4'::regtype);
select 1 where 'int4'::regtype in (23::oid, 'int4'::regtype);
DO LANGUAGE 'plpgsql' $$ begin raise notice 'x'; end $$;
