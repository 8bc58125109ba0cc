create table os_t (g int, x float8, s text);
insert into os_t select i % 3, i * 1.5, chr(97 + i % 4) from generate_series(1, 30) i;
insert into os_t values (1, null, null), (2, null, 'z');
select g, percentile_cont(0.5) within group (order by x), percentile_disc(0.5) within group (order by x), mode() within group (order by s), rank(20) within group (order by x) from os_t group by g order by g;
select g, percentile_cont(array[0.1, 0.9]) within group (order by x desc) filter (where x > 10) from os_t group by g order by g;
select p, percentile_cont(p) within group (order by x::float8)
from generate_series(1,5) x,
     (values (0::float8),(0.1),(0.25),(0.4),(0.5),(0.6),(0.75),(0.9),(1)) v(p)
group by p order by p;
select p, percentile_cont(p order by p) within group (order by x) from generate_series(1,5) x, (values (0::float8)) v(p) group by p;
select p, percentile_cont(p,p) from generate_series(1,5) x, (values (0::float8)) v(p) group by p;
select percentile_cont(0.5) within group (order by x), sum(x) from generate_series(1,4) x;
select rank(3) within group (order by x) from (values (1),(1),(2),(2),(3),(3),(4)) v(x);
select cume_dist(3) within group (order by x) from (values (1),(1),(2),(2),(3),(3),(4)) v(x);
select percent_rank(3) within group (order by x) from (values (1),(1),(2),(2),(3),(3),(4),(5)) v(x);
select dense_rank(3) within group (order by x) from (values (1),(1),(2),(2),(3),(3),(4)) v(x);
select percentile_disc(array[0,0.1,0.25,0.5,0.75,0.9,1]) within group (order by x) from generate_series(0,999) x;
select percentile_cont(array[0,1,0.25,0.75,0.5,1,0.3,0.32,0.35,0.38,0.4]) within group (order by x) from generate_series(1,6) x;
select percentile_disc(array[[null,1,0.5],[0.75,0.25,null]]) within group (order by x) from generate_series(0,999) x;
select x % 3, mode() within group (order by x % 5) from generate_series(1,20) x group by 1 order by 1;
select percentile_disc(array[0.25,0.5,0.75]) within group (order by x)
from unnest('{fred,jim,fred,jack,jill,fred,jill,jim,jim,sheila,jim,sheila}'::text[]) u(x);
select rank(sum(x)) within group (order by x) from generate_series(1,5) x;
select rank(3) within group (order by x) from (values ('fred'),('jim')) v(x);
select rank(3) within group (order by x, x) from generate_series(1,5) x;
select rank('fred') within group (order by x) from generate_series(1,5) x;
select rank('adam'::varchar) within group (order by x) from (values ('fred'),('jim')) v(x);
select rank('3') within group (order by x) from generate_series(1,5) x;
select percent_rank(0) within group (order by x) from generate_series(1,0) x;
select percentile_cont(0.5) within group (order by x) filter (where x > 2) from generate_series(1,10) x;
select percentile_cont(1.5) within group (order by x) from generate_series(1,10) x;
select percentile_cont(0.25) within group (order by x * interval '1 hour') from generate_series(1,10) x;
select percentile_cont(0.5) within group (order by x desc), percentile_disc(0.3) within group (order by x desc) from generate_series(1,10) x;
select mode() within group (order by x) over () from generate_series(1,3) x;
select percentile_cont(0.5) within group (order by x) from (values ('a')) v(x);
select rank(2) within group (order by x desc nulls last) from (values (1),(null),(3),(2)) v(x);
select percentile_cont(null) within group (order by x) from generate_series(1,3) x;
select max(row(1, 2));
select min('\xaa'::bytea);
drop table os_t;
