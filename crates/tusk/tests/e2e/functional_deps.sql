CREATE TABLE articles (id int CONSTRAINT articles_pkey PRIMARY KEY, keywords text, title text UNIQUE NOT NULL, body text UNIQUE, created date);
CREATE TABLE articles_in_category (article_id int, category_id int, changed date, PRIMARY KEY (article_id, category_id));
INSERT INTO articles VALUES (1, 'k1', 't1', 'b1', '2020-01-01'), (2, 'k2', 't2', 'b2', NULL), (3, 'k3', 't3', NULL, '2021-05-06');
INSERT INTO articles_in_category VALUES (1, 1, NULL), (1, 2, '2020-02-02'), (2, 1, '2020-01-01'), (3, 7, NULL);
-- the primary key grouped: the other columns may be used ungrouped
SELECT id, keywords, title, body, created FROM articles GROUP BY id ORDER BY id;
SELECT * FROM articles GROUP BY id ORDER BY title DESC;
SELECT a.id, a.keywords, count(*) FROM articles AS a JOIN articles_in_category AS aic ON a.id = aic.article_id GROUP BY a.id HAVING a.keywords <> 'k3' ORDER BY a.title;
SELECT aic.changed, count(*) FROM articles AS a JOIN articles_in_category AS aic ON a.id = aic.article_id GROUP BY aic.category_id, aic.article_id ORDER BY 1 NULLS FIRST, 2;
SELECT created, sum(id) FROM articles GROUP BY id, keywords ORDER BY created;
-- grouping sets: only keys in every set count
SELECT id, title FROM articles GROUP BY GROUPING SETS ((id), (id, body)) ORDER BY 1, 2;
-- not the whole key, a unique key or a key of another query level: still errors
SELECT id, keywords, title, body, created FROM articles GROUP BY title;
SELECT aic.changed FROM articles AS a JOIN articles_in_category AS aic ON a.id = aic.article_id GROUP BY aic.article_id;
SELECT id, title FROM articles GROUP BY ROLLUP(id);
SELECT a.keywords FROM articles AS a JOIN articles_in_category AS aic ON a.id = aic.article_id GROUP BY aic.article_id;
SELECT x.title FROM (SELECT * FROM articles) AS x GROUP BY x.id;
CREATE VIEW fdv1 AS SELECT id, keywords, title, body, created FROM articles GROUP BY id;
ALTER TABLE articles DROP CONSTRAINT articles_pkey RESTRICT;
DROP VIEW fdv1;
CREATE VIEW fdv2 AS
SELECT a.id, a.keywords, a.title, aic.category_id, aic.changed
FROM articles AS a JOIN articles_in_category AS aic ON a.id = aic.article_id
WHERE aic.category_id in (14,62,70,53,138)
GROUP BY a.id, aic.category_id, aic.article_id;
ALTER TABLE articles DROP CONSTRAINT articles_pkey RESTRICT; -- fail
ALTER TABLE articles_in_category DROP CONSTRAINT articles_in_category_pkey RESTRICT; --fail
DROP VIEW fdv2;
CREATE VIEW fdv4 AS SELECT * FROM articles WHERE title IN (SELECT title FROM articles GROUP BY id);
ALTER TABLE articles DROP CONSTRAINT articles_pkey RESTRICT; -- fail
DROP VIEW fdv4;
CREATE VIEW fdv5 AS SELECT id, title FROM articles GROUP BY id, title;
SELECT count(*) FROM pg_depend WHERE refclassid = 'pg_constraint'::regclass AND classid = 'pg_rewrite'::regclass;
