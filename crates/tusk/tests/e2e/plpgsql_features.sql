-- Transition tables: statement and row triggers see the statement's rows.
create table tt (a int, b text);
create function tt_stmt() returns trigger language plpgsql as $$
declare r record;
begin
  for r in select * from newt order by a loop
    raise notice '% new: %', tg_op, r;
  end loop;
  raise notice '% old rows: %', tg_op, (select count(*) from oldt);
  return null;
end $$;
create function tt_row() returns trigger language plpgsql as $$
begin
  raise notice 'row % sees %', new.a, (select string_agg(a::text || b, ',' order by a) from newt);
  return null;
end $$;
create function tt_del() returns trigger language plpgsql as $$
begin
  raise notice 'deleted: %', (select string_agg(a::text, ',' order by a) from oldt);
  return null;
end $$;
create trigger tt_u after update on tt referencing old table as oldt new table as newt
  for each statement execute function tt_stmt();
create trigger tt_i after insert on tt referencing new table as newt
  for each row execute function tt_row();
create trigger tt_d after delete on tt referencing old table as oldt
  for each statement execute function tt_del();
insert into tt values (1, 'x'), (2, 'y');
update tt set a = a + 10;
update tt set a = a where false;
delete from tt where a > 11;
select tgname, tgoldtable, tgnewtable from pg_trigger where tgrelid = 'tt'::regclass order by 1;
select pg_get_triggerdef(oid) from pg_trigger where tgrelid = 'tt'::regclass order by 1;
-- CreateTrigger's checks of REFERENCING.
create trigger bad after insert or update on tt referencing new table as n
  for each statement execute function tt_stmt();
create trigger bad before insert on tt referencing new table as n
  for each statement execute function tt_stmt();
create trigger bad after delete on tt referencing new table as n
  for each statement execute function tt_stmt();
create trigger bad after insert on tt referencing old table as n
  for each statement execute function tt_stmt();
create trigger bad after update on tt referencing new table as n old table as n
  for each statement execute function tt_stmt();
create trigger bad after update of a on tt referencing new table as n
  for each statement execute function tt_stmt();
create trigger bad after truncate on tt referencing new table as n
  for each statement execute function tt_stmt();
create trigger bad after update on tt referencing new row as n
  for each row execute function tt_stmt();
create table ttp (a int) partition by list (a);
create trigger bad after insert on ttp referencing new table as n
  for each row execute function tt_row();
-- PL/pgSQL cursors.
create table rc (a int, b int);
insert into rc values (5, 10), (50, 100), (500, 1000);
create function open_unnamed() returns refcursor language plpgsql as $$
declare c refcursor;
begin
  open c for select a from rc order by a;
  return c;
end $$;
create function first_of(c refcursor) returns int language plpgsql as $$
declare x int;
begin
  fetch next from c into x;
  close c;
  return x;
end $$;
select first_of(open_unnamed());
create function open_named(refcursor) returns refcursor language plpgsql as $$
begin
  open $1 for select * from rc order by a;
  return $1;
end $$;
begin;
select open_named('cur1');
fetch next in cur1;
fetch all from cur1;
commit;
create function bound_args(int, int) returns boolean language plpgsql as $$
declare
  c cursor (p1 int, p2 int) for select * from rc where a > p1 and b > p2;
  r record;
begin
  open c(p2 := $2, p1 := $1);
  fetch c into r;
  close c;
  return found;
end $$;
select bound_args(20000, 20000), bound_args(20, 20);
create function bad_arg() returns void language plpgsql as $$
declare c cursor (p1 int) for select p1;
begin
  open c(1 / 0);
end $$;
select bad_arg();
create function scrolling(scroll_ok boolean) returns setof int language plpgsql as $$
declare
  c scroll cursor for select a from rc order by a;
  d no scroll cursor for select a from rc order by a;
  x int;
begin
  if scroll_ok then
    open c;
    fetch last from c into x;
    while found loop
      return next x;
      fetch prior from c into x;
    end loop;
    move absolute 1 in c;
    fetch relative 1 from c into x;
    return next x;
    move forward all in c;
    fetch backward from c into x;
    return next x;
    close c;
  else
    open d;
    fetch last from d into x;
    fetch prior from d into x;
  end if;
end $$;
select * from scrolling(true);
select * from scrolling(false);
do $$
declare
  c cursor for select * from rc order by a;
  r record;
begin
  for r in c loop
    raise notice 'loop %', r;
  end loop;
  open c;
  for r in c loop
    raise notice 'never';
  end loop;
end $$;
do $$
declare c refcursor;
begin
  open c for execute 'select b from rc where a = $1' using 50;
  fetch c into c;
end $$;
do $$
declare c refcursor; x int;
begin
  open c for execute 'select b from rc where a = $1' using 50;
  fetch c into x;
  raise notice 'dynamic %', x;
  close c;
  close c;
end $$;
-- RAISE with a dollar-quoted message; options given twice.
do $$ begin raise notice $m$dollar "%"$m$, 1; end $$;
do $$ begin raise 'msg' using message = 'again'; end $$;
do $$ begin raise division_by_zero using errcode = '22012'; end $$;
-- WHEN over whole rows, ALTER TRIGGER ... RENAME, DROP COLUMN dependencies.
create table mt (a int, b int);
insert into mt values (1, 2), (3, 4);
create function tf() returns trigger language plpgsql as $$
begin
  raise notice '% % % on %', tg_name, tg_when, tg_op, tg_relid::regclass;
  return new;
end $$;
create trigger modified_any before update of a on mt
  for each row when (old.* is distinct from new.*) execute procedure tf();
create trigger on_b after update of b on mt for each row execute procedure tf();
create trigger when_b after update on mt for each row when (new.b > 3) execute procedure tf();
update mt set a = a;
update mt set a = 5 where a = 1;
update mt set b = b + 1;
select pg_get_triggerdef(oid, true) from pg_trigger where tgname = 'modified_any';
alter trigger modified_any on mt rename to modified_modified;
alter trigger modified_any on mt rename to x;
alter trigger on_b on mt rename to modified_modified;
alter table mt drop column b;
alter table mt drop column a;
alter table mt drop column b cascade;
select tgname from pg_trigger where tgrelid = 'mt'::regclass order by 1;
-- Triggers on views: INSTEAD OF INSERT takes the rows, statement
-- triggers fire around them; refusals of other kinds.
create table base (a int, b int);
create view v as select a, b from base;
create function vtrig() returns trigger language plpgsql as $$
begin
  raise notice '% % % %', tg_name, tg_when, tg_level, tg_op;
  if tg_level = 'ROW' then
    insert into base values (new.a, new.b * 10);
    new.b := new.b * 10;
    return new;
  end if;
  return null;
end $$;
create trigger v_ins instead of insert on v for each row execute procedure vtrig();
create trigger v_bs before insert on v execute procedure vtrig();
create trigger v_as after insert on v execute procedure vtrig();
create trigger bad before insert on v for each row execute procedure vtrig();
create trigger bad after truncate on v execute procedure vtrig();
create trigger bad instead of update on v execute procedure vtrig();
create trigger bad instead of update on v for each row when (old.a > 0) execute procedure vtrig();
create trigger bad instead of update of a on v for each row execute procedure vtrig();
create trigger bad instead of insert on base for each row execute procedure vtrig();
create trigger bad after insert on v referencing new table as n execute procedure vtrig();
insert into v values (1, 2);
insert into v values (3, 4), (5, 6) returning *;
insert into v (a) values (7) returning a, b;
select * from v order by a;
create function vnull() returns trigger language plpgsql as $$ begin return null; end $$;
create trigger v_ins2 instead of insert on v for each row execute procedure vnull();
insert into v values (9, 9);
drop trigger v_ins2 on v;
-- UPDATE and DELETE through INSTEAD OF triggers; NEW/OLD NULL where
-- the event has none.
create function vtrig2() returns trigger language plpgsql as $$
begin
  raise notice '% % % % old=% new=%', tg_name, tg_when, tg_level, tg_op, old, new;
  if tg_op = 'UPDATE' then
    update base set b = new.b where a = old.a;
    return new;
  elsif tg_op = 'DELETE' then
    delete from base where a = old.a;
    return old;
  end if;
  return null;
end $$;
create trigger v_upd instead of update on v for each row execute procedure vtrig2();
create trigger v_del instead of delete on v for each row execute procedure vtrig2();
create trigger v_us after update on v execute procedure vtrig2();
update v set b = b + 1 where a > 1;
update v set b = 0 where a = 1 returning *;
update v set b = 5 where false;
delete from v where a = 3 returning a, b;
select * from v order by a;
-- Statement-level UPDATE OF fires only when SET names a column;
-- session_replication_role picks which enabled states fire.
create table so (a int, b int);
insert into so values (1, 1);
create trigger so_a after update of a on so execute procedure tf();
create trigger so_r after insert on so execute procedure tf();
update so set b = 2;
update so set a = 2;
alter table so enable replica trigger so_r;
insert into so values (3, 3);
set session_replication_role = replica;
insert into so values (4, 4);
update so set a = 5;
alter table so enable always trigger so_a;
update so set a = 6;
reset session_replication_role;
-- Variables qualified by a block label or the function's name.
create function qual_names(param1 int) returns void language plpgsql as $$
<<outerblock>>
declare
  param1 int := 1;
  r record;
begin
  <<innerblock>>
  declare
    param1 int := 2;
  begin
    select 10 as f into r;
    raise notice 'param1 = %', param1;
    raise notice 'qual_names.param1 = %', qual_names.param1;
    raise notice 'outerblock.param1 = %', outerblock.param1;
    raise notice 'innerblock.param1 = %', innerblock.param1;
    raise notice 'outerblock.r.f = %', outerblock.r.f;
  end;
end $$;
select qual_names(42);
-- STRICT: EXECUTE's too-many-rows error has no hint, a SQL statement's has.
do $$ declare x int; begin execute 'select a from rc' into strict x; end $$;
do $$ declare x int; begin select a into strict x from rc; end $$;
