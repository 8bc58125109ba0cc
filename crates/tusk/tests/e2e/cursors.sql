create table t(a int, b text);
insert into t select g, 'r'||g from generate_series(1,10) g;
prepare q1 as select * from t where a > $1 order by a;
execute q1(7);
prepare q1 as select 1;
\echo :SQLSTATE
execute nosuch;
\echo :SQLSTATE
execute q1;
execute q1(1,2);
execute q1('x');
prepare q2(int, text) as insert into t values ($1, $2);
execute q2(11, 'eleven');
execute q2(true, 'x');
\echo :SQLSTATE
prepare q3(nonexistenttype) as select $1;
select name, statement, parameter_types, from_sql from pg_prepared_statements order by name;
deallocate q2;
deallocate prepare q2;
\echo :SQLSTATE
deallocate all;
select count(*) from pg_prepared_statements;
declare c cursor for select * from t;
\echo :SQLSTATE
begin;
declare c cursor for select a from t order by a;
fetch 2 from c;
fetch next c;
fetch prior from c;
fetch backward 2 from c;
fetch absolute 5 from c;
fetch relative -2 from c;
fetch last from c;
fetch 0 from c;
fetch forward all from c;
fetch backward all in c;
move 3 in c;
move absolute -1 in c;
move forward all in c;
fetch c;
fetch absolute 0 from c;
fetch relative 0 from c;
fetch -2 from c;
fetch absolute 20 from c;
fetch prior from c;
select name, statement, is_holdable, is_binary, is_scrollable, creation_time is not null from pg_cursors;
declare c cursor for select 1;
\echo :SQLSTATE
rollback;
begin;
declare n no scroll cursor for select a from t order by a;
fetch 2 from n;
move 2 in n;
fetch n;
fetch prior from n;
\echo :SQLSTATE
rollback;
fetch n;
\echo :SQLSTATE
begin;
declare h cursor with hold for select a from t where a < 4 order by a;
declare x scroll cursor for select a from t where a < 3;
fetch 1 from h;
commit;
fetch x;
\echo :SQLSTATE
fetch all from h;
fetch first from h;
begin;
declare h2 cursor with hold for select 42;
rollback;
fetch h2;
\echo :SQLSTATE
fetch h;
close all;
fetch h;
\echo :SQLSTATE
close nosuch;
\echo :SQLSTATE
begin;
declare s1 cursor for select a from t where a < 3 order by a;
savepoint sp;
declare s2 cursor for select a from t where a > 9 order by a;
fetch s1;
rollback to sp;
fetch s1;
fetch s2;
\echo :SQLSTATE
commit;
select * from t where a <= 3 order by a;
create table ct(a int, b text);
insert into ct select g, 'r'||g from generate_series(1,5) g;
begin;
declare u cursor for select a, b from ct where a <= 3 order by a for update;
fetch 2 from u;
update ct set b = 'cur' where current of u;
fetch u;
delete from ct where current of u;
declare v cursor for select count(*) from ct;
fetch v;
delete from ct where current of v;
rollback;
begin;
declare w no scroll cursor for select * from ct;
fetch 2 from w;
update ct set b = 'w2' where current of w returning *;
fetch all from w;
update ct set b = 'w2' where current of w returning *;
commit;
select * from ct order by a;
