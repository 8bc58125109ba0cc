-- format(): positions, widths (digits, *, *n$), left alignment, NULLs
SELECT format('>>%10s<<', 'Hello');
SELECT format('>>%10s<<', NULL);
SELECT format('>>%-10s<<', 'Hello');
SELECT format('>>%1$10s<<', 'Hello');
SELECT format('>>%1$-10I<<', 'Hello');
SELECT format('>>%2$*1$L<<', 10, 'Hello');
SELECT format('>>%2$*1$L<<', -10, NULL);
SELECT format('>>%*s<<', 10, 'Hello');
SELECT format('>>%*1$s<<', 10, 'Hello');
SELECT format('>>%-s<<', 'Hello');
SELECT format('>>%10L<<', NULL);
SELECT format('>>%2$*1$L<<', NULL, 'Hello');
SELECT format('%1$s %2$s %1$s', 'a', 'b');
SELECT format('%s, %3$s, %s', 'a', 'b', 'c');
SELECT format('%I and %L', 'Mixed Case', E'it''s');
SELECT format('100%%');
-- errors
SELECT format('%*0$s', 'Hello');
SELECT format('%1$1', 1);
SELECT format('%1', 1);
SELECT format('%', 1);
SELECT format('%s %s', 1);
SELECT format('%*2s', 10, 'x');
SELECT format('%x', 1);
SELECT format('%I', NULL);
-- VARIADIC arrays given to concat, concat_ws and format
SELECT concat(variadic array[1,2,3]);
SELECT concat_ws(',', variadic array[1,2,3]);
SELECT concat_ws(',', variadic NULL::int[]) IS NULL;
SELECT concat(variadic NULL::int[]) IS NULL;
SELECT concat(variadic '{}'::int[]) = '';
SELECT format('%s, %s', variadic array['Hello','World']);
SELECT format('%s, %s', variadic array[true, false]);
SELECT format('%2$s, %1$s', variadic array['first', 'second']);
SELECT format('Hello', variadic NULL::int[]);
SELECT format(string_agg('%s',','), variadic array_agg(i)) FROM generate_series(1,200) g(i);
SELECT concat_ws(',', variadic 10);
-- temporary tables with serial columns, temporary sequences
CREATE TEMP TABLE tf (f1 serial, f2 text, f3 int DEFAULT 42);
INSERT INTO tf (f2) VALUES ('a'), ('b') RETURNING *;
CREATE TEMP SEQUENCE ts START 5;
SELECT nextval('ts'), nextval('ts');
SELECT n.nspname LIKE 'pg_temp%' FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relname IN ('tf', 'tf_f1_seq', 'ts') ORDER BY c.relname;
CREATE TEMP SEQUENCE public.ts2;
-- <type>send: the binary send form as bytea
SELECT float4send('5e-20'::float4), float8send('1.5'::float8), int4send(258), int8send(-1::int8);
SELECT textsend('abc'), boolsend(true), int2send(1::int2), float4send(2.5), int4send(NULL);
SELECT nosuchtypesend(1);
