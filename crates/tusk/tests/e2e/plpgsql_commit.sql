CREATE TABLE batch (i int);
CREATE PROCEDURE fill(n int) LANGUAGE plpgsql AS $$
BEGIN
  FOR i IN 1..n LOOP
    INSERT INTO batch VALUES (i);
    IF i % 2 = 0 THEN
      COMMIT;
    ELSE
      ROLLBACK;
    END IF;
  END LOOP;
END $$;
CALL fill(6);
SELECT i FROM batch ORDER BY i;
BEGIN;
CALL fill(2);
ROLLBACK;
CREATE FUNCTION f_commit() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  COMMIT;
  RETURN 1;
END $$;
SELECT f_commit();
CREATE PROCEDURE p_sub() LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    COMMIT;
  EXCEPTION WHEN division_by_zero THEN
    RAISE NOTICE 'no';
  END;
END $$;
CALL p_sub();
DO $$
BEGIN
  INSERT INTO batch VALUES (100);
  COMMIT;
  INSERT INTO batch VALUES (101);
  ROLLBACK;
  INSERT INTO batch VALUES (102);
END $$;
SELECT i FROM batch WHERE i >= 100 ORDER BY i;
CREATE PROCEDURE outer_p() LANGUAGE plpgsql AS $$
BEGIN
  CALL fill(2);
END $$;
CALL outer_p();
SELECT count(*) FROM batch;
CREATE PROCEDURE fail_after() LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO batch VALUES (200);
  COMMIT;
  INSERT INTO batch VALUES (201);
  RAISE EXCEPTION 'boom';
END $$;
CALL fail_after();
SELECT i FROM batch WHERE i >= 200 ORDER BY i;
