-- Array element and slice targets.
CREATE TABLE arr (id int, a int[], b int[], t text[]);
INSERT INTO arr (id, a[1:3], b[2]) VALUES (1, '{1,2,3}', 5);
INSERT INTO arr (id, a[2], a[4]) VALUES (2, 20, 40);
INSERT INTO arr (id, b[1:2]) SELECT 3, '{7,8}';
SELECT * FROM arr ORDER BY id;
UPDATE arr SET a[2] = 99, a[5] = 7 WHERE id = 1;
UPDATE arr SET b[1:2] = '{8,9,10}' WHERE id = 1;
UPDATE arr SET t[3] = 'x', t[-1] = 'm' WHERE id = 2;
SELECT * FROM arr ORDER BY id;
UPDATE arr SET a[:2] = '{0,0}', a[4:] = '{4,4,4}' WHERE id = 1;
UPDATE arr SET a[1:2] = NULL WHERE id = 3;
UPDATE arr SET b = CASE WHEN id = 3 THEN b END, a[6] = 6 WHERE id = 3;
SELECT id, a, b FROM arr ORDER BY id;
UPDATE arr SET t[:2] = '{a,b}' WHERE id = 1;
UPDATE arr SET a[1:9] = '{1}' WHERE id = 1;
UPDATE arr SET a[NULL] = 1;
UPDATE arr SET a[1] = 'x';
UPDATE arr SET a[1] = now();
UPDATE arr SET a[1] = DEFAULT;
UPDATE arr SET a[1] = 1, a = '{}';
CREATE TABLE md (m int[]);
INSERT INTO md VALUES ('{{1,2},{3,4}}');
UPDATE md SET m[2][1] = 30;
UPDATE md SET m[1:2][2] = '{{20},{40}}';
SELECT m FROM md;
UPDATE md SET m[3][1] = 5;
UPDATE md SET m[1] = 5;
-- Multi-column assignment.
CREATE TABLE mc (a int, b text, c int DEFAULT 42);
INSERT INTO mc VALUES (1, 'one', 0), (2, 'two', 0);
UPDATE mc SET (a, b) = (10, 'ten') WHERE a = 1;
UPDATE mc SET (b, c) = ROW('deux', DEFAULT) WHERE a = 2;
UPDATE mc SET (c) = ROW(7) WHERE a = 10;
UPDATE mc SET (b, c) = (SELECT b || '!', a + 1 FROM mc i WHERE i.a = mc.a);
UPDATE mc SET (a, b) = ROW(v.*) FROM (VALUES (2, 'via v')) AS v(x, y) WHERE mc.a = v.x;
SELECT * FROM mc ORDER BY a;
UPDATE mc SET (a) = (5);
UPDATE mc SET (a, b) = (1);
UPDATE mc SET (a, b) = (SELECT 1);
UPDATE mc SET (a, b) = (1, 'x', 3);
UPDATE mc SET (a, b) = (1, 'x'), a = 2;
CREATE UNIQUE INDEX mc_a ON mc (a);
INSERT INTO mc VALUES (10, 'dup') ON CONFLICT (a) DO UPDATE SET (b, c) = (excluded.b, mc.c * 2);
SELECT * FROM mc ORDER BY a;
-- Composite fields, alone and with subscripts.
CREATE TYPE pt AS (x int, y text[]);
CREATE TABLE ct (c pt, arr pt[]);
INSERT INTO ct (c.x, c.y[1], c.y[2]) VALUES (1, 'a', 'b');
INSERT INTO ct (arr[1].x, arr[2].y[1]) VALUES (5, 'five');
UPDATE ct SET c.x = (c).x + 10, c.y[3] = 'c' WHERE (c).x = 1;
UPDATE ct SET arr[1].x = 6 WHERE (c).x IS NULL;
SELECT * FROM ct ORDER BY (c).x;
UPDATE ct SET c.z = 1;
UPDATE ct SET c.x = 'x';
UPDATE ct SET c.x = DEFAULT;
UPDATE ct SET ct.x = 1;
INSERT INTO ct (c, c.x) VALUES (NULL, 1);
-- A domain over an array is checked on the final value.
CREATE DOMAIN posarr AS int[] CHECK (value[1] > 0);
CREATE TABLE dt (d posarr);
INSERT INTO dt VALUES ('{1,2}');
UPDATE dt SET d[2] = -5;
UPDATE dt SET d[1] = -5;
UPDATE dt SET d[1] = -5, d[1] = 3;
SELECT * FROM dt;
-- MERGE.
CREATE TABLE mt (k int, a int[]);
INSERT INTO mt VALUES (1, '{1,1}');
MERGE INTO mt USING (VALUES (1, 9), (2, 8)) s(k, v) ON mt.k = s.k
  WHEN MATCHED THEN UPDATE SET a[3] = s.v
  WHEN NOT MATCHED THEN INSERT (k, a[2]) VALUES (s.k, s.v);
SELECT * FROM mt ORDER BY k;
-- jsonb subscripts.
CREATE TABLE jt (id int, j jsonb);
INSERT INTO jt VALUES (1, '{}'), (2, NULL), (3, '[0]'), (4, '{"a": 1}');
UPDATE jt SET j['a'] = '1' WHERE id = 1;
UPDATE jt SET j[2] = '"x"' WHERE id = 2;
UPDATE jt SET j[3] = '1', j[-4] = '2' WHERE id = 3;
UPDATE jt SET j['b'][1]['c'] = NULL WHERE id = 4;
SELECT * FROM jt ORDER BY id;
UPDATE jt SET j['a']['x'] = '1' WHERE id = 4;
UPDATE jt SET j[-9] = '1' WHERE id = 3;
UPDATE jt SET j[NULL] = '1';
UPDATE jt SET j['k'] = 'nope';
