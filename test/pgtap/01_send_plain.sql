-- Sending over plain TCP: the Oracle sequence end to end, bytes read back.
BEGIN;
SELECT plan(6);
SELECT t.allow_loopback();

CREATE TEMP TABLE r AS SELECT utl_smtp.open_connection('127.0.0.1', t.port('plain'), 10) AS c;

SELECT is((SELECT (c).host FROM r), '127.0.0.1', 'open_connection returns a record naming the host');
SELECT is((SELECT (utl_smtp.ehlo(c, 'send-plain-1'))[1].code FROM r), 250, 'ehlo returns 250 as its first reply');
SELECT is((SELECT (utl_smtp.mail(c, 'sender@example.com')).code FROM r), 250, 'mail returns 250');
SELECT is((SELECT (utl_smtp.rcpt(c, 'plain1@example.com')).code FROM r), 250, 'rcpt returns 250');
SELECT is((SELECT (utl_smtp.data(c, E'Subject: hi\r\n\r\nhello\r\n')).code FROM r), 250, 'data returns 250');
SELECT is(t.message('plain1@example.com'), convert_to(E'Subject: hi\r\n\r\nhello\r\n', 'UTF8'),
          'the server stored the body byte for byte');
SELECT utl_smtp.quit(c) FROM r;

SELECT * FROM finish();
ROLLBACK;
