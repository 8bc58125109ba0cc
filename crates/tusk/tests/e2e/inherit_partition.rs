//! Table inheritance and declarative partitioning against the real binary: the same script
//! run by psql 15 against PostgreSQL 15 and against tusk prints the same rows, NOTICEs,
//! errors and `\d` output.
//!
//! Why end to end: inheritance and partitioning reach from the parser
//! (`FROM ONLY`, `t*`, PARTITION BY/OF, ATTACH/DETACH) through the
//! catalog (pg_inherits, pg_partitioned_table, relpartbound) to scans,
//! tuple routing and psql's describe queries; only the whole path shows
//! that they agree. The script covers scans of a hierarchy with ONLY and
//! tableoid, UPDATE/DELETE through a parent, column merging NOTICEs,
//! DROP's 2BP01 and CASCADE, range/list/hash/default partitions and
//! sub-partitions with routing (INSERT, COPY, UPDATE moving a row),
//! overlap and no-partition errors, ATTACH/DETACH and [NO] INHERIT, and
//! `\d`/`\d+` of parents and partitions. The expected output is
//! PostgreSQL 15's for inherit_partition.sql (`psql -X -A -t -f`, script
//! path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("inherit_partition.sql");

const PG_STDOUT: &str = r#"CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
INSERT 0 1
INSERT 0 1
p|1|p
c1|2|c1
c2|3|c2
gc|4|gc
1|p
3|c2
4|gc
UPDATE 3
c1|2|c1x|20
gc|4|gcx|40
3|c2x|30
DELETE 1
3
UPDATE 1
1|only
2|c1x
4|gcx
c1|p|1
c2|p|1
gc|c1|1
c1|t
c2|f
gc|f
p|t
DROP TABLE
DROP TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
x|integer||not null|
y|integer|||
z|text|||'zz'::text
DROP TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 3
r1|1|one
r2|15|fifteen
rd|100|hundred
1|one
r|p|f|
r1|r|t|FOR VALUES FROM (1) TO (10)
r2|r|t|FOR VALUES FROM (10) TO (20)
rd|r|t|DEFAULT
RANGE (a)
r|r|1|1
UPDATE 1
r2|12|one
r2|15|fifteen
rd|100|hundred
DELETE 1
2
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 3
l1|1|a
l2|2|c
l2|3|
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 20
h0|{2,4,6,8,15,16,18,19,20}
h1|{3,7,10,13,14}
h2|{1,5,9,11,12,17}
CREATE TABLE
CREATE TABLE
FOR VALUES FROM (1, MINVALUE) TO (1, 10)
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 1
s11|1|5
a|integer|||
b|text|||
a|integer||||plain|||
b|text||||extended|||
a|integer|||
b|text|||
a|integer|||
b|text|||
DROP TABLE
DROP TABLE
0
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 1
ALTER TABLE
r2|15|x
CREATE TABLE
INSERT 0 1
ALTER TABLE
INSERT 0 1
r2|15|x
r3|35|y
r3|36|z
a|integer||||plain|||
b|text||||extended|||
ALTER TABLE
r3|35|y
r3|36|z
a|integer|||
b|text|||
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
ALTER TABLE
INSERT 0 1
1
x|integer|||
x|integer|||
y|integer|||
ALTER TABLE
r3|35|y
r3|36|z
CREATE TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
UPDATE 1
DELETE 0
v|1|v
v1|2|v1!
DELETE 1
2|v1
Seq Scan on v
CREATE TABLE
CREATE TABLE
CREATE TABLE
ALTER TABLE
ALTER TABLE
x|integer|||
z|integer|||
w|text|||'w'::text
ALTER TABLE
ALTER TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
a|integer||||plain|||
b|text||||extended|||
a|integer||||plain|||
b|text||||extended|||
a|integer||||plain|||
b|text||||extended|||
a|integer||||plain|||
b|text||||extended|||
a|integer||||plain|||
b|text||||extended|||
CREATE TABLE
CREATE TABLE
a|bigint||||plain|||
b|numeric||||main|||
c|character varying(5)||||extended|||
CREATE TABLE
CREATE TABLE
CREATE TABLE
CREATE TABLE
INSERT 0 1
INSERT 0 1
5|ok
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:3: NOTICE:  moving and merging column "b" with inherited definition
DETAIL:  User-specified column moved to the position of the inherited column.
psql:SCRIPT:4: NOTICE:  merging column "a" with inherited definition
psql:SCRIPT:21: ERROR:  cannot drop table p because other objects depend on it
DETAIL:  table c1 depends on table p
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:22: NOTICE:  drop cascades to table gc
psql:SCRIPT:23: NOTICE:  drop cascades to table c2
psql:SCRIPT:26: NOTICE:  merging multiple inherited definitions of column "x"
psql:SCRIPT:26: NOTICE:  merging column "x" with inherited definition
psql:SCRIPT:26: NOTICE:  merging column "y" with inherited definition
psql:SCRIPT:28: ERROR:  null value in column "x" of relation "q3" violates not-null constraint
DETAIL:  Failing row contains (null, 1, zz).
psql:SCRIPT:29: ERROR:  new row for relation "q3" violates check constraint "q1_y_check"
DETAIL:  Failing row contains (1, -1, zz).
psql:SCRIPT:30: NOTICE:  merging column "x" with inherited definition
psql:SCRIPT:30: ERROR:  column "x" has a type conflict
DETAIL:  integer versus text
psql:SCRIPT:35: ERROR:  partition "r3" would overlap partition "r1"
psql:SCRIPT:49: ERROR:  partition "l2" would overlap partition "l1"
psql:SCRIPT:52: ERROR:  no partition of relation "l" found for row
DETAIL:  Partition key of the failing row contains (b) = (z).
psql:SCRIPT:62: ERROR:  empty range bound specified for partition "m2"
DETAIL:  Specified lower bound (10, 1) is greater than or equal to upper bound (1, 1).
psql:SCRIPT:68: ERROR:  no partition of relation "s1" found for row
DETAIL:  Partition key of the failing row contains (b) = (50).
psql:SCRIPT:77: ERROR:  invalid bound specification for a list partition
psql:SCRIPT:78: ERROR:  "h1" is not partitioned
psql:SCRIPT:79: ERROR:  column "zz" named in partition key does not exist
psql:SCRIPT:80: ERROR:  cannot use "list" partition strategy with more than one column
psql:SCRIPT:87: ERROR:  "r2" is already a partition
psql:SCRIPT:90: ERROR:  partition constraint of relation "r3" is violated by some row
psql:SCRIPT:98: ERROR:  relation "r2" is not a partition of relation "r"
psql:SCRIPT:100: ERROR:  table "r4" contains column "c" not found in parent "r"
DETAIL:  The new partition may contain only the columns present in parent.
psql:SCRIPT:102: ERROR:  child table is missing column "b"
psql:SCRIPT:112: ERROR:  relation "pa" is not a parent of relation "ch"
psql:SCRIPT:113: ERROR:  no partition of relation "r" found for row
DETAIL:  Partition key of the failing row contains (a) = (null).
psql:SCRIPT:117: ERROR:  no partition of relation "r" found for row
DETAIL:  Partition key of the failing row contains (a) = (25).
psql:SCRIPT:132: NOTICE:  merging column "x" with inherited definition
psql:SCRIPT:134: NOTICE:  merging definition of column "z" for child "c"
psql:SCRIPT:140: ERROR:  column must be added to child tables too
psql:SCRIPT:152: ERROR:  no partition of relation "x2_5" found for row
DETAIL:  Partition key of the failing row contains ((a + 1), substr(b, 1, 5)) = (2, hello).
psql:SCRIPT:158: ERROR:  aggregate functions are not allowed in partition key expressions
psql:SCRIPT:159: ERROR:  cannot use subquery in partition key expression
psql:SCRIPT:160: ERROR:  cannot create partitioned table as inheritance child
psql:SCRIPT:161: ERROR:  cannot inherit from partitioned table "r9"
psql:SCRIPT:170: ERROR:  new row for relation "pc1" violates partition constraint
DETAIL:  Failing row contains (50, bad).
psql:SCRIPT:171: ERROR:  new row for relation "pc1" violates partition constraint
DETAIL:  Failing row contains (null, bad).
psql:SCRIPT:173: ERROR:  new row for relation "pcl1" violates partition constraint
DETAIL:  Failing row contains (1, y).
psql:SCRIPT:176: ERROR:  relation "p" does not exist
psql:SCRIPT:177: ERROR:  relation "only_copy" does not exist
"#;

#[test]
fn inheritance_and_partitioning_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "inherit_partition.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
