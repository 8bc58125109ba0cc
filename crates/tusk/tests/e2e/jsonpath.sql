-- The jsonpath type: normalised output and syntax errors.
SELECT '$.a.b[*] ? (@.c > 1 && @.d like_regex "^x" flag "i")'::jsonpath;
SELECT 'strict $.**{1 to last}.x'::jsonpath;
SELECT '$[1, 2 to last] + -$.a * 3'::jsonpath;
SELECT '(-+$.a.b).c.d'::jsonpath, '1.2.e3'::jsonpath, '$"var".type()'::jsonpath;
SELECT '$ ? (@ starts with "ab" || !(exists(@.x)))'::jsonpath;
SELECT 'last'::jsonpath;
SELECT '1.type()'::jsonpath;
SELECT '$.a b'::jsonpath;
SELECT '$ ? (@ == 1'::jsonpath;
SELECT ''::jsonpath;
SELECT pg_typeof('$'::jsonpath), '$.a'::jsonpath::text;
-- Stored in a table.
CREATE TABLE paths (id int, p jsonpath);
INSERT INTO paths VALUES (1, '$.a'), (2, 'strict $.b[*]'), (3, '$.c ? (@ > 2)');
SELECT id, p, jsonb_path_query_array('{"a": 1, "b": [1, 2], "c": [1, 3, 5]}', p) FROM paths ORDER BY id;
-- The functions and operators, lax and strict.
SELECT jsonb_path_query('{"a": [1, 2, {"b": 3}]}', '$.a[*].b');
SELECT jsonb_path_query('{"a": [1, 2, 3]}', '$.a[last - 1 to last]');
SELECT jsonb_path_query_first('[5, 6]', '$[*] ? (@ > $min)', '{"min": 5}');
SELECT jsonb_path_exists('{"a": 1}', 'strict $.b'), jsonb_path_exists('{"a": 1}', 'lax $.b');
SELECT jsonb_path_exists('{"a": 1}', 'strict $.b.c', silent => true);
SELECT jsonb_path_match('{"a": 2}', '$.a > 1'), jsonb '{"a": 2}' @@ '$.a == 3';
SELECT jsonb '[1, "x", null]' @? '$[*] ? (@ == "x")', jsonb '[1]' @? 'strict $.a';
SELECT jsonb_path_query('[1, 2.5, -3]', '$[*].abs().floor()');
SELECT jsonb_path_query('{"x": {"y": [true, null]}}', '$.**.type()');
SELECT jsonb_path_query('{"a": 1, "b": {"c": 2}}', '$.keyvalue()');
SELECT jsonb_path_query('[1, 2]', '$.size() + 10 / 4');
SELECT * FROM jsonb_path_query('{"a": [{"n": 1}, {"n": 5}]}', '$.a[*] ? (@.n > 2).n') AS q(n);
SELECT jsonb_path_query('{"a": 1}', 'strict $.b');
SELECT jsonb_path_query('[1]', 'strict $[3]');
SELECT jsonb_path_query('1', '$ + "a"');
SELECT jsonb_path_query('1', '$ / 0');
SELECT jsonb_path_query('1', '$x');
SELECT jsonb_path_query('1', '$', '[]');
SELECT jsonb_path_match('[true, true]', '$[*]');
-- The catalog row, and no comparison operators.
SELECT typname, typarray, typcategory FROM pg_type WHERE oid = 'jsonpath'::regtype;
SELECT '$'::jsonpath = '$'::jsonpath;
-- jsonb subscripts, jsonb_set_lax and pg_column_size(jsonb).
SELECT ('{"a": [1, {"b": 2}]}'::jsonb)['a'][1]['b'], ('[1, 2]'::jsonb)['x'];
SELECT jsonb_set_lax('{"a": 1, "b": 2}', '{b}', null, null_value_treatment => 'delete_key');
SELECT pg_column_size('{"aa": 1, "b": [1.5, "x"]}'::jsonb);
DROP TABLE paths;
