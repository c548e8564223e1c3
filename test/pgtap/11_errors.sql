-- Errors (DESIGN §2.3): each condition provoked once, checked on the SQLSTATE
-- and the start of the message a user sees, and on what happens next.
BEGIN;
SELECT plan(80);
SELECT t.allow_loopback();

CREATE TEMP TABLE conn (name text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.c(n text) RETURNS utl_smtp.connection
LANGUAGE sql AS $$ SELECT c FROM conn WHERE name = n $$;

-- "SQLSTATE: message" of the error a statement raises, or NULL.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Open a connection to the plain port and EHLO with a fault spec; the words
-- after the spec only name the connection's capture (wire/<name>.bin).
CREATE FUNCTION pg_temp.open_fault(name text, spec text, tx_timeout integer DEFAULT 10)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO conn VALUES (name, utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => tx_timeout));
    PERFORM utl_smtp.ehlo(pg_temp.c(name), 'fault=' || spec || ' t11-' || name);
END $$;

-------------------------------------------------------------------------------
-- 29277 invalid_operation: out of sequence, closed, foreign or forged records
-------------------------------------------------------------------------------

INSERT INTO conn VALUES ('quit', t.open_plain('t11-quit'));
SELECT utl_smtp.quit(pg_temp.c('quit'));
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('quit')) $$), '29277: invalid SMTP connection%',
             'a call after quit raises 29277 invalid SMTP connection');

INSERT INTO conn VALUES ('real', t.open_plain('t11-real'));
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(ROW(host, port, tx_timeout, private_tcp_con, private_state # 1)::utl_smtp.connection)
                              FROM (SELECT (pg_temp.c('real')).*) r $$),
             '29277: invalid SMTP connection%',
             'a forged record (slot of an open connection, wrong private_state) raises 29277');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(ROW('127.0.0.1', t.port('plain'), 10, 12345, 1)::utl_smtp.connection) $$),
             '29277: invalid SMTP connection%',
             'a forged record naming a slot that does not exist raises 29277');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(NULL) $$), '29277: invalid SMTP connection%',
             'a NULL connection raises 29277');
SELECT utl_smtp.close_connection(pg_temp.c('real'));
SELECT alike(pg_temp.err($$ SELECT utl_smtp.rset(pg_temp.c('real')) $$), '29277: invalid SMTP connection%',
             'a record of a connection closed with close_connection raises 29277');

INSERT INTO conn VALUES ('seq', t.open_plain('t11-seq'));
SELECT utl_smtp.mail(pg_temp.c('seq'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('seq'), 't11-seq@example.com');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.write_data(pg_temp.c('seq'), 'too early') $$),
             '29277: no SMTP data transfer is in progress%', 'write_data without open_data raises 29277');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.close_data(pg_temp.c('seq')) $$),
             '29277: no SMTP data transfer is in progress%', 'close_data without open_data raises 29277');
SELECT utl_smtp.open_data(pg_temp.c('seq'));
SELECT utl_smtp.write_data(pg_temp.c('seq'), E'Subject: seq\r\n\r\nbody\r\n');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.mail(pg_temp.c('seq'), 'other@example.com') $$),
             '29277: SMTP command not allowed during a data transfer%', 'mail() between open_data and close_data raises 29277');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.data(pg_temp.c('seq'), 'nested') $$),
             '29277: SMTP command not allowed during a data transfer%', 'data() between open_data and close_data raises 29277');
SELECT is((utl_smtp.close_data(pg_temp.c('seq'))).code, 250, 'the refused calls did not disturb the transfer: close_data gets 250');
SELECT is(t.message('t11-seq@example.com'), convert_to(E'Subject: seq\r\n\r\nbody\r\n', 'UTF8'),
          '... and the message holds only what write_data wrote');
SELECT ok(position(convert_to('other@example.com', 'UTF8') IN t.wire('t11-seq')) = 0
          AND position(convert_to('nested', 'UTF8') IN t.wire('t11-seq')) = 0,
          'nothing of the refused calls reached the server');
SELECT utl_smtp.quit(pg_temp.c('seq'));

-------------------------------------------------------------------------------
-- 29278 transient_error: 4xx, network failures, timeouts, protocol violations
-------------------------------------------------------------------------------

SELECT pg_temp.open_fault('r451', 'rcpt:451');
SELECT utl_smtp.mail(pg_temp.c('r451'), 'sender@example.com');
SELECT is(pg_temp.err($$ SELECT utl_smtp.rcpt(pg_temp.c('r451'), 't11-451@example.com') $$),
          '29278: SMTP transient error: 451 4.3.0 Local error in processing (fault rcpt:451)',
          'a 4xx reply raises 29278 with the server''s reply as the message');
SELECT is((utl_smtp.noop(pg_temp.c('r451'))).code, 250, 'the connection stays usable after a 4xx reply');
SELECT utl_smtp.quit(pg_temp.c('r451'));

SELECT pg_temp.open_fault('r421', 'rcpt:421');
SELECT utl_smtp.mail(pg_temp.c('r421'), 'sender@example.com');
CREATE TEMP TABLE d421 AS SELECT * FROM t.diag($$ SELECT utl_smtp.rcpt(pg_temp.c('r421'), 't11-421@example.com') $$);
SELECT is((SELECT state || ': ' || message FROM d421),
          '29278: SMTP transient error: 421 4.3.2 testsmtp.local Service not available, closing transmission channel (fault rcpt:421)',
          'a 421 reply raises 29278 with the reply');
SELECT unalike((SELECT hint FROM d421), '%connection stays open%',
               'the hint of a 421 reply (the server closes the channel) does not claim the connection stays open');
SELECT utl_smtp.close_connection(pg_temp.c('r421'));

SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s) $$, t.port('greet421'))),
             '29278: SMTP transient error: 421 4.3.2 testsmtp.local Service not available%',
             'a 421 greeting makes open_connection raise 29278 with the greeting');
SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s) $$, t.port('closed'))),
             format('29278: SMTP transient error: 421 4.4.1 could not connect to 127.0.0.1:%s: Connection refused', t.port('closed')),
             'a refused connection raises 29278 "could not connect ... Connection refused"');
SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s, tx_timeout => 5) $$, t.port('greetdrop'))),
             '29278: SMTP transient error: 421 4.4.2 connection closed by 127.0.0.1:%',
             'a server that closes before greeting raises 29278 "connection closed"');
SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s, tx_timeout => 5) $$, t.port('greetgarbage'))),
             '29278: SMTP transient error: 421 4.5.0 protocol error: malformed reply line%',
             'a greeting that is not a reply raises 29278 protocol error');
SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s, tx_timeout => 1) $$, t.port('greetstall'))),
             '29278: SMTP transient error: 421 4.4.2 timed out after 1 s waiting for a reply from 127.0.0.1:%',
             'a greeting that never comes raises 29278 "timed out after 1 s"');
SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint,
          'the failed open_connection calls left no connection behind');

SELECT pg_temp.open_fault('drop', 'mail:drop');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.mail(pg_temp.c('drop'), 'sender@example.com') $$),
             '29278: SMTP transient error: 421 4.4.2 connection closed by 127.0.0.1:%',
             'a connection dropped by the server raises 29278 "connection closed"');
SELECT is((SELECT state FROM smtp_mail.connections() WHERE handle = (pg_temp.c('drop')).private_tcp_con), 'broken',
          'connections() shows the dropped connection as broken');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('drop')) $$),
             '29277: SMTP connection to 127.0.0.1:% is broken',
             'a later call on the dropped connection raises 29277 "is broken"');
SELECT alike((t.diag($$ SELECT utl_smtp.rset(pg_temp.c('drop')) $$)).detail,
             'An earlier call failed: 4.4.2 connection closed by 127.0.0.1:%',
             'the detail of the "broken" error says what broke it');
SELECT utl_smtp.close_connection(pg_temp.c('drop'));
SELECT is((SELECT count(*) FROM smtp_mail.connections() WHERE handle = (pg_temp.c('drop')).private_tcp_con), 0::bigint,
          'close_connection frees a broken connection');

SELECT pg_temp.open_fault('garbage', 'noop:garbage');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('garbage')) $$),
             '29278: SMTP transient error: 421 4.5.0 protocol error: malformed reply line from 127.0.0.1:%',
             'a reply that is not "DDD text" raises 29278 protocol error');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('garbage')) $$), '29277: %is broken',
             'the connection is closed after a protocol error');

SELECT pg_temp.open_fault('oversize', 'noop:oversize');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('oversize')) $$),
             '29278: SMTP transient error: 421 4.5.0 protocol error: reply line longer than 4096 bytes%',
             'a reply line over 4 KiB raises 29278 protocol error');

SELECT pg_temp.open_fault('toomany', 'noop:toomany');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('toomany')) $$),
             '29278: SMTP transient error: 421 4.5.0 protocol error: reply of more than 100 lines%',
             'a reply of more than 100 lines raises 29278 protocol error');

SELECT pg_temp.open_fault('mixed', 'noop:mixed');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('mixed')) $$),
             '29278: SMTP transient error: 421 4.5.0 protocol error: reply lines with different codes%',
             'a reply whose lines have different codes raises 29278 protocol error');

SELECT pg_temp.open_fault('nul', 'noop:nul');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('nul')) $$),
             '29278: SMTP transient error: 421 4.5.0 protocol error: NUL byte in a reply%',
             'a reply with a NUL byte raises 29278 protocol error');

SELECT pg_temp.open_fault('stall', 'noop:stall', tx_timeout => 1);
CREATE TEMP TABLE timing AS
SELECT clock_timestamp() AS t0, pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('stall')) $$) AS e, NULL::timestamptz AS t1;
UPDATE timing SET t1 = clock_timestamp();
SELECT alike((SELECT e FROM timing),
             '29278: SMTP transient error: 421 4.4.2 timed out after 1 s waiting for a reply from 127.0.0.1:%',
             'a reply that does not come within tx_timeout raises 29278 "timed out after 1 s"');
SELECT ok((SELECT t1 - t0 BETWEEN interval '0.9 s' AND interval '2.5 s' FROM timing),
          'the timeout fires after about tx_timeout seconds');

SELECT pg_temp.open_fault('dot451', 'dot:451');
SELECT utl_smtp.mail(pg_temp.c('dot451'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('dot451'), 't11-dot451@example.com');
SELECT utl_smtp.open_data(pg_temp.c('dot451'));
SELECT utl_smtp.write_data(pg_temp.c('dot451'), 'refused at the end');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.close_data(pg_temp.c('dot451')) $$),
             '29278: SMTP transient error: 451 %', 'a 4xx reply to the end of the message raises 29278 from close_data');
SELECT is((utl_smtp.rset(pg_temp.c('dot451'))).code, 250, 'after a refused message the connection takes commands again');
SELECT utl_smtp.quit(pg_temp.c('dot451'));

SELECT pg_temp.open_fault('data250', 'data:250');
SELECT utl_smtp.mail(pg_temp.c('data250'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('data250'), 't11-data250@example.com');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.open_data(pg_temp.c('data250')) $$),
             '29278: SMTP transient error: 421 4.5.0 protocol error: DATA not answered with 354%',
             'DATA answered with anything but 354 raises 29278 protocol error');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.write_data(pg_temp.c('data250'), 'x') $$), '29277: %is broken',
             '... and the connection is closed, not left in the data state');

SELECT pg_temp.open_fault('quitdrop', 'quit:drop');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.quit(pg_temp.c('quitdrop')) $$), '29278: SMTP transient error: 421 4.4.2 connection closed%',
             'a QUIT the server drops raises 29278');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('quitdrop')) $$), '29277: invalid SMTP connection%',
             'quit closed the connection anyway');

-------------------------------------------------------------------------------
-- 29279 permanent_error: 5xx
-------------------------------------------------------------------------------

SELECT pg_temp.open_fault('r550', 'rcpt:550');
SELECT utl_smtp.mail(pg_temp.c('r550'), 'sender@example.com');
CREATE TEMP TABLE d550 AS SELECT * FROM t.diag($$ SELECT utl_smtp.rcpt(pg_temp.c('r550'), 't11-550@example.com') $$);
SELECT is((SELECT state FROM d550), '29279', 'a 5xx reply raises 29279');
SELECT is((SELECT message FROM d550),
          'SMTP permanent error: 550 5.1.1 Requested action not taken: mailbox unavailable (fault rcpt:550)',
          'the message starts with the server''s reply');
SELECT is((SELECT detail FROM d550),
          format(E'127.0.0.1:%s answered RCPT TO: with:\n550 5.1.1 Requested action not taken: mailbox unavailable (fault rcpt:550)', t.port('plain')),
          'the detail names the server and the command and carries the whole reply');
SELECT ok((SELECT hint IS NOT NULL AND hint <> '' FROM d550), 'the error has a hint');
SELECT is((utl_smtp.rset(pg_temp.c('r550'))).code, 250, 'after a 5xx reply the connection stays usable: rset gets 250');
SELECT utl_smtp.ehlo(pg_temp.c('r550'), 'fault= t11-r550');
SELECT utl_smtp.mail(pg_temp.c('r550'), 'sender@example.com');
SELECT is((utl_smtp.rcpt(pg_temp.c('r550'), 't11-after550@example.com')).code, 250, '... and another rcpt works');
SELECT utl_smtp.quit(pg_temp.c('r550'));

SELECT is(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s) $$, t.port('greet554'))),
          '29279: SMTP permanent error: 554 5.7.1 Transaction failed (fault greeting:554)',
          'a 554 greeting makes open_connection raise 29279 with the greeting');
SELECT unalike((t.diag(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s) $$, t.port('greet554')))).hint,
              '%connection stays open%',
              'the hint of a refused greeting does not claim a connection stays open (open_connection returned none)');

SELECT pg_temp.open_fault('data554', 'data:554');
SELECT utl_smtp.mail(pg_temp.c('data554'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('data554'), 't11-data554@example.com');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.open_data(pg_temp.c('data554')) $$), '29279: SMTP permanent error: 554 %',
             'a 5xx reply to DATA raises 29279 from open_data');
SELECT is((utl_smtp.rset(pg_temp.c('data554'))).code, 250, 'a refused DATA does not leave the connection in the data state');
SELECT utl_smtp.quit(pg_temp.c('data554'));

SELECT pg_temp.open_fault('quit550', 'quit:550');
CREATE TEMP TABLE dquit AS SELECT * FROM t.diag($$ SELECT utl_smtp.quit(pg_temp.c('quit550')) $$);
SELECT is((SELECT state FROM dquit), '29279', 'a 5xx reply to QUIT raises 29279');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.noop(pg_temp.c('quit550')) $$), '29277: invalid SMTP connection%',
             'quit closes the connection even when the server refuses QUIT');
SELECT unalike((SELECT hint FROM dquit), '%connection stays open%',
               'the hint of a refused QUIT does not claim the connection stays open (quit closed it)');

-- The usual fallback: EHLO refused, HELO instead.
CREATE FUNCTION pg_temp.greet(c utl_smtp.connection, domain text) RETURNS integer
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM utl_smtp.ehlo(c, domain);
    RETURN 2;
EXCEPTION
    WHEN SQLSTATE '29279' THEN
        PERFORM utl_smtp.helo(c, domain);
        RETURN 1;
END $$;
INSERT INTO conn VALUES ('noehlo', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => 10));
SELECT is(pg_temp.greet(pg_temp.c('noehlo'), 'fault=ehlo:502 t11-noehlo'), 1, 'after a refused EHLO the HELO fallback works');
SELECT utl_smtp.quit(pg_temp.c('noehlo'));

-- Oracle's handler idiom catches both classes by SQLSTATE.
CREATE FUNCTION pg_temp.try_rcpt(c utl_smtp.connection, rcpt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM utl_smtp.rcpt(c, rcpt);
    RETURN 'accepted';
EXCEPTION
    WHEN SQLSTATE '29278' OR SQLSTATE '29279' THEN
        RETURN 'refused: ' || SQLERRM;
END $$;
SELECT pg_temp.open_fault('handler', 'rcpt:550');
SELECT utl_smtp.mail(pg_temp.c('handler'), 'sender@example.com');
SELECT alike(pg_temp.try_rcpt(pg_temp.c('handler'), 't11-handler@example.com'), 'refused: SMTP permanent error: 550 %',
             'EXCEPTION WHEN SQLSTATE ''29278'' OR SQLSTATE ''29279'' catches a refused recipient');
SELECT utl_smtp.quit(pg_temp.c('handler'));

-------------------------------------------------------------------------------
-- 22023: bad arguments; CR/LF in a command argument sends nothing
-------------------------------------------------------------------------------

SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => NULL, port => %s) $$, t.port('plain'))),
             '22023: %host%', 'a NULL host raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => NULL) $$),
             '22023: %port%', 'a NULL port raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => 0) $$),
             '22023: SMTP port 0 is out of range%', 'port 0 raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => 70000) $$),
             '22023: SMTP port 70000 is out of range%', 'port 70000 raises 22023');
SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s, tx_timeout => -1) $$, t.port('plain'))),
             '22023: %tx_timeout%', 'a negative tx_timeout raises 22023');
SELECT alike(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => E'127.0.0.1\r\n', port => %s) $$, t.port('plain'))),
             '22023: %', 'a host with CR LF raises 22023');

INSERT INTO conn VALUES ('inj', t.open_plain('t11-inj'));
SELECT is(pg_temp.err($$ SELECT utl_smtp.helo(pg_temp.c('inj'), E'x\r\nRCPT TO:<evil-helo@example.com>') $$),
          '22023: SMTP command argument contains a carriage return, line feed or NUL',
          'CR LF in the helo domain raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.ehlo(pg_temp.c('inj'), E'x\nRCPT TO:<evil-ehlo@example.com>') $$),
             '22023: %', 'LF in the ehlo domain raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.mail(pg_temp.c('inj'), E'a@example.com>\r\nRCPT TO:<evil-mail@example.com') $$),
             '22023: %', 'CR LF in the mail sender raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.mail(pg_temp.c('inj'), 'a@example.com', E'SIZE=1\rRCPT TO:<evil-param@example.com>') $$),
             '22023: %', 'CR in the mail parameters raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.rcpt(pg_temp.c('inj'), E'b@example.com>\nDATA\n<evil-rcpt@example.com') $$),
             '22023: %', 'LF in the rcpt recipient raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.vrfy(pg_temp.c('inj'), E'x\rQUIT evil-vrfy') $$),
             '22023: %', 'CR in the vrfy recipient raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.help(pg_temp.c('inj'), E'x\r\nQUIT evil-help') $$),
             '22023: %', 'CR LF in the help command raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.command(pg_temp.c('inj'), 'NOOP', E'x\r\nQUIT evil-arg') $$),
             '22023: %', 'CR LF in the command argument raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.command(pg_temp.c('inj'), E'NOOP\r\nQUIT evil-cmd') $$),
             '22023: %', 'CR LF in the command itself raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.command_replies(pg_temp.c('inj'), E'EHLO evil-replies\nQUIT') $$),
             '22023: %', 'LF in the command_replies command raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.command(pg_temp.c('inj'), '') $$),
             '22023: %cmd%', 'an empty command raises 22023');
SELECT alike(pg_temp.err($$ SELECT utl_smtp.mail(pg_temp.c('inj'), NULL) $$),
             '22023: %sender%', 'a NULL sender raises 22023');
SELECT is((utl_smtp.noop(pg_temp.c('inj'))).code, 250, 'the connection is still usable after the refused arguments');
SELECT is(t.wire('t11-inj'), convert_to(E'EHLO t11-inj\r\nNOOP\r\n', 'UTF8'),
          'nothing of a refused command reached the server: the wire holds only EHLO and NOOP');
SELECT utl_smtp.quit(pg_temp.c('inj'));

-------------------------------------------------------------------------------
-- 53400: smtp_mail.max_connections
-------------------------------------------------------------------------------

SELECT utl_smtp.close_connection(c) FROM conn;
SET LOCAL smtp_mail.max_connections = 2;
INSERT INTO conn VALUES ('max1', t.open_plain('t11-max1'));
INSERT INTO conn VALUES ('max2', t.open_plain('t11-max2'));
SELECT is(pg_temp.err(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s) $$, t.port('plain'))),
          '53400: too many open SMTP connections in this session',
          'a third connection with smtp_mail.max_connections = 2 raises 53400');
SELECT utl_smtp.quit(pg_temp.c('max1'));
INSERT INTO conn VALUES ('max3', t.open_plain('t11-max3'));
SELECT is((utl_smtp.noop(pg_temp.c('max3'))).code, 250, 'after one is closed another connection can be opened');
SELECT utl_smtp.quit(pg_temp.c('max2'));
SELECT utl_smtp.quit(pg_temp.c('max3'));
RESET smtp_mail.max_connections;

SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint, 'no connection is left behind by all these errors');
SELECT is((SELECT sum(x) FROM generate_series(1, 10) x), 55::bigint, 'the backend still runs queries after every error');

SELECT * FROM finish();
ROLLBACK;
