CREATE TABLE rd (i int, t text) WITH (fillfactor = 70, autovacuum_enabled = off, toast.vacuum_truncate = false);
ALTER TABLE rd ALTER COLUMN i SET STATISTICS 500;
\d+ rd
DROP TABLE rd;
