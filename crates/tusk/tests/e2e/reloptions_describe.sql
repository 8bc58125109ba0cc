CREATE TABLE rd (i int, t text, v varchar(10)) WITH (fillfactor = 70, autovacuum_enabled = off, toast.vacuum_truncate = false);
ALTER TABLE rd ALTER COLUMN i SET STATISTICS 500, ALTER COLUMN t SET STORAGE EXTERNAL;
ALTER TABLE rd ALTER COLUMN v SET STORAGE main;
ALTER TABLE rd ALTER COLUMN i SET STORAGE external;
ALTER TABLE rd ALTER COLUMN t SET STORAGE bogus;
\d+ rd
DROP TABLE rd;
