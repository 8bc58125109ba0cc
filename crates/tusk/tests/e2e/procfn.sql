-- Routines: ALTER FUNCTION/PROCEDURE/ROUTINE, pg_get_functiondef,
-- SQL-standard bodies, OUT/INOUT parameters and CALL.
CREATE TABLE pf_t (a int, b text);
CREATE FUNCTION pf_f(int) RETURNS bool LANGUAGE sql AS 'SELECT $1 > 0';
SELECT provolatile, proisstrict, prosecdef, proleakproof, procost FROM pg_proc WHERE proname = 'pf_f';
ALTER FUNCTION pf_f(int) IMMUTABLE STRICT SECURITY DEFINER LEAKPROOF COST 5;
SELECT provolatile, proisstrict, prosecdef, proleakproof, procost FROM pg_proc WHERE proname = 'pf_f';
SELECT pg_get_functiondef('pf_f'::regproc);
ALTER FUNCTION pf_f(int) VOLATILE CALLED ON NULL INPUT SECURITY INVOKER NOT LEAKPROOF COST 100 SET work_mem = '2MB';
SELECT pg_get_functiondef('pf_f'::regproc);
ALTER FUNCTION pf_f(int) RESET ALL;
SELECT proconfig FROM pg_proc WHERE proname = 'pf_f';
ALTER FUNCTION pf_f(int) RENAME TO pf_g;
SELECT pf_g(3);
ALTER ROUTINE pf_g RENAME TO pf_f;
CREATE SCHEMA pf_s;
ALTER FUNCTION pf_f(int) SET SCHEMA pf_s;
SELECT pf_s.pf_f(1);
ALTER FUNCTION pf_s.pf_f(int) SET SCHEMA public;
CREATE ROLE pf_user;
ALTER FUNCTION pf_f(int) OWNER TO pf_user;
SELECT proowner::regrole FROM pg_proc WHERE proname = 'pf_f';
CREATE ROLE pf_other;
SET ROLE pf_user;
ALTER FUNCTION pf_f(int) OWNER TO pf_other;
ALTER FUNCTION pf_f(int) LEAKPROOF;
ALTER FUNCTION pf_f(int) NOT LEAKPROOF;
RESET ROLE;
DROP ROLE pf_other;
ALTER FUNCTION pf_missing(int) STABLE;
ALTER FUNCTION pf_f(int) ROWS 10;
ALTER FUNCTION pf_f(int) COST -1;

-- Procedures: options a procedure lacks, kind mismatches
CREATE PROCEDURE pf_p(x text) LANGUAGE sql AS $$ INSERT INTO pf_t VALUES (1, x) $$;
ALTER PROCEDURE pf_p(text) STRICT;
ALTER FUNCTION pf_p(text) VOLATILE;
ALTER PROCEDURE pf_f(int) VOLATILE;
ALTER PROCEDURE pf_p(text) SECURITY DEFINER;
CREATE PROCEDURE pf_bad() LANGUAGE sql STRICT AS $$ SELECT 1 $$;
\df pf_p
SELECT pg_get_functiondef('pf_p'::regproc);
CALL pf_p('a');
CALL pf_nothere();
CALL random();
CALL pf_f(1);
DROP FUNCTION pf_p(text);
DROP ROUTINE pf_p(text);

-- SQL-standard bodies
CREATE FUNCTION pf_r(a int, b int) RETURNS int RETURN a + b;
SELECT pf_r(2, 3);
CREATE FUNCTION pf_ba() RETURNS boolean
BEGIN ATOMIC
  ;;SELECT 1; SELECT false;;
END;
SELECT pf_ba();
SELECT pg_get_functiondef('pf_ba'::regproc);
SELECT prosrc = '' AS empty_src, prosqlbody IS NOT NULL AS has_body FROM pg_proc WHERE proname = 'pf_ba';
CREATE PROCEDURE pf_ins(x text)
LANGUAGE sql
BEGIN ATOMIC
  INSERT INTO pf_t VALUES (2, x);
  INSERT INTO pf_t VALUES (3, x || x);
END;
CALL pf_ins('q');
SELECT * FROM pf_t ORDER BY a;
CREATE PROCEDURE pf_empty() BEGIN ATOMIC END;
CALL pf_empty();
SELECT pg_get_functiondef('pf_empty'::regproc);
CREATE PROCEDURE pf_ddl() LANGUAGE sql BEGIN ATOMIC CREATE TABLE pf_x (a int); END;
CREATE FUNCTION pf_dup(x int) RETURNS int LANGUAGE sql AS $$ SELECT x $$ RETURN x;

-- OUT and INOUT parameters
CREATE PROCEDURE pf_o(INOUT a int, OUT b text, IN c int) LANGUAGE sql AS $$ SELECT a + c, 'x' || c $$;
CALL pf_o(1, NULL, 10);
CALL pf_o(1, 1/0, 10);
CALL pf_o(1, 2.5, 10);
CALL pf_o(c => 5, a => 2, b => NULL);
\df pf_o
SELECT pg_get_function_arguments('pf_o'::regproc);
CREATE PROCEDURE pf_o(a int, b int, c int) LANGUAGE sql AS $$ SELECT 1 $$;
DROP PROCEDURE pf_o(int, int, int);
DROP PROCEDURE pf_o(in int, int, int);
CREATE PROCEDURE pf_bad2(a int DEFAULT 1, OUT b int) LANGUAGE sql AS $$ SELECT 1 $$;
CREATE FUNCTION pf_two(x int, OUT y int, OUT z text) LANGUAGE sql AS $$ SELECT x * 2, 'z' || x $$;
SELECT * FROM pf_two(4);
SELECT pg_get_function_result('pf_two'::regproc), pg_get_function_arguments('pf_two'::regproc);
CREATE FUNCTION pf_bad3(OUT y int, OUT z text) RETURNS int LANGUAGE sql AS $$ SELECT 1, 'a' $$;
CREATE PROCEDURE pf_calls() LANGUAGE sql AS $$ CALL pf_o(1, NULL, 2) $$;
CREATE FUNCTION pf_v(n int) RETURNS SETOF void LANGUAGE sql AS $$ SELECT generate_series(1, n) $$;
SELECT * FROM pf_v(3);
CREATE FUNCTION pf_as(int) RETURNS int LANGUAGE sql AS 'SELECT 1', 'b';
CREATE FUNCTION pf_np(int) RETURNS int LANGUAGE sql AS 'SELECT $2';
DROP FUNCTION pf_v(int);
DROP FUNCTION pf_two(int);
DROP FUNCTION pf_f(int);
DROP FUNCTION pf_r, pf_ba;
DROP PROCEDURE pf_ins, pf_empty;
DROP PROCEDURE pf_o(inout int, out text, int);
DROP SCHEMA pf_s;
DROP ROLE pf_user;
DROP TABLE pf_t;

-- SET clauses: in effect during the call (and its validation's name
-- resolution), back afterwards unless the body SET them.
CREATE SCHEMA s1;
CREATE TABLE s1.t (x int);
INSERT INTO s1.t VALUES (42);
CREATE FUNCTION cfg_f() RETURNS text LANGUAGE sql SET work_mem = '7MB' SET search_path = s1, public
  AS $$ SELECT current_setting('work_mem') || ' ' || current_setting('search_path') || ' ' || (SELECT x FROM t)::text $$;
SELECT cfg_f();
SHOW work_mem;
SHOW search_path;
CREATE FUNCTION cfg_p() RETURNS text LANGUAGE plpgsql SET work_mem = '9MB' AS $$
BEGIN
  SET work_mem = '11MB';
  RETURN current_setting('work_mem');
END $$;
SELECT cfg_p(), current_setting('work_mem');
BEGIN;
SET LOCAL work_mem = '5MB';
SELECT cfg_p();
SHOW work_mem;
COMMIT;
SHOW work_mem;
SHOW work_mem;
ALTER FUNCTION cfg_p() RESET ALL;
SELECT cfg_p();
SHOW work_mem;

-- SECURITY DEFINER: the call runs as the owner (current_user), session_user stays.
CREATE ROLE sd_alice;
CREATE TABLE sd_secret (v int);
INSERT INTO sd_secret VALUES (7);
CREATE FUNCTION sd_read() RETURNS int LANGUAGE sql SECURITY DEFINER AS $$ SELECT v FROM sd_secret $$;
CREATE FUNCTION sd_read_invoker() RETURNS int LANGUAGE sql AS $$ SELECT v FROM sd_secret $$;
CREATE FUNCTION sd_who() RETURNS text LANGUAGE plpgsql SECURITY DEFINER AS $$
BEGIN RETURN current_user || ' ' || session_user; END $$;
SET ROLE sd_alice;
SELECT sd_read();
SELECT sd_read_invoker();
SELECT sd_who(), current_user;
SELECT v FROM sd_secret;
RESET ROLE;
ALTER FUNCTION sd_read() SECURITY INVOKER;
SET ROLE sd_alice;
SELECT sd_read();
RESET ROLE;
DROP FUNCTION sd_read(), sd_read_invoker(), sd_who();
DROP TABLE sd_secret;
DROP ROLE sd_alice;
