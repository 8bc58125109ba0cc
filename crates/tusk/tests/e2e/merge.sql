CREATE TABLE target (tid int PRIMARY KEY DEFAULT 100, balance int NOT NULL DEFAULT 0 CHECK (balance >= 0), note text DEFAULT 'new');
CREATE TABLE source (sid int, delta int);
INSERT INTO target VALUES (1, 10), (2, 20), (3, 30);
INSERT INTO source VALUES (2, 5), (3, -30), (4, 40), (5, 50);
MERGE INTO target t USING source s ON t.tid = s.sid
  WHEN MATCHED AND s.delta < 0 THEN DELETE
  WHEN MATCHED THEN UPDATE SET balance = t.balance + s.delta
  WHEN NOT MATCHED AND s.sid > 4 THEN DO NOTHING
  WHEN NOT MATCHED THEN INSERT (tid, balance) VALUES (s.sid, s.delta);
SELECT * FROM target ORDER BY tid;
MERGE INTO target USING (SELECT 9 AS k) AS q ON target.tid = q.k
  WHEN NOT MATCHED THEN INSERT VALUES (q.k, 0, 'nine');
MERGE INTO target t USING (VALUES (1, 1), (6, 6)) AS v(a, b) ON t.tid = v.a
  WHEN MATCHED THEN UPDATE SET note = 'one', balance = DEFAULT
  WHEN NOT MATCHED THEN INSERT DEFAULT VALUES;
WITH w AS (SELECT 7 AS k) MERGE INTO target t USING w ON t.tid = w.k
  WHEN NOT MATCHED THEN INSERT (tid, balance) VALUES (w.k, 70);
MERGE INTO target t USING source s ON t.tid = s.sid WHEN MATCHED THEN DO NOTHING;
SELECT * FROM target ORDER BY tid;
-- errors
INSERT INTO source VALUES (2, 1);
MERGE INTO target t USING source s ON t.tid = s.sid WHEN MATCHED THEN UPDATE SET balance = 0;
MERGE INTO target t USING source s ON t.tid = s.sid WHEN NOT MATCHED THEN INSERT VALUES (t.tid, 1);
MERGE INTO target t USING source s ON t.tid = s.sid WHEN MATCHED THEN UPDATE SET nosuch = 1;
MERGE INTO target t USING source s ON t.tid = s.sid WHEN MATCHED THEN DELETE RETURNING *;
MERGE INTO target t USING source s ON t.tid = s.sid WHEN MATCHED THEN DELETE WHEN MATCHED THEN DO NOTHING;
MERGE INTO target t USING source s ON t.tid = s.sid WHEN NOT MATCHED THEN INSERT VALUES (s.sid, -1);
MERGE INTO target t USING source s ON t.tid = s.sid WHEN NOT MATCHED THEN INSERT (tid) VALUES (s.sid);
MERGE INTO target t USING source t ON t.tid = t.sid WHEN MATCHED THEN DELETE;
CREATE VIEW tv AS SELECT * FROM target;
MERGE INTO tv USING source s ON tv.tid = s.sid WHEN MATCHED THEN DELETE;
-- triggers
CREATE TABLE log (what text);
CREATE FUNCTION trig() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO log VALUES (TG_WHEN || ' ' || TG_LEVEL || ' ' || TG_OP);
  IF TG_LEVEL = 'ROW' AND TG_OP <> 'DELETE' THEN RETURN NEW; END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER a BEFORE INSERT OR UPDATE OR DELETE ON target FOR EACH STATEMENT EXECUTE FUNCTION trig();
CREATE TRIGGER b AFTER INSERT OR UPDATE OR DELETE ON target FOR EACH STATEMENT EXECUTE FUNCTION trig();
CREATE TRIGGER c BEFORE INSERT OR UPDATE OR DELETE ON target FOR EACH ROW EXECUTE FUNCTION trig();
CREATE TRIGGER d AFTER INSERT OR UPDATE OR DELETE ON target FOR EACH ROW EXECUTE FUNCTION trig();
DELETE FROM source;
INSERT INTO source VALUES (1, 1), (2, 0), (8, 8);
MERGE INTO target t USING source s ON t.tid = s.sid
  WHEN MATCHED AND s.delta = 0 THEN DELETE
  WHEN MATCHED THEN UPDATE SET balance = t.balance + s.delta
  WHEN NOT MATCHED THEN INSERT (tid, balance) VALUES (s.sid, s.delta);
SELECT * FROM log;
SELECT * FROM target ORDER BY tid;
-- parameters and identity
CREATE TABLE ident (id int GENERATED ALWAYS AS IDENTITY, v int);
PREPARE m(int) AS MERGE INTO ident i USING (SELECT $1 AS v) s ON i.v = s.v
  WHEN MATCHED THEN DELETE WHEN NOT MATCHED THEN INSERT (v) VALUES (s.v);
EXECUTE m(5);
EXECUTE m(6);
EXECUTE m(5);
SELECT * FROM ident ORDER BY id;
MERGE INTO ident i USING (SELECT 7 AS v) s ON i.v = s.v
  WHEN NOT MATCHED THEN INSERT VALUES (100, s.v);
MERGE INTO ident i USING (SELECT 7 AS v) s ON i.v = s.v
  WHEN NOT MATCHED THEN INSERT OVERRIDING SYSTEM VALUE VALUES (100, s.v);
SELECT * FROM ident ORDER BY id;
EXPLAIN (COSTS OFF) MERGE INTO target t USING source s ON t.tid = s.sid WHEN MATCHED THEN DELETE;
-- a join as the source, ONLY, errors PostgreSQL 15 gives
CREATE TABLE s1 (k int, cat int);
CREATE TABLE s2 (k int, label text);
INSERT INTO s1 VALUES (1, 10), (2, 20), (50, 10);
INSERT INTO s2 VALUES (1, 'a'), (2, 'b'), (50, 'c');
MERGE INTO ONLY target t USING s1 INNER JOIN s2 ON s1.k = s2.k AND s1.cat = 10 ON t.tid = s1.k
  WHEN MATCHED THEN UPDATE SET note = s2.label
  WHEN NOT MATCHED THEN INSERT (tid, note) VALUES (s1.k, s2.label);
SELECT tid, balance, note FROM target ORDER BY tid;
MERGE INTO target t USING (SELECT * FROM s1 WHERE t.tid = k) s ON t.tid = s.k WHEN MATCHED THEN DELETE;
MERGE INTO target t USING s1 ON t.tid = s1.k WHEN MATCHED AND t.xmin = t.xmax THEN DELETE;
MERGE INTO target t USING s1 ON t.tid = s1.k WHEN NOT MATCHED THEN INSERT VALUES (1, 1), (2, 2);
MERGE INTO target t USING s1 ON t.tid = s1.k WHEN NOT MATCHED BY SOURCE THEN DELETE;
WITH m AS (MERGE INTO target t USING s1 ON t.tid = s1.k WHEN MATCHED THEN DELETE) SELECT 1;
COPY (MERGE INTO target t USING s1 ON t.tid = s1.k WHEN MATCHED THEN DELETE) TO STDOUT;
CREATE MATERIALIZED VIEW mv AS SELECT 1 AS a;
MERGE INTO mv USING s1 ON mv.a = s1.k WHEN MATCHED THEN DELETE;
MERGE INTO target t USING s1 ON t.tid = s1.k WHEN MATCHED AND s1.cat THEN DELETE;
MERGE INTO target t USING s1 ON t.tid = s1.k WHEN MATCHED THEN UPDATE SET note = 'a', note = 'b';
MERGE INTO target t USING s1 ON t.tid = s1.k;
-- in PL/pgSQL
CREATE FUNCTION upsert_note(k int, n text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  MERGE INTO target t USING (SELECT k AS tid, n AS note) s ON t.tid = s.tid
    WHEN MATCHED THEN UPDATE SET note = s.note
    WHEN NOT MATCHED THEN INSERT (tid, note) VALUES (s.tid, s.note);
END $$;
SELECT upsert_note(200, 'x');
SELECT upsert_note(200, 'y');
SELECT tid, note FROM target WHERE tid = 200;
