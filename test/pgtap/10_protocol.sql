-- UTL_SMTP over plain TCP: every function once, called with named notation
-- as ported PL/SQL calls them, checked on what comes back and on the bytes
-- that reached the test server.
BEGIN;
SELECT plan(62);
SELECT t.allow_loopback();

-- Connections by name, so later statements can use them.
CREATE TEMP TABLE conn (name text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.c(n text) RETURNS utl_smtp.connection
LANGUAGE sql AS $$ SELECT c FROM conn WHERE name = n $$;

-- True if the client sent exactly this command line on the connection
-- that said EHLO/HELO helo (the line is matched whole, CRLF included).
CREATE FUNCTION pg_temp.sent(helo text, line text) RETURNS boolean
LANGUAGE sql AS $$
    SELECT position(convert_to(E'\n' || line || E'\r\n', 'UTF8') IN t.wire(helo)) > 0
$$;

-------------------------------------------------------------------------------
-- open_connection, helo, ehlo
-------------------------------------------------------------------------------

INSERT INTO conn VALUES ('a', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => 10));
SELECT is(((pg_temp.c('a')).host, (pg_temp.c('a')).port, (pg_temp.c('a')).tx_timeout)::text,
          format('(127.0.0.1,%s,10)', t.port('plain')),
          'open_connection(host =>, port =>, tx_timeout =>) returns a record with host, port and tx_timeout');

INSERT INTO conn VALUES ('notimeout', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain')));
SELECT is((pg_temp.c('notimeout')).tx_timeout, NULL, 'tx_timeout defaults to NULL (wait until the server answers)');
SELECT utl_smtp.close_connection(c => pg_temp.c('notimeout'));

SELECT is(utl_smtp.ehlo(c => pg_temp.c('a'), domain => 't10-a'),
          ARRAY[(250, 'testsmtp.local'), (250, 'PIPELINING'), (250, 'SIZE 67108864'),
                (250, '8BITMIME'), (250, 'SMTPUTF8'), (250, 'ENHANCEDSTATUSCODES'),
                (250, 'AUTH PLAIN LOGIN CRAM-MD5 XOAUTH2'), (250, 'HELP')]::utl_smtp.reply[],
          'ehlo returns one reply per line, element 1 being the server name line');
SELECT is(array_lower(utl_smtp.ehlo(pg_temp.c('a'), 't10-a'), 1), 1, 'the replies array starts at index 1');
SELECT is(position(convert_to(E'EHLO t10-a\r\n', 'UTF8') IN t.wire('t10-a')), 1,
          'ehlo sends "EHLO <domain>" as the first command');

INSERT INTO conn VALUES ('h', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => 10));
SELECT is(utl_smtp.helo(c => pg_temp.c('h'), domain => 't10-helo'), (250, 'testsmtp.local')::utl_smtp.reply,
          'helo returns the single 250 reply');
SELECT is(t.wire('t10-helo'), convert_to(E'HELO t10-helo\r\n', 'UTF8'), 'helo sends "HELO <domain>"');

-------------------------------------------------------------------------------
-- mail, rcpt: the path and the parameters
-------------------------------------------------------------------------------

SELECT is(utl_smtp.mail(c => pg_temp.c('a'), sender => 'sender@example.com'), (250, '2.0.0 OK')::utl_smtp.reply,
          'mail returns the 250 reply');
SELECT ok(pg_temp.sent('t10-a', 'MAIL FROM:<sender@example.com>'), 'mail wraps a bare address in <>');
SELECT is((utl_smtp.rcpt(c => pg_temp.c('a'), recipient => '<t10-a@example.com>')).code, 250, 'rcpt returns 250');
SELECT ok(pg_temp.sent('t10-a', 'RCPT TO:<t10-a@example.com>'), 'rcpt leaves an address already in <> alone');
SELECT is((utl_smtp.rcpt(c => pg_temp.c('a'), recipient => 't10-a2@example.com')).code, 250, 'rcpt accepts a second recipient');
SELECT is((utl_smtp.data(c => pg_temp.c('a'), body => E'Subject: t10\r\n\r\nbody\r\n')).code, 250, 'data returns 250 for the message');
SELECT is(t.meta('t10-a@example.com') -> 'rcpt_tos', '["t10-a@example.com", "t10-a2@example.com"]'::jsonb,
          'the server got both recipients for the message');

SELECT is((utl_smtp.mail(c => pg_temp.c('a'), sender => '')).code, 250, 'mail with an empty sender is accepted');
SELECT ok(pg_temp.sent('t10-a', 'MAIL FROM:<>'), 'mail with '''' sends the null reverse-path MAIL FROM:<>');
SELECT is(t.sqlstate_of($$ SELECT utl_smtp.rcpt(c => pg_temp.c('a'), recipient => 't10-params@example.com', parameters => 'NOTIFY=NEVER') $$),
          '29279', 'rcpt with parameters the test server does not implement gets its 555 as an error');
SELECT ok(pg_temp.sent('t10-a', 'RCPT TO:<t10-params@example.com> NOTIFY=NEVER'),
          'rcpt appends its parameters after the path, separated by a space');
SELECT is((utl_smtp.rset(c => pg_temp.c('a'))), (250, '2.0.0 OK')::utl_smtp.reply, 'rset returns the 250 reply');
SELECT ok(pg_temp.sent('t10-a', 'RSET'), 'rset sends RSET');

SELECT is((utl_smtp.mail(c => pg_temp.c('a'), sender => '<sender@example.com>', parameters => 'SIZE=100')).code, 250,
          'mail with parameters returns 250');
SELECT ok(pg_temp.sent('t10-a', 'MAIL FROM:<sender@example.com> SIZE=100'),
          'mail appends its parameters after the path, separated by a space');

-------------------------------------------------------------------------------
-- open_data, write_data, write_raw_data, close_data
-------------------------------------------------------------------------------

SELECT utl_smtp.rcpt(pg_temp.c('a'), 't10-stream@example.com');
SELECT is(utl_smtp.open_data(c => pg_temp.c('a')), (354, 'End data with <CR><LF>.<CR><LF>')::utl_smtp.reply,
          'open_data returns the 354 reply');
SELECT is((SELECT state FROM smtp_mail.connections() WHERE handle = (pg_temp.c('a')).private_tcp_con), 'data',
          'connections() shows the state ''data'' between open_data and close_data');
SELECT utl_smtp.write_data(c => pg_temp.c('a'), data => E'Subject: streamed\r\n\r\n');
SELECT utl_smtp.write_raw_data(c => pg_temp.c('a'), data => '\x726177206279746573210d0a'::bytea);
SELECT utl_smtp.write_data(c => pg_temp.c('a'), data => E'text again\r\n');
SELECT is((utl_smtp.close_data(c => pg_temp.c('a'))).code, 250, 'close_data returns the 250 reply for the message');
SELECT is(t.message('t10-stream@example.com'), convert_to(E'Subject: streamed\r\n\r\nraw bytes!\r\ntext again\r\n', 'UTF8'),
          'write_data and write_raw_data pieces arrive in order, as one message');
SELECT is((SELECT state FROM smtp_mail.connections() WHERE handle = (pg_temp.c('a')).private_tcp_con), 'open',
          'connections() shows the state ''open'' again after close_data');

-------------------------------------------------------------------------------
-- noop, vrfy, help, command, command_replies
-------------------------------------------------------------------------------

SELECT is(utl_smtp.noop(c => pg_temp.c('a')), (250, '2.0.0 OK')::utl_smtp.reply, 'noop returns the 250 reply');
SELECT is(utl_smtp.vrfy(c => pg_temp.c('a'), recipient => 'someone@example.com'),
          (252, '2.0.0 Cannot VRFY user, but will accept message and attempt delivery')::utl_smtp.reply,
          'vrfy returns the server''s 252 reply');
SELECT ok(pg_temp.sent('t10-a', 'VRFY someone@example.com'), 'vrfy sends "VRFY <recipient>" without angle brackets');
SELECT is(utl_smtp.help(c => pg_temp.c('a')),
          ARRAY[(214, '2.0.0 testsmtp.local smtp_mail test server; commands:'),
                (214, '2.0.0 HELO EHLO MAIL RCPT DATA RSET NOOP QUIT VRFY HELP STARTTLS AUTH')]::utl_smtp.reply[],
          'help returns both lines of the 214 reply, in order');
SELECT is(array_length(utl_smtp.help(c => pg_temp.c('a'), command => 'NOOP'), 1), 2, 'help with a command returns its replies');
SELECT ok(pg_temp.sent('t10-a', 'HELP NOOP') AND pg_temp.sent('t10-a', 'HELP'), 'help sends "HELP" and "HELP <command>"');
SELECT is(utl_smtp.command(c => pg_temp.c('a'), cmd => 'NOOP'), (250, '2.0.0 OK')::utl_smtp.reply,
          'command(c, ''NOOP'') sends a bare command and returns its reply');
SELECT is((utl_smtp.command(c => pg_temp.c('a'), cmd => 'VRFY', arg => 'postmaster')).code, 252,
          'command with an argument returns the reply');
SELECT ok(pg_temp.sent('t10-a', 'VRFY postmaster'), 'command sends "<cmd> <arg>"');
SELECT is((utl_smtp.command_replies(c => pg_temp.c('a'), cmd => 'EHLO', arg => 'x'))[1], (250, 'testsmtp.local')::utl_smtp.reply,
          'command_replies(c, ''EHLO'', ''x'') returns the first line as element 1');
SELECT is(array_length(utl_smtp.command_replies(pg_temp.c('a'), 'EHLO', 'x'), 1), 8,
          'command_replies returns every line of a multi-line reply');

-- AUTH LOGIN by hand, as PL/SQL written before utl_smtp.auth existed does it.
INSERT INTO conn VALUES ('login', t.open_plain('t10-login'));
SELECT is(utl_smtp.command(c => pg_temp.c('login'), cmd => 'AUTH LOGIN'), (334, 'VXNlciBOYW1lAA==')::utl_smtp.reply,
          'command returns a 334 challenge as a reply, without raising');
SELECT is((utl_smtp.command(pg_temp.c('login'), encode(convert_to('user@example.com', 'UTF8'), 'base64'))).code, 334,
          'command sends a SASL response line and returns the next challenge');
SELECT is((utl_smtp.command(pg_temp.c('login'), encode(convert_to('secret', 'UTF8'), 'base64'))).code, 235,
          'the hand-made AUTH LOGIN dialogue ends with 235');
SELECT utl_smtp.mail(pg_temp.c('login'), 'user@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('login'), 't10-login@example.com');
SELECT utl_smtp.data(pg_temp.c('login'), 'authenticated');
SELECT is(t.meta('t10-login@example.com') ->> 'auth', 'user@example.com', 'the server sees the session as authenticated');
SELECT utl_smtp.quit(pg_temp.c('login'));

-------------------------------------------------------------------------------
-- Multi-line and LF-only replies
-------------------------------------------------------------------------------

SELECT utl_smtp.ehlo(pg_temp.c('h'), 'fault=noop:multiline');
SELECT is(utl_smtp.noop(pg_temp.c('h')), (250, E'first\nsecond\n2.0.0 OK')::utl_smtp.reply,
          'a single-reply function returns the code and the whole text of a multi-line reply, lines joined by newlines');
SELECT utl_smtp.ehlo(pg_temp.c('h'), 'fault=noop:lfonly');
SELECT is(utl_smtp.noop(pg_temp.c('h')), (250, '2.0.0 OK')::utl_smtp.reply, 'a reply ending in a bare LF is accepted');
SELECT is(array_length(utl_smtp.ehlo(pg_temp.c('h'), 'fault=ehlo:lfonly'), 1), 8,
          'a multi-line reply whose lines end in bare LFs is split into all its lines');

-------------------------------------------------------------------------------
-- connections(), quit, close_connection
-------------------------------------------------------------------------------

SELECT ok((SELECT host = '127.0.0.1' AND port = t.port('plain') AND state = 'open' AND bytes_in > 0 AND bytes_out > 0
             FROM smtp_mail.connections() WHERE handle = (pg_temp.c('a')).private_tcp_con),
          'connections() shows the open connection: host, port, state ''open'', bytes in and out');
SELECT is(utl_smtp.quit(c => pg_temp.c('a')), (221, '2.0.0 Bye')::utl_smtp.reply, 'quit returns the 221 reply');
SELECT ok(pg_temp.sent('t10-a', 'QUIT'), 'quit sends QUIT');
SELECT is((SELECT count(*) FROM smtp_mail.connections() WHERE handle = (pg_temp.c('a')).private_tcp_con), 0::bigint,
          'connections() no longer lists a connection after quit');

SELECT lives_ok($$ SELECT utl_smtp.close_connection(c => pg_temp.c('a')) $$,
                'close_connection on a connection already quit does not raise');
SELECT lives_ok($$ SELECT utl_smtp.close_connection(pg_temp.c('h')), utl_smtp.close_connection(pg_temp.c('h')) $$,
                'close_connection twice on the same connection does not raise');
SELECT is(t.wire('t10-helo'), convert_to(E'HELO t10-helo\r\nEHLO fault=noop:multiline\r\nNOOP\r\nEHLO fault=noop:lfonly\r\nNOOP\r\nEHLO fault=ehlo:lfonly\r\n', 'UTF8'),
          'close_connection closes without sending QUIT');

INSERT INTO conn VALUES ('keep', t.open_plain('t10-keep'));
SELECT lives_ok($$ SELECT utl_smtp.close_connection(ROW('127.0.0.1', 25, NULL, (c).private_tcp_con, (c).private_state # 1)::utl_smtp.connection)
                     FROM conn WHERE name = 'keep' $$,
                'close_connection on a forged record (right slot, wrong private_state) does not raise');
SELECT is((utl_smtp.noop(pg_temp.c('keep'))).code, 250, '... and leaves the real connection in that slot open');
SELECT lives_ok($$ SELECT utl_smtp.close_connection(NULL), utl_smtp.close_connection(ROW(NULL, NULL, NULL, NULL, NULL)::utl_smtp.connection) $$,
                'close_connection on NULL or an empty record does not raise');
SELECT utl_smtp.quit(pg_temp.c('keep'));

SELECT is(utl_smtp.all_schemes(), 'CRAM-MD5 PLAIN LOGIN', 'all_schemes() is Oracle''s list');
SELECT is(utl_smtp.non_cleartext_password_schemes(), 'CRAM-MD5', 'non_cleartext_password_schemes() is CRAM-MD5');

-------------------------------------------------------------------------------
-- PL/pgSQL in Oracle style
-------------------------------------------------------------------------------

-- A DO block as a ported anonymous PL/SQL block writes it.
DO $$
DECLARE
    c utl_smtp.connection;
    r utl_smtp.reply;
    crlf constant text := E'\r\n';
BEGIN
    c := utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => 10);
    r := utl_smtp.helo(c, 't10-do');
    PERFORM utl_smtp.mail(c, 'dba@example.com');
    PERFORM utl_smtp.rcpt(c, 't10-do@example.com');
    PERFORM utl_smtp.open_data(c);
    PERFORM utl_smtp.write_data(c, 'Subject: nightly report' || crlf);
    PERFORM utl_smtp.write_data(c, crlf || 'All jobs ran.' || crlf);
    PERFORM utl_smtp.close_data(c);
    PERFORM utl_smtp.quit(c);
EXCEPTION
    WHEN SQLSTATE '29278' OR SQLSTATE '29279' THEN
        PERFORM utl_smtp.quit(c);
        RAISE;
END $$;
SELECT is(t.message('t10-do@example.com'), convert_to(E'Subject: nightly report\r\n\r\nAll jobs ran.\r\n', 'UTF8'),
          'a PL/pgSQL block in Oracle style (c := ...; PERFORM ...) sends a message');

-- A procedure-like function with Oracle's error handling, called twice on
-- one connection passed around as a value.
CREATE FUNCTION pg_temp.send_mail(c utl_smtp.connection, sender text, recipient text, subject text, message text)
RETURNS integer LANGUAGE plpgsql AS $$
DECLARE
    r utl_smtp.reply;
BEGIN
    PERFORM utl_smtp.mail(c, sender);
    PERFORM utl_smtp.rcpt(c, recipient);
    r := utl_smtp.data(c, 'Subject: ' || subject || E'\r\n\r\n' || message);
    RETURN r.code;
EXCEPTION
    WHEN SQLSTATE '29279' THEN
        PERFORM utl_smtp.rset(c);
        RETURN -1;
END $$;
INSERT INTO conn VALUES ('fn', t.open_plain('t10-fn'));
SELECT is(pg_temp.send_mail(pg_temp.c('fn'), 'app@example.com', 't10-fn1@example.com', 'one', 'first'), 250,
          'a PL/pgSQL function sends a message on a connection it is given');
SELECT is(pg_temp.send_mail(pg_temp.c('fn'), 'app@example.com', 't10-fn2@example.com', 'two', 'second'), 250,
          '... and a second one on the same connection');
SELECT is(t.message('t10-fn2@example.com'), convert_to(E'Subject: two\r\n\r\nsecond\r\n', 'UTF8'),
          'the second message arrives, its last line terminated by close');
SELECT utl_smtp.quit(pg_temp.c('fn'));

SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint, 'no connection is left open at the end');

SELECT * FROM finish();
ROLLBACK;
