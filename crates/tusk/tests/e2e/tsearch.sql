-- tsvector and tsquery input, output and errors
SELECT 'a:3A b:2a a:1B'::tsvector;
SELECT $$'1 \'2' ' 3' 4$$::tsvector;
SELECT $$'' '1'$$::tsvector;
SELECT 'a:0'::tsvector;
SELECT '!(!1|!2) & 3 <2> 4:*AB'::tsquery;
SELECT 'a &'::tsquery;
SELECT 'a <100000> b'::tsquery;
SELECT 'foo & bar'::tsquery && 'asd', 'foo & bar'::tsquery || !!'asd & fg'::tsquery;
SELECT 'a & g' <-> 'b | d'::tsquery, tsquery_phrase('a <3> g', 'b & d', 10);
SELECT numnode('new & york | qwery'::tsquery), querytree('a & !b'::tsquery), querytree('!b'::tsquery);
SELECT 'a' < 'b & c'::tsquery AS t, 'a | f' < 'b & c'::tsquery AS t2;
SELECT 'new & york'::tsquery @> 'new'::tsquery, 'new'::tsquery <@ 'new & york'::tsquery;
-- matching
SELECT 'a b:89  ca:23A,64b d:34c'::tsvector @@ 'd:AC & ca:B' AS t,
       'wa:1A wb:2D'::tsvector @@ 'w:*D <-> w:*A'::tsquery AS f,
       strip('wa:1A'::tsvector) @@ 'w:*D'::tsquery AS t2;
SELECT to_tsvector('simple', 'x y q y') @@ '!x <-> y' AS t,
       strip(to_tsvector('simple', 'x y q y')) @@ '!x <-> y' AS f,
       to_tsvector('simple', '1 2 11 3') @@ '1:* <-> 3' AS t2;
SELECT 'The fat cats' @@ 'cat' AS t, 'The fat cats'::text @@ 'cats:*'::tsquery AS t2;
-- editing
SELECT 'a:3A b:2a'::tsvector || 'ba:1234 a:1B';
SELECT setweight('a:1,3A asd:1C w:5,6,12B,13A zxc:81,222A,567'::tsvector, 'c', '{a,zxc}');
SELECT ts_delete('base:7 hidden:6 rebel:1 spaceship:2,33A'::tsvector, ARRAY['spaceship','rebel']);
SELECT ts_filter('base:7A hidden:6A rebel:1 spaceship:2A'::tsvector, '{a}');
SELECT tsvector_to_array('b:2 a:1'::tsvector), array_to_tsvector(ARRAY['foo','bar','baz','bar']);
SELECT array_to_tsvector(ARRAY['a', NULL]);
SELECT length('a b c'::tsvector), strip('a:1 b:2'::tsvector);
SELECT * FROM unnest('base:7 rebel:1 spaceship:2,33A strike'::tsvector);
-- configurations
SELECT to_tsvector('english', 'Rebel spaceships, striking from a hidden base');
SELECT to_tsvector('simple', 'The Quick-Brown fox 3.14 jumps http://example.com/x');
SELECT to_tsquery('english', 'supernovae & !stars | the'), plainto_tsquery('english', 'The Fat Rats');
SELECT phraseto_tsquery('english', 'the fat of the rats'), websearch_to_tsquery('english', '"fat rat" or cat -dog');
SELECT to_tsquery('english', 'the');
SELECT ts_lexize('english_stem', 'stars'), ts_lexize('english_stem', 'the'), ts_lexize('simple', 'Stars');
SELECT * FROM ts_parse('default', 'foo-bar 4.2 teodor@stack.net <b>x</b>');
SELECT alias, token, dictionaries, dictionary, lexemes FROM ts_debug('english', 'a title');
-- ranking
SELECT ts_rank(' a:1 s:2C d g'::tsvector, 'a | s'), ts_rank(' a:1 s:2B d g'::tsvector, 'a & s'),
       ts_rank_cd(' a:1 s:2C d g'::tsvector, 'a | s'), ts_rank_cd(' a:1 s:2 d g'::tsvector, 'a & s');
-- stored in a table
CREATE TABLE docs (id int, body text, v tsvector, q tsquery);
INSERT INTO docs VALUES (1, 'the quick brown fox', to_tsvector('english', 'the quick brown fox'), 'fox & quick'),
  (2, 'lazy dogs sleep', to_tsvector('english', 'lazy dogs sleep'), 'dog <-> sleep');
SELECT id, v, q FROM docs ORDER BY id;
SELECT id FROM docs WHERE v @@ 'fox' ORDER BY id;
SELECT count(*) FROM docs WHERE v @@ q;
SELECT v::text, q::text FROM docs ORDER BY id;
DROP TABLE docs;
-- headlines
SELECT ts_headline('english', 'The quick brown fox jumps over the lazy dog. The dog sleeps.', to_tsquery('english', 'dog & fox'));
SELECT ts_headline('The quick brown fox jumps over the lazy dog', to_tsquery('english', 'lazy'), 'StartSel=<, StopSel=>, MaxWords=4, MinWords=2');
SELECT ts_headline('simple', 'one two three four five six seven eight nine ten one two', to_tsquery('simple', 'two'), 'MaxFragments=2, MaxWords=3, MinWords=1');
SELECT ts_headline('english', 'x', to_tsquery('english', 'x'), 'MinWords=5, MaxWords=3');
SELECT ts_rank_cd(' a:1 sa:3C sab:2c d g'::tsvector, 'a | sa:*'), ts_rank_cd(' a:1 s:2,3A d:2A g'::tsvector, 'a <2> s:A', 5);
SELECT tsvectorin(tsvectorout('b a:2'::tsvector));
