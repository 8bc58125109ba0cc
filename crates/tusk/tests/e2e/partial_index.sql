CREATE TABLE items (id int, owner text, email text, qty int, deleted boolean);
INSERT INTO items SELECT i, 'user' || (i % 10), 'User' || i || '@Example.com', i % 50, i % 5 = 0 FROM generate_series(1, 500) i;
CREATE INDEX items_live_qty ON items (qty) WHERE NOT deleted;
CREATE UNIQUE INDEX items_email_lower ON items (lower(email));
CREATE UNIQUE INDEX items_owner_live ON items (owner, qty) WHERE deleted IS NOT TRUE AND id > 490;
CREATE INDEX ON items ((qty * 2 + 1));
CREATE INDEX ON items ((owner::varchar), id DESC) WHERE id > 400 OR qty < 2;
CREATE INDEX items_big ON items (id) WHERE qty > 40;
SELECT c.relname, pg_get_indexdef(i.indexrelid), pg_get_indexdef(i.indexrelid, 0, true), pg_get_indexdef(i.indexrelid, 1, true) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'items'::regclass ORDER BY 1;
SELECT c.relname, i.indnatts, i.indkey, i.indisunique, i.indexprs IS NOT NULL AS has_exprs, i.indpred IS NOT NULL AS has_pred FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE i.indrelid = 'items'::regclass ORDER BY 1;
SELECT c.relname, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_index i ON i.indexrelid = c.oid WHERE i.indrelid = 'items'::regclass ORDER BY 1, 2;
SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'items' ORDER BY 1;
-- queries the indexes answer (the planner may pick them)
SELECT id, qty FROM items WHERE qty = 7 AND NOT deleted ORDER BY id;
SELECT id, email FROM items WHERE lower(email) = 'user42@example.com';
SELECT id FROM items WHERE qty * 2 + 1 = 99 ORDER BY id;
SELECT id FROM items WHERE id > 480 AND qty > 40 ORDER BY id;
SELECT id FROM items WHERE id > 480 AND qty > 45 ORDER BY id;
SELECT owner, qty, id FROM items WHERE owner = 'user9' AND id > 490 AND deleted IS NOT TRUE ORDER BY id;
-- uniqueness: on the expression, and only among the predicate's rows
INSERT INTO items VALUES (1001, 'x', 'USER1@example.com', 1, false);
INSERT INTO items VALUES (1002, 'user9', 'new1@example.com', 49, false);
INSERT INTO items VALUES (1003, 'user9', 'new2@example.com', 49, true);
INSERT INTO items VALUES (1004, 'user9', 'new3@example.com', 30, false);
INSERT INTO items VALUES (1005, 'user9', 'new4@example.com', 30, false);
UPDATE items SET qty = 49 WHERE id = 1004;
UPDATE items SET deleted = false WHERE id = 1003;
UPDATE items SET email = 'other@example.com' WHERE id = 1003;
UPDATE items SET email = upper(email) WHERE id = 1003;
SELECT id, owner, qty, deleted FROM items WHERE id > 1000 ORDER BY id;
-- rows leaving and entering a partial index
UPDATE items SET deleted = true WHERE id BETWEEN 1 AND 20;
SELECT count(*) FROM items WHERE qty = 7 AND NOT deleted;
UPDATE items SET deleted = false WHERE id BETWEEN 1 AND 20;
SELECT count(*) FROM items WHERE qty = 7 AND NOT deleted;
DELETE FROM items WHERE id = 1002;
INSERT INTO items VALUES (1006, 'user9', 'new5@example.com', 49, false);
-- a unique partial index built over rows that break it only outside the predicate
CREATE TABLE dup (a int, b text);
INSERT INTO dup VALUES (1, 'keep'), (1, 'gone'), (2, 'keep');
CREATE UNIQUE INDEX dup_a_keep ON dup (a) WHERE b = 'keep';
CREATE UNIQUE INDEX dup_a_all ON dup (a);
INSERT INTO dup VALUES (2, 'keep');
INSERT INTO dup VALUES (2, 'gone');
CREATE UNIQUE INDEX dup_lower ON dup (lower(b)) WHERE b = 'gone';
-- what an index expression or predicate may not be
CREATE INDEX ON items (random());
CREATE INDEX ON items (id) WHERE now() > '2020-01-01';
CREATE INDEX ON items (id) WHERE qty;
CREATE INDEX ON items (count(*));
CREATE INDEX ON items (id) WHERE sum(qty) > 0;
CREATE INDEX ON items (id) WHERE id IN (SELECT 1);
CREATE INDEX ON items (lower(nosuch));
BEGIN;
CREATE INDEX CONCURRENTLY items_c ON items (owner);
ROLLBACK;
CREATE INDEX CONCURRENTLY items_c ON items (owner);
SELECT count(*) FROM items WHERE owner = 'user3';
