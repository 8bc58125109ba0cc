-- Text-search dictionaries and configurations: DDL, catalog rows, errors,
-- and text processing through user configurations.
CREATE TEXT SEARCH DICTIONARY ispell (Template=ispell, DictFile=ispell_sample, AffFile=ispell_sample);
SELECT ts_lexize('ispell', 'skies'), ts_lexize('ispell', 'rebookings'), ts_lexize('ispell', 'rebook');
SELECT ts_lexize('ispell', 'footballklubber'), ts_lexize('ispell', 'ballyklubber');
CREATE TEXT SEARCH DICTIONARY hunspell_num (Template=ispell, DictFile=hunspell_sample_num, AffFile=hunspell_sample_num);
SELECT ts_lexize('hunspell_num', 'booked'), ts_lexize('hunspell_num', 'unbookings');
CREATE TEXT SEARCH DICTIONARY bad (Template=ispell, DictFile=ispell_sample, AffFile=hunspell_sample_long);
CREATE TEXT SEARCH DICTIONARY bad (Template=ispell, DictFile=ispell_sample, AffFile=hunspell_sample_num);
CREATE TEXT SEARCH DICTIONARY bad (Template=ispell, DictFile=ispell_sample);
CREATE TEXT SEARCH DICTIONARY bad (Template=ispell, "DictFile"=ispell_sample, AffFile=ispell_sample);
CREATE TEXT SEARCH DICTIONARY bad (Template=simple, StopWords=nosuch);
CREATE TEXT SEARCH DICTIONARY bad (Template=simple, StopWords='a.b');
CREATE TEXT SEARCH DICTIONARY bad (Template=snowball, Language=klingon);
CREATE TEXT SEARCH DICTIONARY bad (StopWords=english);
CREATE TEXT SEARCH DICTIONARY syn (Template=synonym, Synonyms=synonym_sample);
SELECT ts_lexize('syn', 'PoStGrEs'), ts_lexize('syn', 'indices'), ts_lexize('syn', 'nothing');
ALTER TEXT SEARCH DICTIONARY syn (CaseSensitive = 1);
SELECT ts_lexize('syn', 'PoStGrEs'), dictinitoption FROM pg_ts_dict WHERE dictname = 'syn';
ALTER TEXT SEARCH DICTIONARY syn (CaseSensitive = 2);
ALTER TEXT SEARCH DICTIONARY syn (CaseSensitive);
SELECT dictinitoption FROM pg_ts_dict WHERE dictname = 'syn';
CREATE TEXT SEARCH DICTIONARY stop_simple (Template=simple, StopWords=english, Accept=false);
SELECT ts_lexize('stop_simple', 'The'), ts_lexize('stop_simple', 'Word');
CREATE TEXT SEARCH DICTIONARY fr (Template=snowball, Language=french, StopWords=french);
SELECT ts_lexize('fr', 'maisons'), ts_lexize('fr', 'les');
CREATE TEXT SEARCH DICTIONARY thesaurus (Template=thesaurus, DictFile=thesaurus_sample, Dictionary=english_stem);
SELECT ts_lexize('thesaurus', 'one');
CREATE TEXT SEARCH CONFIGURATION cfg (COPY=english);
ALTER TEXT SEARCH CONFIGURATION cfg ALTER MAPPING FOR asciiword, hword_asciipart, asciihword WITH syn, thesaurus, english_stem;
ALTER TEXT SEARCH DICTIONARY syn (CaseSensitive = off);
SELECT to_tsvector('cfg', 'one postgres one two one two three one');
SELECT to_tsvector('cfg', 'Booking tickets is looking like a booking a tickets');
SELECT to_tsquery('cfg', 'Index & indices'), plainto_tsquery('cfg', 'supernovae stars');
CREATE TEXT SEARCH CONFIGURATION spell (COPY=english);
ALTER TEXT SEARCH CONFIGURATION spell ALTER MAPPING FOR asciiword WITH ispell, english_stem;
SELECT to_tsvector('spell', 'Booking the skies after rebookings for footballklubber from a foot');
SELECT to_tsquery('spell', 'footballyklubber:b & rebookings:A & sky');
SET default_text_search_config = 'public.spell';
SELECT to_tsvector('footballklubber'), to_tsquery('foots');
SELECT alias, dictionaries, dictionary, lexemes FROM ts_debug('the skies') ORDER BY 1, 3;
RESET default_text_search_config;
SELECT m.maptokentype, d.dictname FROM pg_ts_config_map m JOIN pg_ts_config c ON c.oid = m.mapcfg
  JOIN pg_ts_dict d ON d.oid = m.mapdict WHERE c.cfgname = 'spell' AND m.maptokentype < 4 ORDER BY 1, m.mapseqno;
ALTER TEXT SEARCH CONFIGURATION spell ALTER MAPPING REPLACE ispell WITH syn;
ALTER TEXT SEARCH CONFIGURATION spell DROP MAPPING FOR word, word;
ALTER TEXT SEARCH CONFIGURATION spell DROP MAPPING FOR word;
ALTER TEXT SEARCH CONFIGURATION spell DROP MAPPING IF EXISTS FOR word, word;
ALTER TEXT SEARCH CONFIGURATION spell ADD MAPPING FOR not_a_token WITH syn;
ALTER TEXT SEARCH CONFIGURATION spell ADD MAPPING FOR word WITH nosuch;
ALTER TEXT SEARCH CONFIGURATION spell ADD MAPPING FOR word WITH simple;
SELECT m.maptokentype, d.dictname FROM pg_ts_config_map m JOIN pg_ts_config c ON c.oid = m.mapcfg
  JOIN pg_ts_dict d ON d.oid = m.mapdict WHERE c.cfgname = 'spell' AND m.maptokentype < 4 ORDER BY 1, m.mapseqno;
CREATE TEXT SEARCH CONFIGURATION both_ (PARSER = default, COPY = english);
CREATE TEXT SEARCH CONFIGURATION other (foo = bar);
CREATE TEXT SEARCH CONFIGURATION viaparser (PARSER = default);
SELECT to_tsvector('viaparser', 'no mappings at all');
SELECT to_tsvector('nosuch', 'x');
CREATE TEXT SEARCH TEMPLATE tmpl (LEXIZE = dsimple_lexize, INIT = dsimple_init);
CREATE TEXT SEARCH TEMPLATE tmpl2 (INIT = dsimple_init);
CREATE TEXT SEARCH TEMPLATE tmpl2 ("Init" = init_function);
CREATE TEXT SEARCH DICTIONARY viatmpl (TEMPLATE = tmpl, StopWords = english);
SELECT ts_lexize('viatmpl', 'A'), ts_lexize('viatmpl', 'Bee');
CREATE TEXT SEARCH PARSER prs (START = prsd_start, GETTOKEN = prsd_nexttoken, END = prsd_end, LEXTYPES = prsd_lextype);
CREATE TEXT SEARCH PARSER prs2 (START = prsd_start);
CREATE SCHEMA tsx;
ALTER TEXT SEARCH DICTIONARY stop_simple RENAME TO syn;
ALTER TEXT SEARCH DICTIONARY stop_simple RENAME TO stop2;
ALTER TEXT SEARCH DICTIONARY stop2 SET SCHEMA tsx;
ALTER TEXT SEARCH CONFIGURATION viaparser SET SCHEMA tsx;
ALTER TEXT SEARCH PARSER prs RENAME TO prs3;
ALTER TEXT SEARCH PARSER prs3 SET SCHEMA tsx;
CREATE ROLE ts_owner;
ALTER TEXT SEARCH DICTIONARY tsx.stop2 OWNER TO ts_owner;
SELECT n.nspname, d.dictname, r.rolname FROM pg_ts_dict d JOIN pg_namespace n ON n.oid = d.dictnamespace
  JOIN pg_roles r ON r.oid = d.dictowner WHERE n.nspname IN ('public', 'tsx') ORDER BY 1, 2;
SELECT pg_ts_dict_is_visible(d.oid), d.dictname FROM pg_ts_dict d WHERE dictname IN ('stop2', 'syn') ORDER BY 2;
DROP TEXT SEARCH DICTIONARY syn;
DROP TEXT SEARCH DICTIONARY nosuch;
DROP TEXT SEARCH DICTIONARY IF EXISTS nosuch, simple;
DROP TEXT SEARCH PARSER IF EXISTS nosuch;
DROP TEXT SEARCH TEMPLATE IF EXISTS nosch.nosuch;
DROP TEXT SEARCH DICTIONARY syn CASCADE;
SELECT cfgname FROM pg_ts_config WHERE cfgnamespace = 'public'::regnamespace ORDER BY 1;
DROP SCHEMA tsx CASCADE;
DROP TEXT SEARCH TEMPLATE tmpl;
DROP TEXT SEARCH TEMPLATE tmpl CASCADE;
DROP ROLE ts_owner;
SELECT count(*) FROM pg_ts_config_map m WHERE NOT EXISTS (SELECT 1 FROM pg_ts_config c WHERE c.oid = m.mapcfg);
\dF public.*
\dFd public.*
\dFp
\dFt
