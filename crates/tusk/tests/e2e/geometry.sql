-- input forms and output
select '(1,2)'::point, ' 3 , 4 '::point, '[(1,2),(3,4)]'::lseg, '10,-10 ,-3,-4'::lseg;
select '(0,0,2,2)'::box, '(2,2),(0,0)'::box, '(0,3),(2,1)'::box;
select '[(1,2),(3,4)]'::path, ' ( ( 1 , 2 ) , ( 3 , 4 ) ) '::path, '1,2 ,3,4 '::path, '((10,20))'::path;
select '(3,1),(3,3),(1,0)'::polygon, '(0,0,1,1)'::polygon;
select '<(5,1),3>'::circle, '1,2,100'::circle, '((1,2),100)'::circle;
select '{0,-1,5}'::line, ' (0,0), (6,6)'::line, '[(1,3),(2,3)]'::line, line(point '(3,1)', point '(3,2)');
select '(NaN,Infinity)'::point, '(1e-300,-1e300)'::point;
-- input errors
select '(10.0 10.0)'::point;
select '(10.0, 10.0) x'::point;
select '(10.0, 1e+500)'::point;
select '[]'::path;
select '(1,2),(3,4)]'::path;
select '{0,0,1}'::line;
select '[(1,2),(1,2)]'::line;
select '<(-100,0),-100>'::circle;
select '[1,2,3,4]'::box;
select '(1,2,3)'::polygon;
-- float output follows extra_float_digits
select point '(0,0)' <-> point '(1,1)' as d, point(1.0/3, 2.0/3) as p;
set extra_float_digits = 0;
select point '(0,0)' <-> point '(1,1)' as d, point(1.0/3, 2.0/3) as p, circle '<(0,0),1>'::box;
set extra_float_digits = -5;
select point(1.0/3, 2.0/3) as p, 1.0::float8/3;
reset extra_float_digits;
-- point operators
select point '(1,2)' + point '(3,4)', point '(1,2)' - point '(3,4)', point '(1,2)' * point '(3,4)', point '(1,2)' / point '(3,4)';
select point '(1,1)' << point '(2,2)', point '(1,1)' >> point '(2,2)', point '(1,1)' <<| point '(2,2)', point '(1,1)' |>> point '(2,2)';
select point '(0,0)' ~= point '(0,0.0000001)', point '(0,0)' ~= point '(0,0.00001)', point '(0,0)' <> point '(0,1)';
select point '(1,1)' ?- point '(5,1)', point '(1,1)' ?| point '(1,5)', slope(point '(0,0)', point '(2,1)');
select p[0] as x, p[1] as y from (select point '(3,4)' as p) s;
select point '(1,1)' / point '(0,0)';
select point '(1e300,1e300)' * point '(1e300,1e300)';
-- containment and distance
select point '(1,1)' <@ box '(0,0,2,2)', box '(0,0,2,2)' @> point '(3,3)', point '(1,1)' <@ circle '<(0,0),2>';
select point '(1,1)' <@ polygon '(0,0),(0,2),(2,2),(2,0)', polygon '(0,0),(0,2),(2,2),(2,0)' @> point '(2,1)';
select point '(-5,5)' <@ path '[(0,0),(-10,0),(-10,10)]', point '(-5,0)' <@ path '[(0,0),(-10,0),(-10,10)]';
select point '(5,2)' <-> box '(0,0,2,2)', point '(0,3)' <-> lseg '[(0,0),(2,2)]', point '(0,3)' <-> line '{1,-1,0}';
select point '(10,0)' <-> circle '<(0,0),2>', point '(5,5)' <-> polygon '(0,0),(0,2),(2,2)', point '(5,5)' <-> path '[(0,0),(0,2)]';
select point '(5,2)' ## box '(0,0,2,2)', point '(0,3)' ## lseg '[(0,0),(2,2)]', point '(0,3)' ## line '{1,-1,0}';
-- lseg and line
select lseg '[(0,0),(2,2)]' # lseg '[(0,2),(2,0)]', lseg '[(0,0),(2,2)]' ?# lseg '[(0,2),(2,0)]', lseg '[(0,0),(1,1)]' # lseg '[(5,5),(6,7)]';
select lseg '[(0,0),(2,2)]' ?-| lseg '[(0,2),(2,0)]', lseg '[(0,0),(2,2)]' ?|| lseg '[(1,0),(3,2)]', ?- lseg '[(0,0),(3,0)]', ?| lseg '[(0,0),(0,3)]';
select @@ lseg '[(0,0),(2,4)]', @-@ lseg '[(0,0),(3,4)]', length(lseg '[(0,0),(3,4)]'), lseg '[(0,0),(3,4)]' = lseg '[(0,0),(3,4)]';
select lseg '[(0,0),(3,4)]' <-> lseg '[(10,0),(10,4)]', lseg '[(0,0),(1,1)]' ## lseg '[(3,0),(3,5)]';
select line '{1,-1,0}' # line '{1,1,-2}', line '{1,-1,0}' ?# line '{1,-1,5}', line '{1,-1,0}' ?|| line '{2,-2,5}', line '{1,-1,0}' ?-| line '{1,1,0}';
select line '{1,-1,0}' <-> line '{1,-1,5}', line '{1,-1,0}' = line '{2,-2,0}', '{nan, 1, nan}'::line = '{nan, 1, nan}'::line;
select ?- line '{0,-1,3}', ?| line '{-1,0,3}', isvertical(line '{-1,0,3}'), ishorizontal(lseg '[(0,0),(3,0)]');
-- box
select box '(0,0,2,2)' && box '(1,1,3,3)', box '(0,0,2,2)' << box '(3,3,4,4)', box '(0,0,2,2)' &< box '(1,1,3,3)', box '(0,0,2,2)' <<| box '(0,3,1,4)';
select box '(0,0,2,2)' @> box '(1,1,1.5,1.5)', box '(1,1,1.5,1.5)' <@ box '(0,0,2,2)', box '(0,0,2,2)' ~= box '(2,2,0,0)';
select box '(0,0,2,2)' = box '(5,5,7,7)', box '(0,0,2,2)' < box '(0,0,3,3)', box '(0,0,2,2)' # box '(1,1,3,3)', box '(0,0,1,1)' # box '(2,2,3,3)';
select box '(0,0,2,2)' + point '(1,1)', box '(0,0,2,2)' - point '(1,1)', box '(1,1,2,2)' * point '(2,0)', box '(1,1,2,2)' / point '(2,0)';
select area(box '(0,0,2,3)'), height(box '(0,0,2,3)'), width(box '(0,0,2,3)'), center(box '(0,0,2,3)'), @@ box '(0,0,2,3)', diagonal(box '(0,0,2,3)');
select box '(0,0,1,1)' <-> box '(3,4,4,5)', bound_box(box '(0,0,1,1)', box '(3,3,4,4)'), box(point '(1,1)', point '(0,3)'), box(point '(1,1)');
-- path and polygon
select isopen(path '[(0,0),(1,1)]'), isclosed(path '[(0,0),(1,1)]'), pclose(path '[(0,0),(1,1)]'), popen(path '((0,0),(1,1))');
select npoints(path '[(0,0),(1,1),(2,0)]'), # path '[(0,0),(1,1),(2,0)]', length(path '[(0,0),(3,4),(3,8)]'), @-@ path '((0,0),(3,4),(3,0))';
select area(path '((0,0),(2,0),(2,2),(0,2))'), area(path '[(0,0),(2,0)]'), path '[(0,0),(1,1)]' + path '[(2,2),(3,3)]';
select path '[(0,0),(1,1)]' + point '(1,0)', path '[(0,0),(1,1)]' * point '(0,1)', path '[(0,0),(2,2)]' ?# path '[(0,2),(2,0)]';
select path '[(0,0),(1,1)]' <-> path '[(3,0),(3,5)]', path '[(0,0),(1,1)]' < path '[(0,0),(1,1),(2,2)]';
select polygon '(0,0),(0,4),(4,4),(4,0)' @> polygon '(1,1),(1,2),(2,2)', polygon '(0,0),(0,4),(4,4)' && polygon '(3,0),(5,0),(5,5)';
select polygon '(0,0),(0,4),(4,4),(4,0)' ~= polygon '(4,0),(0,0),(0,4),(4,4)', polygon '(0,0),(0,1),(1,1)' << polygon '(2,0),(2,1),(3,1)';
select npoints(polygon '(0,0),(0,4),(4,4)'), # polygon '(0,0),(0,4),(4,4)', @@ polygon '(0,0),(0,4),(4,4),(4,0)', polygon '(0,0),(0,1),(1,1)' <-> polygon '(3,0),(3,1),(4,1)';
-- circle
select circle '<(0,0),2>' && circle '<(3,0),2>', circle '<(0,0),2>' @> circle '<(0.5,0),1>', circle '<(0,0),2>' ~= circle '<(0,0),2>', circle '<(0,0),2>' << circle '<(5,0),2>';
select circle '<(0,0),2>' = circle '<(9,9),2>', circle '<(0,0),2>' < circle '<(0,0),3>', circle '<(0,0),2>' <-> circle '<(10,0),3>';
select area(circle '<(0,0),1>'), diameter(circle '<(0,0),2>'), radius(circle '<(0,0),2>'), center(circle '<(1,2),2>'), @@ circle '<(1,2),2>';
select circle '<(1,1),2>' + point '(1,1)', circle '<(1,1),2>' * point '(0,2)', circle(point '(1,1)', 3), circle(box '(0,0,2,2)');
select polygon(4, circle '<(0,0),1>'), polygon(1, circle '<(0,0),1>');
select polygon(circle '<(0,0),0>');
-- casts
select box '(0,0,1,1)'::polygon, polygon '(0,0),(2,0),(2,2)'::box, polygon '(0,0),(2,0),(2,2)'::path, path '((0,0),(2,0),(2,2))'::polygon;
select '(1,2)'::point::box, circle '<(1,1),2>'::point, box '(0,0,2,2)'::circle, box '(0,0,2,2)'::lseg, lseg '[(0,0),(2,2)]'::point;
select path '[(0,0),(2,0),(2,2)]'::polygon;
select point '(1,2)'::text, '(1,2)'::text::point;
-- errors of the operator set
select point '(1,2)' = point '(1,2)';
select point '(1,1)' <-> 5;
create table geo_t (id int, p point, b box, c circle, pa path, po polygon, l line, s lseg);
insert into geo_t values (1, '(1,2)', '(0,0,2,2)', '<(1,1),1>', '[(0,0),(1,1)]', '(0,0),(1,1),(1,0)', '{1,-1,0}', '[(0,0),(1,1)]'),
  (2, '(5,5)', '(4,4,6,6)', '<(5,5),2>', '((0,0),(5,5),(5,0))', '(3,3),(4,4),(4,3)', '{0,-1,5}', '[(1,0),(2,3)]');
select * from geo_t order by id;
select id from geo_t where p <@ box '(0,0,3,3)';
select id, p <-> point '(0,0)' as d from geo_t order by d desc;
select * from geo_t order by p;
select p from geo_t order by b;
update geo_t set p = p + point '(1,1)' where id = 1;
select id, p, b @> p from geo_t order by id;
select distinct p from (values (point '(1,2)'), (point '(1,2)')) v(p);
select p from (values (point '(1,2)')) v(p) group by p;
select '(1,2)'::point in ('(1,2)'::point);
select point '(1,2)' is distinct from point '(1,2)';
select 1 in (1, 2), 'a' is distinct from 'b';
create table gi (p point, b box);
create index on gi (p);
create index on gi (b);
create unique index on gi (b);
\d gi
select min(p) from gi;
select p from gi union select p from gi;
select array_agg(p) from (values (point '(1,2)')) v(p);
select count(*) from gi where p ?| point '(1,1)';
prepare q(point) as select $1 <-> point '(0,0)'; execute q('(3,4)');
select '(1,2)'::point::varchar;
select pg_typeof(point '(1,1)' <-> point '(2,2)');
create table gc (p point, po polygon, pa path);
insert into gc(p) values (box '(0,0,1,1)');
insert into gc(po) values (box '(0,0,1,1)');
insert into gc(pa) values (polygon '(0,0),(1,1),(2,0)');
insert into gc(po) values (path '((0,0),(1,1),(2,0))');
insert into gc(po) values (circle '<(0,0),1>');
select * from gc;
select area(polygon '(0,0),(1,1),(2,0)');
-- pg_type rows
select oid, typname, typlen, typbyval, typtype, typcategory, typelem, typarray, typalign, typstorage, typdelim, format_type(oid, null) from pg_type where oid in (600,601,602,603,604,628,718,1017,1018,1019,1020,1027,629,719) order by oid;
-- arrays (box's elements are separated by ';')
select array[box '(0,0,1,1)', box '(2,2,3,3)'], '{(1,1),(0,0);(3,3),(2,2)}'::box[], '{"(1,1),(0,0)";(3,3),(2,2)}'::box[];
select '{(1,1),(0,0),(3,3),(2,2)}'::box[];
select '{{1,2},{3,4}}'::int[], '{"a,b",c}'::text[], array[point '(1,2)'];
