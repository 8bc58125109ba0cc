CREATE TABLE m (id int, g int, s text, x float8, n numeric, arr int[]);
INSERT INTO m VALUES (1, 1, 'b', 1.5, 1.1, '{1,2}'), (2, 1, 'a', 2.25, 2.2, '{3,4}'), (3, 2, NULL, NULL, 3.3, '{5,6}'), (4, 2, 'd', 7.125, NULL, '{7,8}'), (5, 2, 'c', 0.1, 10, '{9,10}');
SELECT g, string_agg(s, ',' ORDER BY s DESC), array_agg(id ORDER BY id DESC), count(DISTINCT s), sum(id) FILTER (WHERE id > 1) FROM m GROUP BY g ORDER BY g;
SELECT array_agg(arr ORDER BY id), array_agg(DISTINCT g), json_agg(s ORDER BY id), bool_and(id > 0), bool_or(id > 4), every(x > 1), bit_and(id), bit_or(id), bit_xor(id) FROM m;
SELECT variance(id), stddev(id), var_pop(n), stddev_pop(n), variance(x), stddev_samp(x), var_pop(x), stddev_pop(x) FROM m;
SELECT covar_pop(x, id), covar_samp(x, id), corr(x, id), regr_count(x, id), regr_sxx(x, id), regr_syy(x, id), regr_sxy(x, id), regr_avgx(x, id), regr_avgy(x, id), regr_r2(x, id), regr_slope(x, id), regr_intercept(x, id) FROM m;
SELECT id % 2 AS odd, count(*), string_agg(s, '' ORDER BY s) FROM m GROUP BY odd ORDER BY odd;
SELECT (id % 3) + 10, sum(n) FROM m GROUP BY id % 3 HAVING id % 3 > 0 ORDER BY 1;
SELECT length(s), count(*) FROM m GROUP BY 1 ORDER BY 1 NULLS FIRST;
SELECT id, unnest(arr), generate_series(1, id % 3) FROM m WHERE id <= 3 ORDER BY id, 2;
SELECT generate_series(1, 3) AS k, 'x';
INSERT INTO m (id, g) SELECT generate_series(10, 12), 3;
SELECT g, count(*), string_agg(id::text, '+' ORDER BY id) FROM m GROUP BY g ORDER BY g;
SELECT g, id % 2, sum(id), grouping(g), grouping(g, id % 2) FROM m GROUP BY ROLLUP (g, id % 2) ORDER BY 1 NULLS LAST, 2 NULLS LAST;
SELECT g, s IS NULL, count(*) FROM m GROUP BY CUBE (g, s IS NULL) HAVING count(*) > 1 ORDER BY 1 NULLS LAST, 2 NULLS LAST;
SELECT setseed(0.5);
SELECT random(), random();
SELECT id, s FROM m GROUP BY id % 2;
SELECT string_agg(id, ',') FROM m;
SELECT sum(id) FILTER (WHERE 1) FROM m;
SELECT string_agg(DISTINCT s, ',' ORDER BY id) FROM m;
SELECT array_agg(a) FROM (VALUES ('{1}'::int[]), ('{{1}}')) v(a);
SELECT id FROM m WHERE id = generate_series(1, 2);
SELECT sum(generate_series(1, 3));
SELECT setseed(2);
-- An aggregate over only an outer query's columns belongs to that query:
-- inside that query's aggregate argument the calls nest.
select avg((select avg(a.x order by (select avg(b.x) from generate_series(1, 2) c)) from generate_series(1, 3) a(x))) from generate_series(1, 4) b(x);
