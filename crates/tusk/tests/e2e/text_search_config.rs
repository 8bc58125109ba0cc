//! Text-search dictionaries and configurations against the real binary:
//! the same script run by psql 15 against PostgreSQL 15 and against tusk
//! prints the same rows, errors and notices.
//!
//! Why end to end: CREATE/ALTER/DROP TEXT SEARCH write catalog rows that
//! psql's \dF commands and the text-processing functions read back, and
//! the dictionaries read PostgreSQL's tsearch_data files (ispell with
//! Ispell and Hunspell affixes and compound words, synonym, thesaurus,
//! snowball, simple); what matters is the whole chain giving
//! PostgreSQL's lexemes, positions and messages.
//! The expected output is PostgreSQL 15's for text_search_config.sql
//! (`psql -X -A -t -f`, script path in stderr replaced by SCRIPT).

use crate::util::{Opts, TestServer};

const SCRIPT: &str = include_str!("text_search_config.sql");

const PG_STDOUT: &str = r#"CREATE TEXT SEARCH DICTIONARY
{sky}|{booking,book}|
{footballklubber,foot,ball,klubber,football,klubber}|{ball,klubber}
CREATE TEXT SEARCH DICTIONARY
{book}|{book}
CREATE TEXT SEARCH DICTIONARY
{pgsql}|{index}|
ALTER TEXT SEARCH DICTIONARY
|synonyms = 'synonym_sample', casesensitive = 1
ALTER TEXT SEARCH DICTIONARY
synonyms = 'synonym_sample'
CREATE TEXT SEARCH DICTIONARY
{}|
CREATE TEXT SEARCH DICTIONARY
{maison}|{le}
CREATE TEXT SEARCH DICTIONARY
{1}
CREATE TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH DICTIONARY
'1':1,5 '12':3 '123':4 'pgsql':2
'card':3,10 'invit':2,9 'like':6 'look':5 'order':1,8
'index' & 'index':*|'sn'
CREATE TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH CONFIGURATION
'ball':7 'book':1,5 'booking':1,5 'foot':7,10 'football':7 'footballklubber':7 'klubber':7 'sky':3
'foot':B & 'ball':B & 'klubber':B & ( 'booking':A | 'book':A ) & 'sky'
SET
'ball':1 'foot':1 'football':1 'footballklubber':1 'klubber':1|'foot'
asciiword|{ispell,english_stem}|english_stem|{}
asciiword|{ispell,english_stem}|ispell|{sky}
blank|{}||
RESET
1|ispell
1|english_stem
2|english_stem
3|simple
ALTER TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH CONFIGURATION
1|syn
1|english_stem
2|simple
3|simple
CREATE TEXT SEARCH CONFIGURATION

CREATE TEXT SEARCH TEMPLATE
CREATE TEXT SEARCH DICTIONARY
{}|{bee}
CREATE TEXT SEARCH PARSER
CREATE SCHEMA
ALTER TEXT SEARCH DICTIONARY
ALTER TEXT SEARCH DICTIONARY
ALTER TEXT SEARCH CONFIGURATION
ALTER TEXT SEARCH PARSER
ALTER TEXT SEARCH PARSER
CREATE ROLE
ALTER TEXT SEARCH DICTIONARY
public|fr|postgres
public|hunspell_num|postgres
public|ispell|postgres
public|syn|postgres
public|thesaurus|postgres
public|viatmpl|postgres
tsx|stop2|ts_owner
f|stop2
t|syn
DROP TEXT SEARCH PARSER
DROP TEXT SEARCH TEMPLATE
DROP TEXT SEARCH DICTIONARY
DROP SCHEMA
DROP TEXT SEARCH TEMPLATE
DROP ROLE
0
public|fr|
public|hunspell_num|
public|ispell|
public|thesaurus|
pg_catalog|default|default word parser
pg_catalog|ispell|ispell dictionary
pg_catalog|simple|simple dictionary: just lower case and check for stopword
pg_catalog|snowball|snowball stemmer
pg_catalog|synonym|synonym dictionary: replace word by its synonym
pg_catalog|thesaurus|thesaurus dictionary: phrase by phrase substitution
"#;

const PG_STDERR: &str = r#"psql:SCRIPT:8: ERROR:  invalid affix alias "GJUS"
psql:SCRIPT:9: ERROR:  invalid affix flag "SZ\"
psql:SCRIPT:10: ERROR:  missing AffFile parameter
psql:SCRIPT:11: ERROR:  unrecognized Ispell parameter: "DictFile"
psql:SCRIPT:12: ERROR:  could not open stop-word file "/usr/share/postgresql/15/tsearch_data/nosuch.stop": No such file or directory
psql:SCRIPT:13: ERROR:  invalid text search configuration file name "a.b"
psql:SCRIPT:14: ERROR:  no Snowball stemmer available for language "klingon" and encoding "UTF8"
psql:SCRIPT:15: ERROR:  text search template is required
psql:SCRIPT:20: ERROR:  casesensitive requires a Boolean value
psql:SCRIPT:47: ERROR:  mapping for token type "word" does not exist
psql:SCRIPT:48: NOTICE:  mapping for token type "word" does not exist, skipping
psql:SCRIPT:49: ERROR:  token type "not_a_token" does not exist
psql:SCRIPT:50: ERROR:  text search dictionary "nosuch" does not exist
psql:SCRIPT:54: ERROR:  cannot specify both PARSER and COPY options
psql:SCRIPT:55: ERROR:  text search configuration parameter "foo" not recognized
psql:SCRIPT:58: ERROR:  text search configuration "nosuch" does not exist
psql:SCRIPT:60: ERROR:  text search template lexize method is required
psql:SCRIPT:61: ERROR:  text search template parameter "Init" not recognized
psql:SCRIPT:65: ERROR:  text search parser gettoken method is required
psql:SCRIPT:67: ERROR:  text search dictionary "syn" already exists in schema "public"
psql:SCRIPT:78: ERROR:  cannot drop text search dictionary syn because other objects depend on it
DETAIL:  text search configuration cfg depends on text search dictionary syn
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:79: ERROR:  text search dictionary "nosuch" does not exist
psql:SCRIPT:80: NOTICE:  text search dictionary "nosuch" does not exist, skipping
psql:SCRIPT:80: ERROR:  cannot drop text search dictionary simple because it is required by the database system
psql:SCRIPT:81: NOTICE:  text search parser "nosuch" does not exist, skipping
psql:SCRIPT:82: NOTICE:  schema "nosch" does not exist, skipping
psql:SCRIPT:83: NOTICE:  drop cascades to 2 other objects
DETAIL:  drop cascades to text search configuration cfg
psql:SCRIPT:85: NOTICE:  drop cascades to 3 other objects
DETAIL:  drop cascades to text search dictionary tsx.stop2
psql:SCRIPT:86: ERROR:  cannot drop text search template tmpl because other objects depend on it
DETAIL:  text search dictionary viatmpl depends on text search template tmpl
HINT:  Use DROP ... CASCADE to drop the dependent objects too.
psql:SCRIPT:87: NOTICE:  drop cascades to text search dictionary viatmpl
"#;

#[test]
fn text_search_dictionaries_and_configurations_match_postgresql() {
    let srv = TestServer::start(Opts::new());
    let (r, errs) = crate::util::psql_script(&srv, "text_search_config.sql", SCRIPT);
    assert_eq!(r.code(), Some(0), "{}", r.describe());
    assert_eq!(r.stdout, PG_STDOUT, "stdout: {}", r.describe());
    let errors = crate::util::error_lines(&errs);
    assert_eq!(errors, PG_STDERR, "stderr: {}", r.describe());
}
