-- Storage parameters: creation, validation, SET/RESET, toast, indexes.
CREATE TABLE ro (i int NOT NULL, t text) WITH (FillFactor = 30, autovacuum_enabled = false, toast.autovacuum_vacuum_cost_delay = 23);
SELECT reloptions FROM pg_class WHERE oid = 'ro'::regclass;
SELECT reloptions FROM pg_class WHERE oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'ro'::regclass);
CREATE TABLE ro2 (i int) WITH (fillfactor = 2);
CREATE TABLE ro2 (i int) WITH (fillfactor = -30.1);
CREATE TABLE ro2 (i int) WITH (autovacuum_analyze_scale_factor = 110.0);
CREATE TABLE ro2 (i int) WITH (nope = 2);
CREATE TABLE ro2 (i int) WITH (nope.fillfactor = 2);
CREATE TABLE ro2 (i int) WITH (fillfactor);
CREATE TABLE ro2 (i int) WITH (autovacuum_enabled = 'maybe');
CREATE TABLE ro2 (i int) WITH (vacuum_index_cleanup = sometimes);
CREATE TABLE ro2 (i int) WITH (parallel_workers = 2000);
CREATE TABLE ro2 (i int) WITH (fillfactor = 30, fillfactor = 40);
CREATE TABLE ro2 (i int) WITH (toast.fillfactor = 40);
CREATE TABLE ro2 (i int) WITH (oids = true);
CREATE TABLE ro2 (i int) WITH (oids = false, user_catalog_table = on, log_autovacuum_min_duration = -1);
SELECT reloptions FROM pg_class WHERE oid = 'ro2'::regclass;
ALTER TABLE ro SET (fillfactor = 31, autovacuum_analyze_scale_factor = 0.3);
SELECT reloptions FROM pg_class WHERE oid = 'ro'::regclass;
ALTER TABLE ro SET (autovacuum_enabled, toast.autovacuum_vacuum_cost_delay = 24);
SELECT reloptions FROM pg_class WHERE oid = 'ro'::regclass;
SELECT reloptions FROM pg_class WHERE oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'ro'::regclass);
ALTER TABLE ro RESET (fillfactor = 12);
ALTER TABLE ro RESET (fillfactor, toast.autovacuum_vacuum_cost_delay);
SELECT reloptions FROM pg_class WHERE oid = 'ro'::regclass;
SELECT reloptions FROM pg_class WHERE oid = (SELECT reltoastrelid FROM pg_class WHERE oid = 'ro'::regclass);
ALTER TABLE ro SET (toast.fillfactor = 40);
ALTER TABLE IF EXISTS ro_missing SET (fillfactor = 40);
ALTER TABLE ro SET WITHOUT OIDS;
\d+ ro
-- Indexes.
CREATE INDEX ro_i ON ro (i) WITH (fillfactor = 70, deduplicate_items = off);
SELECT reloptions FROM pg_class WHERE oid = 'ro_i'::regclass;
CREATE INDEX ro_bad ON ro (i) WITH (fillfactor = 5);
CREATE INDEX ro_bad ON ro (i) WITH (autovacuum_enabled = off);
ALTER INDEX ro_i SET (fillfactor = 80);
ALTER INDEX ro_i RESET (deduplicate_items);
SELECT reloptions FROM pg_class WHERE oid = 'ro_i'::regclass;
-- Columns.
ALTER TABLE ro ALTER COLUMN i SET STATISTICS 200, ALTER COLUMN t SET (n_distinct = -0.5, n_distinct_inherited = 10);
ALTER TABLE ro ALTER COLUMN i SET STATISTICS 20000;
ALTER TABLE ro ALTER COLUMN i SET STATISTICS -5;
ALTER TABLE ro ALTER COLUMN t SET (n_distinct = -2);
ALTER TABLE ro ALTER COLUMN t SET (fillfactor = 1);
ALTER TABLE ro ALTER COLUMN zz SET STATISTICS 5;
SELECT attname, attstattarget, attoptions FROM pg_attribute WHERE attrelid = 'ro'::regclass AND attnum > 0 ORDER BY attnum;
ALTER TABLE ro ALTER COLUMN t RESET (n_distinct);
SELECT attname, attstattarget, attoptions FROM pg_attribute WHERE attrelid = 'ro'::regclass AND attnum > 0 ORDER BY attnum;
CREATE INDEX ro_e ON ro ((i + 1), i);
ALTER INDEX ro_e ALTER COLUMN 1 SET STATISTICS 100;
ALTER INDEX ro_e ALTER COLUMN 2 SET STATISTICS 100;
ALTER INDEX ro_e ALTER COLUMN 3 SET STATISTICS 100;
ALTER TABLE ro ALTER COLUMN 1 SET STATISTICS 100;
SELECT attnum, attstattarget FROM pg_attribute WHERE attrelid = 'ro_e'::regclass ORDER BY attnum;
-- Materialized views and CREATE TABLE AS.
CREATE MATERIALIZED VIEW ro_mv WITH (fillfactor = 40) AS SELECT 1 AS x;
ALTER MATERIALIZED VIEW ro_mv SET (autovacuum_enabled = false);
SELECT reloptions FROM pg_class WHERE oid = 'ro_mv'::regclass;
CREATE TABLE ro_as WITH (fillfactor = 60) AS SELECT 1 AS x;
SELECT reloptions FROM pg_class WHERE oid = 'ro_as'::regclass;
CREATE TABLE ro_p (a int) PARTITION BY RANGE (a);
ALTER TABLE ro_p SET (fillfactor = 30);
CREATE SEQUENCE ro_s;
ALTER TABLE ro_s SET (fillfactor = 40);
-- fillfactor leaves room: about twice the pages, and updates find space on their page.
CREATE TABLE ff50 (a int, b text) WITH (fillfactor = 50);
CREATE TABLE ff100 (a int, b text);
INSERT INTO ff50 SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g;
INSERT INTO ff100 SELECT g, repeat('x', 100) FROM generate_series(1, 2000) g;
SELECT pg_relation_size('ff50') > 1.8 * pg_relation_size('ff100'), pg_relation_size('ff50') < 2.2 * pg_relation_size('ff100');
SELECT pg_relation_size('ff50') AS before50 \gset
SELECT pg_relation_size('ff100') AS before100 \gset
UPDATE ff50 SET a = a + 1;
UPDATE ff100 SET a = a + 1;
SELECT pg_relation_size('ff50') = :before50 AS same_pages, pg_relation_size('ff100') > :before100 AS grew;
-- vacuum_truncate=false keeps the emptied pages.
CREATE TABLE vt (i int) WITH (vacuum_truncate = false, autovacuum_enabled = false);
INSERT INTO vt SELECT generate_series(1, 1000);
DELETE FROM vt;
VACUUM vt;
SELECT pg_relation_size('vt') > 0;
ALTER TABLE vt RESET (vacuum_truncate);
VACUUM vt;
SELECT pg_relation_size('vt') = 0;
DROP TABLE ro, ro2, ro_as, ro_p, ff50, ff100, vt;
DROP MATERIALIZED VIEW ro_mv;
DROP SEQUENCE ro_s;
