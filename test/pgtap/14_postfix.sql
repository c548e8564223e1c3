-- Interoperability with a real MTA: Postfix on loopback (pf_smtp), which
-- relays every message to a second test server (captures in relay_dir).
BEGIN;
SELECT plan(13);
SELECT t.allow_loopback();

CREATE TEMP TABLE conn (name text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.c(n text) RETURNS utl_smtp.connection
LANGUAGE sql AS $$ SELECT c FROM conn WHERE name = n $$;

-- The message the relay stored for rcpt, waiting up to max_seconds for
-- Postfix to deliver it (relay delivery is asynchronous).
CREATE FUNCTION pg_temp.relayed(rcpt text, max_seconds integer DEFAULT 30) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
    m bytea;
BEGIN
    LOOP
        m := t.message(rcpt, 'relay_dir');
        EXIT WHEN m IS NOT NULL OR clock_timestamp() - t0 > max_seconds * interval '1 s';
        PERFORM pg_sleep(0.1);
    END LOOP;
    RETURN m;
END $$;

-- A relayed message without the Received: header Postfix puts on top
-- (a header line and its folded continuation lines).
CREATE FUNCTION pg_temp.without_received(m bytea) RETURNS bytea
LANGUAGE plpgsql AS $$
DECLARE
    pos integer := position('\x0d0a'::bytea IN m);
BEGIN
    IF m IS NULL OR substring(m FROM 1 FOR 9) <> convert_to('Received:', 'UTF8') THEN
        RETURN m;
    END IF;
    -- Skip CRLF + whitespace continuations.
    WHILE get_byte(m, pos + 1) IN (32, 9) LOOP
        pos := pos + 1 + position('\x0d0a'::bytea IN substring(m FROM pos + 2));
    END LOOP;
    RETURN substring(m FROM pos + 2);
END $$;

INSERT INTO conn VALUES ('pf', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('pf_smtp'), tx_timeout => 30));
CREATE TEMP TABLE ehlo AS SELECT utl_smtp.ehlo(c => pg_temp.c('pf'), domain => 't14-pf') AS r;
SELECT is((SELECT (r[1]).text FROM ehlo), 'postfix.test', 'Postfix''s EHLO reply starts with its name as element 1');
SELECT ok((SELECT array_length(r, 1) > 5 FROM ehlo), 'the multi-line EHLO reply of Postfix is one array element per line');
SELECT ok((SELECT ARRAY['PIPELINING', 'STARTTLS', 'CHUNKING'] <@ array_agg(x.text) FROM ehlo, unnest(r) x),
          'the capabilities of a PIPELINING-capable server are parsed as lines');
SELECT ok((SELECT bool_and(x.code = 250) FROM ehlo, unnest(r) x), 'every line carries the code 250');

-- A plain message.
SELECT is((utl_smtp.mail(c => pg_temp.c('pf'), sender => 'sender@example.com')).code, 250, 'Postfix accepts MAIL');
SELECT is((utl_smtp.rcpt(c => pg_temp.c('pf'), recipient => 't14-plain@example.com', parameters => 'NOTIFY=NEVER')).code, 250,
          'Postfix accepts RCPT with a DSN parameter');
SELECT is((utl_smtp.data(c => pg_temp.c('pf'), body => E'Subject: t14 plain\r\n\r\nHello through Postfix.\r\n.leading dot\r\n')).code, 250,
          'Postfix queues the message');
SELECT is(pg_temp.without_received(pg_temp.relayed('t14-plain@example.com')),
          convert_to(E'Subject: t14 plain\r\n\r\nHello through Postfix.\r\n.leading dot\r\n', 'UTF8'),
          'the message reaches the relay as sent, after the Received: header');

-- Postfix's own refusal comes back as a 5xx error, and the session goes on.
SELECT utl_smtp.mail(pg_temp.c('pf'), 'sender@example.com');
SELECT alike(t.error_of($$ SELECT utl_smtp.rcpt(pg_temp.c('pf'), 'bad address@') $$),
             'SMTP permanent error: 501 5.1.3 Bad recipient address syntax%',
             'a recipient Postfix refuses raises its 501 reply');
SELECT is((utl_smtp.rset(pg_temp.c('pf'))).code, 250, 'the session goes on after the refusal');

-- 20 MB body in 32 KB write_data chunks: 512 lines of 64 bytes each, some
-- beginning with a dot.
CREATE TEMP TABLE chunk AS
SELECT string_agg(CASE WHEN i % 8 = 0 THEN '.' ELSE 'x' END || lpad(i::text, 5, '0') || repeat('abcdefgh', 7) || E'\r\n', '' ORDER BY i) AS s
  FROM generate_series(1, 512) i;
CREATE FUNCTION pg_temp.send_big(c utl_smtp.connection, rcpt text, chunk text, n integer) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, rcpt);
    PERFORM utl_smtp.open_data(c);
    PERFORM utl_smtp.write_data(c, E'Subject: t14 big\r\n\r\n');
    FOR i IN 1..n LOOP
        PERFORM utl_smtp.write_data(c, chunk);
    END LOOP;
    RETURN (utl_smtp.close_data(c)).code;
END $$;
SELECT is((SELECT octet_length(s) FROM chunk), 32768, 'the chunk is 32 KB');
SELECT is(pg_temp.send_big(pg_temp.c('pf'), 't14-big@example.com', (SELECT s FROM chunk), 640), 250,
          'Postfix accepts a 20 MB body written in 640 chunks of 32 KB');
SELECT is(md5(pg_temp.without_received(pg_temp.relayed('t14-big@example.com', 60))),
          (SELECT md5(E'Subject: t14 big\r\n\r\n' || repeat(s, 640)) FROM chunk),
          'the 20 MB body arrives at the relay byte for byte');
SELECT utl_smtp.quit(pg_temp.c('pf'));

SELECT * FROM finish();
ROLLBACK;
