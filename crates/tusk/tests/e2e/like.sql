-- CREATE TABLE ... (LIKE source [INCLUDING|EXCLUDING ...]) among column definitions.
CREATE TABLE inhx (xx text DEFAULT 'text');
CREATE TABLE ctla (aa TEXT);
CREATE TABLE ctlb (bb TEXT) INHERITS (ctla);
-- Columns only: no default, no constraint; placed where the item stands.
CREATE TABLE inhe (ee text, LIKE inhx) inherits (ctlb);
INSERT INTO inhe VALUES ('ee-col1', 'ee-col2', DEFAULT, 'ee-col4');
SELECT * FROM inhe;
CREATE TABLE inhf (LIKE inhx, LIKE inhx);
CREATE TABLE inhf (LIKE inhx INCLUDING DEFAULTS INCLUDING CONSTRAINTS);
INSERT INTO inhf DEFAULT VALUES;
SELECT * FROM inhf;
ALTER TABLE inhx add constraint foo CHECK (xx = 'text');
ALTER TABLE inhx ADD PRIMARY KEY (xx);
CREATE TABLE inhg (LIKE inhx);
INSERT INTO inhg VALUES ('foo');
DROP TABLE inhg;
CREATE TABLE inhg (x text, LIKE inhx INCLUDING CONSTRAINTS, y text);
INSERT INTO inhg VALUES ('x', 'text', 'y');
INSERT INTO inhg VALUES ('x', 'text', 'y');
INSERT INTO inhg VALUES ('x', 'foo',  'y');
SELECT * FROM inhg;
SELECT conname FROM pg_constraint WHERE conrelid = 'inhg'::regclass;
DROP TABLE inhg;
-- NOT NULL always; identity only when included, with its own sequence.
CREATE TABLE test_like_id_1 (a bigint GENERATED ALWAYS AS IDENTITY, b text);
INSERT INTO test_like_id_1 (b) VALUES ('b1');
CREATE TABLE test_like_id_2 (LIKE test_like_id_1);
\d test_like_id_2
INSERT INTO test_like_id_2 (b) VALUES ('b2');
CREATE TABLE test_like_id_3 (LIKE test_like_id_1 INCLUDING IDENTITY);
\d test_like_id_3
INSERT INTO test_like_id_3 (b) VALUES ('b3');
SELECT * FROM test_like_id_3;
-- Indexes: named anew for the new table.
CREATE TABLE inhg (x text, LIKE inhx INCLUDING INDEXES, y text);
INSERT INTO inhg VALUES (5, 10);
INSERT INTO inhg VALUES (20, 10);
\d inhg
DROP TABLE inhg;
CREATE TABLE inhg (x text, LIKE inhx INCLUDING INDEXES, PRIMARY KEY(x));
CREATE TABLE inhz (xx text DEFAULT 'text', yy int UNIQUE, zz int);
CREATE INDEX ON inhz (zz DESC NULLS LAST);
CREATE TABLE inhg (x text UNIQUE, LIKE inhz INCLUDING INDEXES);
\d inhg
-- ALL, then EXCLUDING; schema-qualified and quoted names; TEMP tables.
CREATE TABLE t3 (a int, LIKE public.inhx INCLUDING ALL EXCLUDING INDEXES, b int);
\d t3
CREATE TABLE "Mixed Case" ("Col" int NOT NULL DEFAULT 7);
CREATE TEMP TABLE t4 (LIKE "Mixed Case" INCLUDING DEFAULTS);
INSERT INTO t4 DEFAULT VALUES;
SELECT * FROM t4;
CREATE TABLE t5 (LIKE inhx INCLUDING NONSENSE);
-- LIKE as an operator or a quoted column name is no LIKE item.
CREATE TABLE t6 (a text CHECK (a LIKE 'x%'), LIKE inhx);
CREATE TABLE t9 ("like" text CHECK ("like" LIKE 'x%'), b text CHECK (b LIKE 'y%'));
SELECT conname FROM pg_constraint WHERE conrelid = 't9'::regclass ORDER BY 1;
INSERT INTO t6 VALUES ('xy', 'z');
INSERT INTO t6 VALUES ('yy', 'z');
CREATE TABLE t7 AS SELECT a FROM t6 WHERE (a LIKE 'x%');
CREATE TABLE IF NOT EXISTS public.t8 ("like" int, LIKE t6);
SELECT a, xx FROM t6 JOIN t7 USING (a);
\d t8
