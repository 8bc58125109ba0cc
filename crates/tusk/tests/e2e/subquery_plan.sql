CREATE TABLE t (id int PRIMARY KEY, a int, b text);
INSERT INTO t SELECT g, g % 10, 'x' || g FROM generate_series(1, 200) g;
CREATE TABLE u (id int PRIMARY KEY, tid int, note text);
INSERT INTO u SELECT g, g * 3, CASE WHEN g % 4 = 0 THEN NULL ELSE 'n' || g END FROM generate_series(1, 40) g;
CREATE VIEW v AS SELECT id, a, b FROM t;
CREATE VIEW v2 AS SELECT id, a + 1 AS a1 FROM t WHERE a > 2;
CREATE VIEW vv AS SELECT id AS k, a1 FROM v2 WHERE a1 < 8;
CREATE VIEW vagg AS SELECT a, count(*) AS n, max(id) AS top FROM t GROUP BY a;
-- a view over an indexed table reaches the index
EXPLAIN (COSTS OFF) SELECT * FROM v WHERE id = 42;
SELECT * FROM v WHERE id = 42;
EXPLAIN (COSTS OFF) SELECT * FROM v2 WHERE id = 5;
SELECT * FROM v2 WHERE id = 5;
SELECT * FROM v2 WHERE id = 3;
EXPLAIN (COSTS OFF) SELECT * FROM vv WHERE k = 17;
SELECT * FROM vv WHERE k = 17;
SELECT count(*), sum(a1) FROM vv;
-- subqueries in FROM
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT id, b FROM t WHERE a = 1) ss WHERE ss.id = 11;
SELECT * FROM (SELECT id, b FROM t WHERE a = 1) ss WHERE ss.id = 11;
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT * FROM t ORDER BY a) s;
SELECT * FROM (SELECT id, a FROM t WHERE id < 30 ORDER BY a DESC, id) s WHERE a > 6;
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT 1 AS x) ss;
SELECT * FROM (SELECT 1 AS x, 'y'::text AS y) ss WHERE x > 0;
-- not merged: LIMIT, aggregates; conditions pushed where safe
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT id, a FROM t LIMIT 10) ss WHERE a = 3;
SELECT * FROM (SELECT id, a FROM t ORDER BY id LIMIT 10) ss WHERE a = 3;
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT a, count(*) c FROM t GROUP BY a) ss WHERE c = 3;
SELECT * FROM (SELECT a, count(*) c FROM t GROUP BY a) ss WHERE a = 3;
SELECT * FROM vagg WHERE n = 20 AND a < 3 ORDER BY a;
SELECT * FROM vagg WHERE top > 195 ORDER BY a;
SELECT * FROM (SELECT DISTINCT a FROM t) d WHERE a > 7 ORDER BY a;
SELECT * FROM (SELECT a, row_number() OVER (PARTITION BY a ORDER BY id) rn FROM t) w WHERE rn = 2 AND a < 3 ORDER BY a;
SELECT count(*) FROM (SELECT id, random() r FROM t) s WHERE r >= 0;
SELECT * FROM (SELECT id FROM t WHERE id < 4 UNION ALL SELECT id FROM u WHERE id < 3) s WHERE id > 1 ORDER BY id;
SELECT * FROM (SELECT a FROM t UNION SELECT tid FROM u) s WHERE a < 5 ORDER BY a;
-- joins through views and subqueries
SELECT u.id, v2.* FROM u JOIN v2 ON v2.id = u.tid WHERE u.id < 8 ORDER BY 1;
SELECT u.id, s.id, s.b FROM u, (SELECT * FROM t WHERE a = 3) s WHERE s.id = u.tid ORDER BY 1;
SELECT count(*), count(ss.id), sum(ss.one) FROM u LEFT JOIN (SELECT id, 1 AS one FROM t WHERE a > 5) ss ON ss.id = u.tid;
SELECT u.id, ss.id, ss.a FROM u LEFT JOIN (SELECT id, a FROM t WHERE a > 5) ss ON ss.id = u.tid WHERE u.id < 10 ORDER BY 1;
SELECT u.id, ss.* FROM (SELECT id, a FROM t WHERE a < 2) ss RIGHT JOIN u ON ss.id = u.tid WHERE u.id BETWEEN 3 AND 12 ORDER BY 1;
SELECT ss.id, u.id FROM (SELECT id, a FROM t WHERE a = 9) ss FULL JOIN u ON ss.id = u.tid WHERE coalesce(ss.id, u.id) < 45 ORDER BY 1, 2;
SELECT u.id, x.one, x.k FROM u LEFT JOIN (SELECT 1 AS one, id AS k FROM t) x ON x.k = u.tid WHERE u.id > 66 OR u.id < 3 ORDER BY 1;
SELECT u.id, x.k, x.c FROM u LEFT JOIN (SELECT id AS k, coalesce(b, 'none') AS c FROM t WHERE id > 100) x ON x.k = u.id * 4 ORDER BY 1 LIMIT 5;
SELECT a.id, b.k FROM (SELECT id FROM t WHERE id < 5) a JOIN (SELECT id * 2 AS k FROM t) b ON b.k = a.id ORDER BY 1;
SELECT * FROM u JOIN vagg ON vagg.a = u.id WHERE u.id < 4 ORDER BY u.id;
SELECT u.id, s.n FROM u JOIN (SELECT tid, note AS n FROM u) s ON s.tid = u.id * 3 AND s.n IS NULL ORDER BY 1;
-- correlated references into and out of merged subqueries
SELECT u.id, (SELECT max(x) FROM (SELECT t.a + u.id AS x FROM t WHERE t.id < u.id) s) FROM u WHERE u.id < 4 ORDER BY 1;
SELECT s.id, (SELECT count(*) FROM u WHERE u.tid = s.k) FROM (SELECT id, id * 3 AS k FROM t WHERE id < 4) s ORDER BY 1;
SELECT s.id FROM (SELECT id, a FROM t) s WHERE EXISTS (SELECT 1 FROM u WHERE u.tid = s.id AND s.a = 0) ORDER BY 1;
SELECT s.id, s.k FROM (SELECT id, (SELECT max(id) FROM u WHERE u.tid <= t.id) AS k FROM t WHERE id < 7) s WHERE s.k > 1 ORDER BY 1;
SELECT a, n FROM (SELECT s.a, count(*) n FROM (SELECT a FROM t WHERE id <= 20) s GROUP BY s.a) g WHERE n > 1 ORDER BY a;
SELECT s.a, sum(s.id) OVER (PARTITION BY s.a ORDER BY s.id) FROM (SELECT id, a FROM t WHERE id < 25) s WHERE s.a = 4 ORDER BY 2;
SELECT s.x, generate_series(1, s.x) FROM (SELECT id AS x FROM t WHERE id < 3) s ORDER BY 1, 2;
-- what EXPLAIN shows of the subqueries left whole
EXPLAIN (COSTS OFF) SELECT count(*) FROM (SELECT a, count(*) FROM t GROUP BY a) ss;
EXPLAIN (COSTS OFF) SELECT a FROM (SELECT a, count(*) FROM t GROUP BY a) ss;
EXPLAIN (COSTS OFF) SELECT x FROM (SELECT id AS x, a FROM t LIMIT 5) ss;
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT id AS x, a FROM t LIMIT 5) ss;
EXPLAIN (COSTS OFF) SELECT count(*) FROM (SELECT id FROM t WHERE a > 1) ss;
EXPLAIN (COSTS OFF) SELECT * FROM (SELECT id, a FROM t UNION ALL SELECT id, tid FROM u) s WHERE id = 5;
SELECT * FROM (SELECT id, a FROM t UNION ALL SELECT id, tid FROM u) s WHERE id = 5 ORDER BY a;
SELECT * FROM (SELECT id, a FROM t UNION SELECT id, tid FROM u) s WHERE id = 5 ORDER BY a;
SELECT * FROM (SELECT id FROM t EXCEPT SELECT tid FROM u) s WHERE id < 10 ORDER BY 1;
SELECT * FROM (SELECT id, a FROM t UNION ALL VALUES (5, 7)) s WHERE id = 5 ORDER BY 2;
-- a join through a view
SELECT v.id, u.id FROM v JOIN u ON v.id = u.tid WHERE v.a = 3 AND u.note IS NULL ORDER BY 1;
-- a condition on what a set-returning function's row starts from goes below it
SELECT * FROM (SELECT id, generate_series(1, id) g FROM t WHERE id < 4) s WHERE id > 1 AND g < 3 ORDER BY 1, 2;
DROP VIEW vv, v2, v, vagg;
DROP TABLE t, u;
