CREATE TABLE items (id int, name text, qty int, note text);
CREATE TABLE audit (seq int, op text, lvl text, tname text, old_id int, new_id int, info text);
CREATE FUNCTION audit_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO audit SELECT coalesce(max(seq), 0) + 1, TG_OP, TG_LEVEL, TG_TABLE_NAME,
    CASE WHEN TG_OP <> 'INSERT' THEN OLD.id END,
    CASE WHEN TG_OP <> 'DELETE' THEN NEW.id END, TG_NAME || '/' || TG_WHEN || '/' || TG_NARGS || '/' || TG_ARGV[1] || coalesce(TG_ARGV[2], '-')
    FROM audit;
  RETURN NULL;
END $$;
CREATE TRIGGER items_audit AFTER INSERT OR UPDATE OR DELETE ON items
  FOR EACH ROW EXECUTE FUNCTION audit_row('a', 'b');
INSERT INTO items VALUES (1, 'apple', 3), (2, 'pear', 5);
UPDATE items SET qty = qty + 1 WHERE id = 2;
DELETE FROM items WHERE id = 1;
SELECT * FROM audit ORDER BY seq;
CREATE FUNCTION stamp() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.name := upper(NEW.name);
  NEW.note := 'set by ' || TG_NAME || ' at depth ' || pg_trigger_depth();
  RETURN NEW;
END $$;
CREATE TRIGGER a_stamp BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION stamp();
INSERT INTO items (id, name, qty) VALUES (3, 'plum', 7);
UPDATE items SET name = 'kiwi' WHERE id = 2;
SELECT * FROM items ORDER BY id;
CREATE FUNCTION skip_neg() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.qty < 0 THEN
    RAISE NOTICE 'skipping % (%)', NEW.id, TG_OP;
    RETURN NULL;
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER b_skip BEFORE INSERT OR UPDATE ON items FOR EACH ROW EXECUTE FUNCTION skip_neg();
INSERT INTO items VALUES (4, 'fig', -1), (5, 'lime', 2);
UPDATE items SET qty = -5 WHERE id = 3;
SELECT id, name, qty FROM items ORDER BY id;
CREATE FUNCTION keep_rows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF OLD.qty > 5 THEN
    RETURN NULL;
  END IF;
  RETURN OLD;
END $$;
CREATE TRIGGER c_keep BEFORE DELETE ON items FOR EACH ROW EXECUTE FUNCTION keep_rows();
DELETE FROM items;
SELECT id, name, qty FROM items ORDER BY id;
CREATE TABLE counts (op text, n int);
CREATE FUNCTION count_stmt() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO counts VALUES (TG_WHEN || ' ' || TG_OP || ' ' || TG_LEVEL, (SELECT count(*) FROM items));
  RETURN NULL;
END $$;
CREATE TRIGGER s_before BEFORE INSERT OR DELETE ON items FOR EACH STATEMENT EXECUTE FUNCTION count_stmt();
CREATE TRIGGER s_after AFTER INSERT OR DELETE ON items EXECUTE PROCEDURE count_stmt();
INSERT INTO items VALUES (6, 'date', 1), (7, 'nut', 1);
INSERT INTO items SELECT 8, 'yam', 1 WHERE false;
SELECT * FROM counts;
CREATE TABLE big (v int);
CREATE FUNCTION note_big() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE NOTICE 'big % -> %', OLD.v, NEW.v;
  RETURN NEW;
END $$;
CREATE TRIGGER w BEFORE UPDATE ON big FOR EACH ROW WHEN (NEW.v > 10 AND OLD.v IS DISTINCT FROM NEW.v) EXECUTE FUNCTION note_big();
CREATE TRIGGER col AFTER UPDATE OF v ON big FOR EACH ROW EXECUTE FUNCTION note_big();
INSERT INTO big VALUES (1), (20);
UPDATE big SET v = v + 5;
ALTER TABLE big DISABLE TRIGGER w;
UPDATE big SET v = v + 1 WHERE v > 20;
ALTER TABLE big DISABLE TRIGGER ALL;
UPDATE big SET v = v + 1;
ALTER TABLE big ENABLE TRIGGER col;
SELECT tgname, tgtype, tgenabled, tgnargs, tgattr FROM pg_trigger WHERE tgrelid = (SELECT oid FROM pg_class WHERE relname = 'big') ORDER BY 1;
ALTER TABLE big ENABLE TRIGGER USER;
DROP TRIGGER w ON big;
DROP TRIGGER w ON big;
DROP TRIGGER IF EXISTS w ON big;
DROP TRIGGER IF EXISTS w ON nosuch;
ALTER TABLE big DISABLE TRIGGER nosuch;
UPDATE big SET v = 0 WHERE v = 2;
CREATE TRIGGER col AFTER UPDATE ON big FOR EACH ROW EXECUTE FUNCTION note_big();
CREATE FUNCTION plain() RETURNS int LANGUAGE sql AS 'SELECT 1';
CREATE TRIGGER p BEFORE INSERT ON big EXECUTE FUNCTION plain();
CREATE TRIGGER p BEFORE INSERT ON big EXECUTE FUNCTION nosuch();
CREATE FUNCTION sqltrig() RETURNS trigger LANGUAGE sql AS 'SELECT 1';
CREATE TRIGGER p BEFORE TRUNCATE ON big FOR EACH ROW EXECUTE FUNCTION note_big();
CREATE TRIGGER p BEFORE INSERT ON big FOR EACH STATEMENT WHEN (NEW.v > 0) EXECUTE FUNCTION note_big();
CREATE TRIGGER p BEFORE INSERT ON big FOR EACH ROW WHEN (OLD.v > 0) EXECUTE FUNCTION note_big();
CREATE TRIGGER p INSTEAD OF INSERT ON big FOR EACH ROW EXECUTE FUNCTION note_big();
SELECT note_big();
CREATE FUNCTION guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.v = 13 THEN
    RAISE EXCEPTION 'unlucky value %', NEW.v USING HINT = 'pick another';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER g BEFORE INSERT ON big FOR EACH ROW EXECUTE FUNCTION guard();
INSERT INTO big VALUES (12), (13);
SELECT count(*) FROM big;
CREATE FUNCTION no_ret() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NULL;
END $$;
CREATE TRIGGER n BEFORE INSERT ON big FOR EACH ROW EXECUTE FUNCTION no_ret();
INSERT INTO big VALUES (1);
DROP TABLE big;
SELECT count(*) FROM pg_trigger WHERE tgname IN ('w', 'col', 'g', 'n');
