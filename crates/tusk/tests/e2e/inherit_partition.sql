create table p (a int, b text);
create table c1 (c int) inherits (p);
create table c2 (b text, d int) inherits (p);
create table gc (a int) inherits (c1);
insert into p values (1,'p');
insert into c1 values (2,'c1',20);
insert into c2 values (3,'c2',30);
insert into gc values (4,'gc',40);
select tableoid::regclass, * from p order by a;
select * from only p;
select * from p* where a > 2 order by a;
update p set b = b || 'x' where a >= 2;
select tableoid::regclass, * from c1 order by a;
select * from c2;
delete from p where a = 3;
select count(*) from p;
update only p set b = 'only';
select * from p order by a;
select inhrelid::regclass, inhparent::regclass, inhseqno from pg_inherits order by 1,2;
select relname, relhassubclass from pg_class where relname in ('p','c1','c2','gc') order by 1;
drop table p;
drop table c1 cascade;
drop table p cascade;
create table q1 (x int not null, y int check (y > 0));
create table q2 (x int, z text default 'zz');
create table q3 (x int, y int) inherits (q1, q2);
\d q3
insert into q3 (x, y) values (null, 1);
insert into q3 (x, y) values (1, -1);
create table q4 (x text) inherits (q1);
drop table q1, q2, q3;
create table r (a int, b text) partition by range (a);
create table r1 partition of r for values from (1) to (10);
create table r2 partition of r for values from (10) to (20);
create table r3 partition of r for values from (5) to (15);
create table rd partition of r default;
insert into r values (1, 'one'), (15, 'fifteen'), (100, 'hundred');
select tableoid::regclass, * from r order by a;
select * from r1;
select relname, relkind, relispartition, pg_get_expr(relpartbound, oid) from pg_class where relname like 'r%' and relnamespace = 'public'::regnamespace order by 1;
select pg_get_partkeydef('r'::regclass);
select partrelid::regclass, partstrat, partnatts, partattrs from pg_partitioned_table;
update r set a = 12 where a = 1;
select tableoid::regclass, * from r order by a;
delete from r where a = 100;
select count(*) from r;
create table l (a int, b text) partition by list (b);
create table l1 partition of l for values in ('a', 'b');
create table l2 partition of l for values in ('b', 'c');
create table l2 partition of l for values in ('c', null);
insert into l values (1, 'a'), (2, 'c'), (3, null);
insert into l values (4, 'z');
select tableoid::regclass, * from l order by a;
create table h (a int) partition by hash (a);
create table h0 partition of h for values with (modulus 3, remainder 0);
create table h1 partition of h for values with (modulus 3, remainder 1);
create table h2 partition of h for values with (modulus 3, remainder 2);
insert into h select generate_series(1, 20);
select tableoid::regclass, array_agg(a order by a) from h group by 1 order by 1;
create table m (a int, b int) partition by range (a, b);
create table m1 partition of m for values from (1, minvalue) to (1, 10);
create table m2 partition of m for values from (10, 1) to (1, 1);
select pg_get_expr(relpartbound, oid) from pg_class where relname = 'm1';
create table s (a int, b int) partition by list (a);
create table s1 partition of s for values in (1) partition by range (b);
create table s11 partition of s1 for values from (0) to (10);
insert into s values (1, 5);
insert into s values (1, 50);
select tableoid::regclass, * from s;
\d r
\d+ r
\d r1
\d rd
drop table r1;
drop table r;
select count(*) from pg_class where relname like 'r_';
create table p3 partition of l for values from (1) to (2);
create table x partition of h1 for values in (1);
create table e (a int) partition by range (zz);
create table e (a int) partition by list (a, a);
create table r (a int, b text) partition by range (a);
create table r1 partition of r for values from (1) to (10);
create table r2 (a int, b text);
insert into r2 values (15, 'x');
alter table r attach partition r2 for values from (10) to (20);
select tableoid::regclass, * from r;
alter table r attach partition r2 for values from (30) to (40);
create table r3 (b text, a int);
insert into r3 values ('y', 35);
alter table r attach partition r3 for values from (20) to (30);
alter table r attach partition r3 for values from (30) to (40);
insert into r values (36, 'z');
select tableoid::regclass, * from r order by a;
\d+ r
alter table r detach partition r2;
select tableoid::regclass, * from r order by a;
\d r2
alter table r detach partition r2;
create table r4 (a int, b text, c int);
alter table r attach partition r4 for values from (50) to (60);
create table r5 (a int);
alter table r attach partition r5 for values from (50) to (60);
create table pa (x int);
create table ch (x int, y int);
alter table ch inherit pa;
insert into ch values (1, 2);
select * from pa;
\d pa
\d ch
alter table ch no inherit pa;
select * from pa;
alter table ch no inherit pa;
insert into r values (null, 'n');
copy r from stdin;
3	c
25	d
\.
select tableoid::regclass, * from r order by a;
create table v (a int, b text);
create table v1 (c int) inherits (v);
insert into v values (1, 'v');
insert into v1 values (2, 'v1', 3);
update v* set b = b || '!' where a = 2;
delete from only v where a = 2;
select tableoid::regclass, * from v* order by a;
delete from only v;
select t.a, t.tableoid::regclass from v t join v1 u on t.a = u.a;
select * from only r order by a;
explain (costs off) select * from only v;
create table a (x int);
create table b (y int) inherits (a);
create table c (x int, z int) inherits (a);
alter table a add column w text default 'w';
alter table a add column z int;
select * from b;
select * from c;
\d c
alter table a rename column w to ww;
alter table a drop column ww;
alter table only a add column q int;
select * from b;
select * from a;
create table r9 (a int, b text) partition by range (a);
create table r1_5 partition of r9 for values from (1) to (10);
create table r2_5 partition of r9 for values from (minvalue) to (1);
create table l_5 (a int, b text) partition by list (b);
create table l1_5 partition of l_5 for values in ('a', 'b');
create table l2_5 partition of l_5 for values in ('c');
create table h_5 (a int) partition by hash (a);
create table h0_5 partition of h_5 for values with (modulus 2, remainder 0);
create table x2_5 (a int, b text) partition by range ((a+1), substr(b, 1, 5));
insert into x2_5 values (1, 'hello');
\d+ x2_5
\d+ r1_5
\d+ r2_5
\d+ l1_5
\d+ l2_5
create table bad (a int) partition by range ((avg(a)));
create table bad (a int) partition by range ((a like (select 1)));
create table bad (a int) inherits (r9) partition by list (a);
create table bad () inherits (r9);
create table n_5 (a bigint, b numeric, c varchar(5)) partition by list (a);
create table n1_5 partition of n_5 for values in (1, 2);
\d+ n1_5
create table pc (a int, b text) partition by range (a);
create table pc1 partition of pc for values from (1) to (10);
create table pcl (a int, b text) partition by list (b);
create table pcl1 partition of pcl for values in ('x');
insert into pc1 values (5, 'ok');
insert into pc1 values (50, 'bad');
insert into pc1 values (null, 'bad');
insert into pcl1 values (1, 'x');
insert into pcl1 values (1, 'y');
select * from pc;
-- ONLY in statements whose text is printed back (SELECT INTO).
SELECT * INTO TABLE only_copy FROM ONLY p WHERE a > 0;
SELECT count(*) FROM only_copy;
