-- The message body on the wire: line endings normalised to CRLF, dots
-- stuffed, the terminator added, whatever the chunking of write_data; and
-- the message the server stores (dots unstuffed) is what the user wrote.
BEGIN;
SELECT plan(29);
SELECT t.allow_loopback();

CREATE TEMP TABLE conn (name text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.c(n text) RETURNS utl_smtp.connection
LANGUAGE sql AS $$ SELECT c FROM conn WHERE name = n $$;

-- Send one message whose body is written by one write_data call per chunk.
CREATE FUNCTION pg_temp.send(helo text, rcpt text, chunks text[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection := t.open_plain(helo);
    chunk text;
    r utl_smtp.reply;
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, rcpt);
    PERFORM utl_smtp.open_data(c);
    FOREACH chunk IN ARRAY chunks LOOP
        PERFORM utl_smtp.write_data(c, chunk);
    END LOOP;
    r := utl_smtp.close_data(c);
    PERFORM utl_smtp.quit(c);
    RETURN r.code;
END $$;

-- The same with write_raw_data.
CREATE FUNCTION pg_temp.send_raw(helo text, rcpt text, chunks bytea[]) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection := t.open_plain(helo);
    chunk bytea;
    r utl_smtp.reply;
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, rcpt);
    PERFORM utl_smtp.open_data(c);
    FOREACH chunk IN ARRAY chunks LOOP
        PERFORM utl_smtp.write_raw_data(c, chunk);
    END LOOP;
    r := utl_smtp.close_data(c);
    PERFORM utl_smtp.quit(c);
    RETURN r.code;
END $$;

-- What the client sent after the DATA command (body, terminator, QUIT).
CREATE FUNCTION pg_temp.after_data(helo text) RETURNS bytea
LANGUAGE sql AS $$
    SELECT substring(w FROM position('\x0a444154410d0a'::bytea IN w) + 7)
      FROM t.wire(helo) w
$$;

-- Text as the UTF-8 bytes expected on the wire or in the store.
CREATE FUNCTION pg_temp.b(s text) RETURNS bytea
LANGUAGE sql IMMUTABLE AS $$ SELECT convert_to(s, 'UTF8') $$;

-------------------------------------------------------------------------------
-- Line endings across write_data calls
-------------------------------------------------------------------------------

SELECT pg_temp.send('t12-split', 't12-split@example.com', ARRAY[E'a\r', E'\nb']);
SELECT is(pg_temp.after_data('t12-split'), pg_temp.b(E'a\r\nb\r\n.\r\nQUIT\r\n'),
          'a CRLF split across two write_data calls (''a\r'' then ''\nb'') is sent as one CRLF');
SELECT is(t.message('t12-split@example.com'), pg_temp.b(E'a\r\nb\r\n'),
          '... and stored as two lines');

SELECT pg_temp.send('t12-bare', 't12-bare@example.com', ARRAY[E'one\rtwo\nthree\r\n\n\r\rend']);
SELECT is(pg_temp.after_data('t12-bare'), pg_temp.b(E'one\r\ntwo\r\nthree\r\n\r\n\r\n\r\nend\r\n.\r\nQUIT\r\n'),
          'bare CR and bare LF each become CRLF; CRLF stays one line end');

SELECT pg_temp.send('t12-nocrlf', 't12-nocrlf@example.com', ARRAY['no line end at the end']);
SELECT is(pg_temp.after_data('t12-nocrlf'), pg_temp.b(E'no line end at the end\r\n.\r\nQUIT\r\n'),
          'close_data adds the missing final CRLF before ".\r\n"');
SELECT pg_temp.send('t12-crlf', 't12-crlf@example.com', ARRAY[E'ends with a line end\r\n']);
SELECT is(pg_temp.after_data('t12-crlf'), pg_temp.b(E'ends with a line end\r\n.\r\nQUIT\r\n'),
          'close_data adds no empty line after a body that ends in CRLF');
SELECT is(t.message('t12-crlf@example.com'), pg_temp.b(E'ends with a line end\r\n'),
          '... and the stored message ends with that line');

-------------------------------------------------------------------------------
-- Dot-stuffing and SMTP smuggling
-------------------------------------------------------------------------------

SELECT pg_temp.send('t12-dots', 't12-dots@example.com', ARRAY[E'.hidden\r\n', E'..two\r\nmid.dot\r\n', '.']);
SELECT is(pg_temp.after_data('t12-dots'), pg_temp.b(E'..hidden\r\n...two\r\nmid.dot\r\n..\r\n.\r\nQUIT\r\n'),
          'a dot at the start of a line is doubled on the wire, elsewhere left alone');
SELECT is(t.message('t12-dots@example.com'), pg_temp.b(E'.hidden\r\n..two\r\nmid.dot\r\n.\r\n'),
          'the stored message has the lines as written, dots restored');

SELECT pg_temp.send('t12-dotchunks', 't12-dotchunks@example.com', ARRAY[E'x\r\n', '.', E'y\r', E'\n', '.', E'\r\n', 'z']);
SELECT is(pg_temp.after_data('t12-dotchunks'), pg_temp.b(E'x\r\n..y\r\n..\r\nz\r\n.\r\nQUIT\r\n'),
          'a dot that starts a line in its own write_data call is doubled too');

SELECT pg_temp.send('t12-smuggle', 't12-smuggle@example.com',
                    ARRAY[E'Subject: smuggle\r\n\r\nline1\r\n.\r\nMAIL FROM:<evil12@example.com>\r\nRCPT TO:<evil12@example.com>\r\nDATA\r\nsmuggled\r\n.\r\nline3\n.\nline4\r.\rline5\r\n']);
SELECT is(t.message('t12-smuggle@example.com'),
          pg_temp.b(E'Subject: smuggle\r\n\r\nline1\r\n.\r\nMAIL FROM:<evil12@example.com>\r\nRCPT TO:<evil12@example.com>\r\nDATA\r\nsmuggled\r\n.\r\nline3\r\n.\r\nline4\r\n.\r\nline5\r\n'),
          'a body with "\r\n.\r\n", "\n.\n" and "\r.\r" is stored whole, those dots as text lines');
SELECT is(t.message('evil12@example.com'), NULL, 'no second message was smuggled in');

-- The same with the terminator split over several calls, and a command after it.
INSERT INTO conn VALUES ('smuggle2', t.open_plain('t12-smuggle2'));
SELECT utl_smtp.mail(pg_temp.c('smuggle2'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('smuggle2'), 't12-smuggle2@example.com');
SELECT utl_smtp.open_data(pg_temp.c('smuggle2'));
SELECT utl_smtp.write_data(pg_temp.c('smuggle2'), E'start\r');
SELECT utl_smtp.write_data(pg_temp.c('smuggle2'), E'\n');
SELECT utl_smtp.write_data(pg_temp.c('smuggle2'), '.');
SELECT utl_smtp.write_data(pg_temp.c('smuggle2'), E'\r');
SELECT utl_smtp.write_data(pg_temp.c('smuggle2'), E'\nRSET\r\n');
SELECT is((utl_smtp.close_data(pg_temp.c('smuggle2'))).code, 250, 'a terminator written in pieces does not end the message early');
SELECT is((utl_smtp.noop(pg_temp.c('smuggle2'))).code, 250, 'the next command after close_data gets its own reply');
SELECT is(t.message('t12-smuggle2@example.com'), pg_temp.b(E'start\r\n.\r\nRSET\r\n'),
          'the stored message holds the pieces as text');
SELECT utl_smtp.quit(pg_temp.c('smuggle2'));

-------------------------------------------------------------------------------
-- Bytes and characters
-------------------------------------------------------------------------------

SELECT pg_temp.send_raw('t12-raw', 't12-raw@example.com',
                        ARRAY['\x5375626a6563743a207261770d0a0d0a'::bytea, '\x0001027f80e9feff'::bytea, '\x0d0a2e0d0a'::bytea]);
SELECT is(pg_temp.after_data('t12-raw'), '\x5375626a6563743a207261770d0a0d0a0001027f80e9feff0d0a2e2e0d0a2e0d0a515549540d0a'::bytea,
          'write_raw_data sends arbitrary bytes, high bytes included, unchanged (dots still stuffed)');
SELECT is(t.message('t12-raw@example.com'), '\x5375626a6563743a207261770d0a0d0a0001027f80e9feff0d0a2e0d0a'::bytea,
          '... and the server stores them byte for byte');

SELECT pg_temp.send('t12-utf8', 't12-utf8@example.com', ARRAY[E'Subject: caf\u00e9\r\n\r\n', E'20 \u20ac, \u65e5\u672c\r\n']);
SELECT is(pg_temp.after_data('t12-utf8'), '\x5375626a6563743a20636166c3a90d0a0d0a323020e282ac2c20e697a5e69cac0d0a2e0d0a515549540d0a'::bytea,
          'text with é, € and 日本 is sent as UTF-8 bytes');
SELECT is(convert_from(t.message('t12-utf8@example.com'), 'UTF8'), E'Subject: caf\u00e9\r\n\r\n20 \u20ac, \u65e5\u672c\r\n',
          '... and the stored message decodes back to the same text');

-------------------------------------------------------------------------------
-- Empty bodies and the one-call data()
-------------------------------------------------------------------------------

SELECT is(pg_temp.send('t12-empty', 't12-empty@example.com', ARRAY[]::text[]), 250, 'open_data then close_data sends an empty message');
SELECT is(pg_temp.after_data('t12-empty'), pg_temp.b(E'.\r\nQUIT\r\n'), 'an empty body is just the terminator on the wire');
SELECT is(t.message('t12-empty@example.com'), ''::bytea, 'the server stores an empty message');

INSERT INTO conn VALUES ('data', t.open_plain('t12-data'));
SELECT utl_smtp.mail(pg_temp.c('data'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('data'), 't12-data@example.com');
SELECT is((utl_smtp.data(pg_temp.c('data'), E'.\n..\r\nlast')).code, 250, 'data() sends a whole body in one call');
SELECT is(pg_temp.after_data('t12-data'), pg_temp.b(E'..\r\n...\r\nlast\r\n.\r\n'),
          'data() normalises, stuffs and terminates the body like write_data');
SELECT utl_smtp.mail(pg_temp.c('data'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('data'), 't12-data-null@example.com');
SELECT is((utl_smtp.data(pg_temp.c('data'), NULL)).code, 250, 'data() with a NULL body sends an empty message');
SELECT utl_smtp.quit(pg_temp.c('data'));

-------------------------------------------------------------------------------
-- Two transfers at once
-------------------------------------------------------------------------------

INSERT INTO conn VALUES ('one', t.open_plain('t12-one')), ('two', t.open_plain('t12-two'));
SELECT utl_smtp.mail(c, 'sender@example.com'), utl_smtp.rcpt(c, name || '-t12@example.com'), utl_smtp.open_data(c)
  FROM conn WHERE name IN ('one', 'two') ORDER BY name;
SELECT utl_smtp.write_data(pg_temp.c('one'), E'first line of one\r');
SELECT utl_smtp.write_data(pg_temp.c('two'), E'.first line of two\n');
SELECT utl_smtp.write_data(pg_temp.c('one'), E'\n.second line of one');
SELECT utl_smtp.write_data(pg_temp.c('two'), 'second line of two');
SELECT utl_smtp.close_data(c) FROM conn WHERE name IN ('one', 'two') ORDER BY name;
SELECT is(t.message('one-t12@example.com') || t.message('two-t12@example.com'),
          pg_temp.b(E'first line of one\r\n.second line of one\r\n' || E'.first line of two\r\nsecond line of two\r\n'),
          'two messages written in turns on two connections each keep their own line state');
SELECT utl_smtp.quit(c) FROM conn WHERE name IN ('one', 'two') ORDER BY name;

-------------------------------------------------------------------------------
-- Volume: a body larger than the send buffer, and 100 messages on one connection
-------------------------------------------------------------------------------

CREATE TEMP TABLE big AS SELECT repeat(E'.dotted line of some length\r\nplain line\n', 12000) AS body;
CREATE FUNCTION pg_temp.send_in_pieces(helo text, rcpt text, body text, piece integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection := t.open_plain(helo);
    i integer := 1;
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, rcpt);
    PERFORM utl_smtp.open_data(c);
    WHILE i <= length(body) LOOP
        PERFORM utl_smtp.write_data(c, substr(body, i, piece));
        i := i + piece;
    END LOOP;
    i := (utl_smtp.close_data(c)).code;
    PERFORM utl_smtp.quit(c);
    RETURN i;
END $$;
SELECT is(pg_temp.send_in_pieces('t12-big', 't12-big@example.com', (SELECT body FROM big), 4093), 250,
          'a 500 KB body written in 4093-byte pieces is accepted');
SELECT is(md5(t.message('t12-big@example.com')), md5(replace(replace((SELECT body FROM big), E'\r\n', E'\n'), E'\n', E'\r\n')),
          '... and stored byte for byte (dots unstuffed, LF as CRLF) across buffer and piece boundaries');

DO $$
DECLARE
    c utl_smtp.connection := t.open_plain('t12-bulk');
    i integer;
BEGIN
    FOR i IN 1..100 LOOP
        PERFORM utl_smtp.mail(c, 'sender@example.com');
        PERFORM utl_smtp.rcpt(c, format('t12-bulk-%s@example.com', i));
        PERFORM utl_smtp.data(c, format(E'Subject: bulk %s\r\n\r\nmessage %s\r\n', i, i));
        PERFORM utl_smtp.rset(c);
    END LOOP;
    PERFORM utl_smtp.quit(c);
END $$;
SELECT is((SELECT count(*) FROM pg_ls_dir(t.dir('smtpd_dir') || '/by-rcpt') f WHERE f LIKE 't12-bulk-%@example.com.eml'), 100::bigint,
          '100 messages sent on one connection with rset between are all stored');
SELECT is(t.message('t12-bulk-100@example.com'), pg_temp.b(E'Subject: bulk 100\r\n\r\nmessage 100\r\n'),
          'the 100th message is intact');

SELECT * FROM finish();
ROLLBACK;
