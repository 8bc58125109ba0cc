CREATE TABLE nums (n int);
INSERT INTO nums VALUES (1), (2), (3);
DO $$
DECLARE x int; s int := 0; t text := '';
BEGIN
  FOREACH x IN ARRAY ARRAY[1, 2, 3, NULL, 5] LOOP
    IF x IS NULL THEN CONTINUE; END IF;
    s := s + x;
  END LOOP;
  RAISE NOTICE 'sum % found %', s, FOUND;
  FOREACH x IN ARRAY '{}'::int[] LOOP
    s := 0;
  END LOOP;
  RAISE NOTICE 'empty found % s %', FOUND, s;
  FOREACH t IN ARRAY ARRAY['a', 'b', 'c'] LOOP
    EXIT WHEN t = 'c';
    RAISE NOTICE 'elem %', t;
  END LOOP;
END $$;
DO $$
DECLARE a int[]; m int[] := ARRAY[[1, 2, 3], [4, 5, 6]];
BEGIN
  FOREACH a SLICE 1 IN ARRAY m LOOP
    RAISE NOTICE 'row %', a;
  END LOOP;
  FOREACH a SLICE 2 IN ARRAY m LOOP
    RAISE NOTICE 'whole %', a;
  END LOOP;
END $$;
DO $$
DECLARE x int;
BEGIN
  FOREACH x IN ARRAY NULL::int[] LOOP END LOOP;
END $$;
DO $$
DECLARE x int;
BEGIN
  FOREACH x IN ARRAY 5 LOOP END LOOP;
END $$;
DO $$
DECLARE x int[];
BEGIN
  FOREACH x SLICE 3 IN ARRAY ARRAY[1, 2] LOOP END LOOP;
END $$;
DO $$
DECLARE x int;
BEGIN
  FOREACH x SLICE 1 IN ARRAY ARRAY[1, 2] LOOP END LOOP;
END $$;
CREATE FUNCTION dyn(tab text, lim int) RETURNS SETOF int LANGUAGE plpgsql AS $$
DECLARE c bigint;
BEGIN
  RETURN QUERY EXECUTE format('SELECT n FROM %I WHERE n <= $1 ORDER BY n', tab) USING lim;
  GET DIAGNOSTICS c = ROW_COUNT;
  RAISE NOTICE 'returned % rows', c;
  RETURN QUERY EXECUTE 'SELECT 100';
END $$;
SELECT * FROM dyn('nums', 2);
CREATE FUNCTION calc(n int) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE s bigint := 0;
BEGIN
  FOR i IN 1..n LOOP
    s := s + i * 2 - (i % 3);
  END LOOP;
  RETURN s;
END $$;
SELECT calc(1000);
CREATE FUNCTION divide(a int, b int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE r int;
BEGIN
  r := a / b;
  RETURN r;
END $$;
SELECT divide(7, 2);
SELECT divide(1, 0);
CREATE FUNCTION total() RETURNS bigint LANGUAGE plpgsql AS $$
BEGIN
  RETURN (SELECT sum(n) FROM nums);
END $$;
SELECT total();
ALTER TABLE nums ADD COLUMN m int;
INSERT INTO nums VALUES (10, 1);
SELECT total();
create or replace function f1(int) returns int as $$ begin return $1; end $$ language plpgsql;
select f1(5);
create or replace function f2(int, text) returns text as $$ begin return $2 || ($1 + 1); end $$ language plpgsql;
select f2(5, 'x');
create or replace function f3(a int) returns int as $$ declare x int := $1; begin return x + a; end $$ language plpgsql;
select f3(5);
create or replace function f4(int) returns int as $$ begin if $1 > 3 then return $1 * 2; end if; return -$1; end $$ language plpgsql;
select f4(5), f4(1);
