-- Polymorphic pseudo-types, defaults, named arguments and VARIADIC in
-- user functions.
create function polyf(x anyelement) returns anyelement as $$ select x + 1 $$ language sql;
select polyf(42) as int, polyf(4.5) as num;
select pg_typeof(polyf(2::smallint));
drop function polyf(x anyelement);
create function polyf(x anyelement) returns anyarray as $$ select array[x + 1, x + 2] $$ language sql;
select polyf(42) as int, polyf(4.5) as num;
drop function polyf(x anyelement);
create function polyf(x anyarray) returns anyelement as $$ select x[1] $$ language sql;
select polyf(array[2,4]) as int, polyf(array[4.5, 7.7]) as num;
select polyf(42);
drop function polyf(x anyarray);
create function polyf(x anyelement) returns anyrange as $$ select x $$ language sql;
create function polyf(x int) returns anyelement as $$ select x $$ language sql;
create function polyf(x anycompatible) returns anycompatiblerange as $$ select x $$ language sql;
create function polyf(x int) returns anycompatiblearray as $$ select x $$ language sql;
create function polyf(x anyrange) returns anyarray as $$ select array[lower(x), upper(x)] $$ language sql;
select polyf(int4range(42, 49)) as int, polyf(numrange(4.5, 7.8)) as num;
drop function polyf(x anyrange);
create function polyf(x anycompatible, y anycompatible) returns anycompatiblearray as $$ select array[x, y] $$ language sql;
select polyf(2, 4) as int, polyf(2, 4.5) as num, pg_typeof(polyf(2, 4.5));
select polyf('a', 'b');
select polyf(1, 'x'::text);
drop function polyf(x anycompatible, y anycompatible);
create function polyf(x anycompatiblerange, y anycompatible, z anycompatible) returns anycompatiblearray as $$ select array[lower(x), upper(x), y, z] $$ language sql;
select polyf(int4range(42, 49), 11, 2::smallint) as int;
select polyf(int4range(42, 49), 11, 4.5) as fail;
drop function polyf(x anycompatiblerange, y anycompatible, z anycompatible);
create function polyf(anyrange) returns anymultirange as 'select multirange($1);' language sql;
select polyf(int4range(1,10));
drop function polyf(anyrange);
create function polyf(anymultirange) returns anyelement as 'select lower($1);' language sql;
select polyf(int4multirange(int4range(1,10), int4range(20,30)));
drop function polyf(anymultirange);
create function sql_if(bool, anyelement, anyelement) returns anyelement as $$
select case when $1 then $2 else $3 end $$ language sql;
select sql_if(true, 1, 2), sql_if(false, 'a'::text, 'b'), sql_if(true, 1.5, 2);
select sql_if(true, 1, 'x'::text);
create function pl_first(a anyarray) returns anyelement as $$
begin
  return a[1];
end $$ language plpgsql;
select pl_first(array[3,2,1]), pl_first(array['x','y']);
drop function pl_first(anyarray);
-- VARIADIC
create function myleast(variadic anyarray) returns anyelement as $$
  select min($1[i]) from generate_subscripts($1,1) g(i)
$$ language sql immutable strict;
select myleast(10, 1, 20, 33);
select myleast(1.1, 0.22, 0.55);
select myleast('z'::text);
select myleast();
create function vconcat(text, variadic anyarray) returns text as $$
  select array_to_string($2, $1);
$$ language sql immutable strict;
select vconcat('%', 1, 2, 3, 4, 5);
select vconcat('|', 'a'::text, 'b', 'c');
create function formarray(anyelement, variadic anyarray) returns anyarray as $$
  select array_prepend($1, $2);
$$ language sql immutable strict;
select formarray(1,2,3,4,5);
select formarray(1.1, array[1.2,55.5]);
select formarray(1, 'x'::text);
create function vbad(variadic int, int) returns int as 'select 1' language sql;
create function vbad(variadic int) returns int as 'select 1' language sql;
create function dfunc(a variadic int[]) returns int as
$$ select array_upper($1, 1) $$ language sql;
select dfunc();
select dfunc(10);
select dfunc(10,20);
drop function dfunc(int[]);
-- defaults and named arguments
create function dfunc(a int = 1, int = 2) returns int as $$ select $1 + $2; $$ language sql;
select dfunc(), dfunc(10), dfunc(10, 20);
select dfunc(10, 20, 30);
drop function dfunc(int, int);
create function dfunc(anyelement = 'World'::text) returns text as $$
  select 'Hello, ' || $1::text;
$$ language sql;
select dfunc();
select dfunc(0);
select dfunc('City'::text);
drop function dfunc(anyelement);
create function dfunc(a int, b int = 2, c int = 3) returns int as $$ select a * 100 + b * 10 + c $$ language sql;
select dfunc(1, c => 9), dfunc(a := 5), dfunc(1, 2, c := 4);
select dfunc(b => 1);
drop function dfunc(int, int, int);
-- CREATE AGGREGATE
create function tfp(anyarray, anyelement) returns anyarray as 'select $1 || $2' language sql;
create function tfnp(int[], int) returns int[] as 'select $1 || $2' language sql;
create function ffp(anyarray) returns anyarray as 'select $1' language sql;
create function sum3(anyelement, anyelement, anyelement) returns anyelement as 'select $1+$2+$3' language sql strict;
create aggregate agg_old(basetype = int, sfunc = tfnp, stype = int[], initcond = '{}');
create aggregate agg_poly(anyelement) (sfunc = tfp, stype = anyarray, finalfunc = ffp, initcond = '{}');
create aggregate agg_bad(*) (sfunc = tfp, stype = anyarray, initcond = '{}');
create aggregate agg_bad(basetype = anyelement, sfunc = tfnp, stype = int[]);
create aggregate agg_bad(int) (sfunc = nosuchfn, stype = int[]);
create aggregate agg_bad(int) (sfunc = tfnp);
create aggregate mysum2(anyelement, anyelement) (sfunc = sum3, stype = anyelement, initcond = '0');
create function addi(int, int) returns int as 'select $1 + $2' language sql strict;
create aggregate mysum(int) (sfunc = addi, stype = int);
create aggregate myarr(float8) (sfunc = array_append, stype = float8[]);
create temp table t(g int, x int, s text);
insert into t values (1, 3, 'c'), (1, 1, 'a'), (1, null, null), (2, 2, 'b'), (2, 2, 'b'), (3, 5, 'e');
select g, agg_old(x), agg_poly(x), agg_poly(s), mysum2(x, x + 1), mysum(x) from t group by g order by g;
select agg_old(distinct x order by x desc) from t;
select agg_poly(s order by s) filter (where g < 3) from t;
select g, x, mysum(x) over (order by g, x), agg_poly(x) over (partition by g order by x) from t order by g, x;
select mysum(x) from t where false;
select agg_poly(x::float8), myarr(x) from t;
select agg_poly('a', 'b');
drop aggregate agg_bad(int);
drop aggregate agg_old(int);
drop aggregate agg_poly(anyelement);
drop aggregate mysum(int);
select mysum(1);
drop function mysum2(anyelement, anyelement);
create function least_accum(anycompatible, anycompatible) returns anycompatible language sql as 'select least($1, $2)' strict;
create aggregate least_agg(int4) (stype = int8, sfunc = least_accum);
create aggregate least_agg(int8) (stype = int8, sfunc = least_accum);
select least_agg(x::int8) from t;
-- an untyped literal prefers the string-typed overload; := in FROM
create function dfunc(a int = 1, b int = 2) returns int as 'select $1 + $2' language sql;
create function dfunc(a text = 'x', b text = 'y') returns text as 'select $1 || $2' language sql;
select dfunc('Hi'), dfunc('Hi', 'City'), dfunc(0);
select * from dfunc(b := 'q', a := 'p');
select * from dfunc(b := 10);
-- VARIADIC arr in calls
create function vleast(variadic anyarray) returns anyelement as $$
  select min($1[i]) from generate_subscripts($1,1) g(i)
$$ language sql immutable strict;
select vleast(variadic array[1,2,3,4,-1]);
select vleast(variadic array[1.1, -5.5]);
select vleast(variadic array[]::int[]);
create function vconcat2(text, variadic anyarray) returns text as $$
  select array_to_string($2, $1);
$$ language sql immutable strict;
select vconcat2('|', variadic array[1,2,33]);
select vconcat2('|', variadic array[]::int[]);
create function formarray2(anyelement, variadic anyarray) returns anyarray as $$
  select array_prepend($1, $2);
$$ language sql immutable strict;
select formarray2(1.1, variadic array[1.2,55.5]);
select formarray2(1, variadic array['x'::text]);
select vleast(variadic 1);
create function nv(int[]) returns int as 'select 1' language sql;
select nv(variadic array[1]);
create function dfunc(out int = 20) returns int as 'select 1' language sql;
-- array_larger as a transition function
select array_larger(array[1,2], array[1,3]), array_smaller(array[1,2], array[1,3]), array_larger(null, array[1]);
CREATE AGGREGATE array_larger_accum (anyarray) ( sfunc = array_larger, stype = anyarray, initcond = '{}');
SELECT array_larger_accum(i) FROM (VALUES (ARRAY[1,2]), (ARRAY[3,4])) as t(i);
SELECT array_larger_accum(i) FROM (VALUES (ARRAY[row(1,2),row(3,4)]), (ARRAY[row(5,6),row(7,8)])) as t(i);
