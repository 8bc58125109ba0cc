CREATE TABLE emp (depname text, empno int, salary int, hired date);
INSERT INTO emp VALUES
('develop', 10, 5200, '2007-08-01'), ('sales', 1, 5000, '2006-10-01'),
('personnel', 5, 3500, '2007-12-10'), ('sales', 4, 4800, '2007-08-08'),
('personnel', 2, 3900, '2006-12-23'), ('develop', 7, 4200, '2008-01-01'),
('develop', 9, 4500, '2008-01-01'), ('sales', 3, 4800, '2007-08-01'),
('develop', 8, 6000, '2006-10-01'), ('develop', 11, 5200, '2007-08-15');
-- ties come out in the order PostgreSQL's quicksort leaves them
SELECT depname, empno, sum(salary) OVER (PARTITION BY depname) FROM emp;
SELECT depname, empno FROM emp ORDER BY depname;
SELECT empno, last_value(empno) OVER (ORDER BY depname) FROM emp;
-- several windows: the last one computed decides the output order
SELECT sum(salary), row_number() OVER (ORDER BY depname), sum(sum(salary)) OVER (ORDER BY depname DESC)
  FROM emp GROUP BY depname;
-- ROWS, GROUPS and RANGE frames, EXCLUDE
SELECT empno, salary, sum(salary) OVER (ORDER BY salary ROWS BETWEEN 1 PRECEDING AND 1 FOLLOWING EXCLUDE CURRENT ROW) FROM emp ORDER BY salary, empno;
SELECT empno, salary, sum(salary) OVER (ORDER BY salary GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW EXCLUDE TIES) FROM emp ORDER BY salary, empno;
SELECT empno, salary, count(*) OVER (ORDER BY salary RANGE BETWEEN 300 PRECEDING AND 300 FOLLOWING EXCLUDE GROUP) FROM emp ORDER BY salary, empno;
SELECT empno, salary, first_value(empno) OVER (ORDER BY salary DESC RANGE BETWEEN 500 PRECEDING AND CURRENT ROW) FROM emp ORDER BY salary DESC, empno;
SELECT empno, hired, count(*) OVER (ORDER BY hired RANGE BETWEEN '1 year'::interval PRECEDING AND '1 year'::interval FOLLOWING) FROM emp ORDER BY hired, empno;
SELECT x, sum(x) OVER (ORDER BY x RANGE BETWEEN 'Infinity'::float8 PRECEDING AND 1 FOLLOWING)
  FROM (VALUES (1.0::float8), (2), ('NaN'), ('Infinity'), (-5)) v(x);
SELECT x, count(*) OVER (ORDER BY x NULLS FIRST RANGE BETWEEN 1 PRECEDING AND 1 FOLLOWING)
  FROM (VALUES (1), (2), (NULL), (4), (NULL)) v(x);
SELECT lag(empno, 1, 0.5) OVER (ORDER BY empno), empno FROM emp WHERE empno < 4;
-- errors
SELECT sum(salary) OVER (ORDER BY depname RANGE BETWEEN '1 year'::interval PRECEDING AND CURRENT ROW) FROM emp;
SELECT sum(salary) OVER (ORDER BY hired RANGE BETWEEN 1 PRECEDING AND CURRENT ROW) FROM emp;
SELECT sum(salary) OVER (ORDER BY hired, salary RANGE BETWEEN '1 day'::interval PRECEDING AND CURRENT ROW) FROM emp;
SELECT sum(salary) OVER (GROUPS BETWEEN 1 PRECEDING AND CURRENT ROW) FROM emp;
SELECT sum(salary) OVER (ORDER BY salary ROWS BETWEEN -1 PRECEDING AND CURRENT ROW) FROM emp;
SELECT sum(salary) OVER (ORDER BY salary RANGE BETWEEN -1 PRECEDING AND CURRENT ROW) FROM emp;
SELECT sum(salary) OVER (ORDER BY salary ROWS BETWEEN salary PRECEDING AND CURRENT ROW) FROM emp;
-- ORDER BY ... LIMIT past twice the bound: PostgreSQL's top-N heap sort
CREATE TABLE lt AS SELECT (i * 7919) % 13 AS a, i FROM generate_series(1, 1000) i;
SELECT * FROM lt ORDER BY a LIMIT 5;
SELECT * FROM lt ORDER BY a LIMIT 5 OFFSET 3;
SELECT * FROM lt ORDER BY a DESC LIMIT 7;
SELECT a, count(*), sum(i) FROM (SELECT * FROM lt ORDER BY a LIMIT 400) s GROUP BY a ORDER BY a;
SELECT * FROM lt ORDER BY a LIMIT 600;
