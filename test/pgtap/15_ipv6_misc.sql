-- IPv6 and host names, connections that outlive transactions, records
-- from another session, and the trace (with AUTH payloads redacted).
BEGIN;
SELECT plan(25);
SELECT t.allow_loopback();

CREATE TEMP TABLE conn (name text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.c(n text) RETURNS utl_smtp.connection
LANGUAGE sql AS $$ SELECT c FROM conn WHERE name = n $$;

-------------------------------------------------------------------------------
-- ::1 and localhost
-------------------------------------------------------------------------------

INSERT INTO conn VALUES ('v6', utl_smtp.open_connection(host => '::1', port => t.port('plain'), tx_timeout => 10));
SELECT is((utl_smtp.ehlo(pg_temp.c('v6'), 't15-v6'))[1].code, 250, 'open_connection(host => ''::1'') connects over IPv6');
SELECT is((SELECT host FROM smtp_mail.connections() WHERE handle = (pg_temp.c('v6')).private_tcp_con), '::1',
          'connections() shows the IPv6 host');
SELECT utl_smtp.mail(pg_temp.c('v6'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('v6'), 't15-v6@example.com');
SELECT is((utl_smtp.data(pg_temp.c('v6'), E'Subject: over IPv6\r\n\r\nhi\r\n')).code, 250, 'a message is sent over IPv6');
SELECT is(t.meta('t15-v6@example.com') -> 'peer' ->> 0, '::1', 'the server saw the client on ::1');
SELECT utl_smtp.quit(pg_temp.c('v6'));

INSERT INTO conn VALUES ('lh', utl_smtp.open_connection(host => 'localhost', port => t.port('plain'), tx_timeout => 10));
SELECT is((utl_smtp.ehlo(pg_temp.c('lh'), 't15-localhost'))[1].code, 250, 'open_connection(host => ''localhost'') connects');
SELECT utl_smtp.mail(pg_temp.c('lh'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('lh'), 't15-localhost@example.com');
SELECT utl_smtp.data(pg_temp.c('lh'), 'by name');
SELECT ok(t.meta('t15-localhost@example.com') -> 'peer' ->> 0 IN ('::1', '127.0.0.1'), 'a message is sent to localhost');
SELECT utl_smtp.quit(pg_temp.c('lh'));

-------------------------------------------------------------------------------
-- Connections live across transactions (another session, through dblink)
-------------------------------------------------------------------------------

SELECT dblink_connect('t15', current_setting('smtp_test.connstr'));
-- Open in a transaction that is rolled back (taking its ACL rows with it).
SELECT dblink_exec('t15', 'BEGIN');
SELECT dblink_exec('t15', 'DO $$ BEGIN PERFORM t.allow_loopback(); END $$');
CREATE TEMP TABLE remote AS SELECT c FROM dblink('t15', $$ SELECT t.open_plain('t15-xact')::text $$) AS x(c text);
SELECT dblink_exec('t15', 'ROLLBACK');
SELECT is((SELECT state FROM dblink('t15', 'SELECT state FROM smtp_mail.connections()') AS x(state text)), 'open',
          'a connection opened in a transaction that rolled back stays open');
SELECT is((SELECT code FROM remote, dblink('t15', format('SELECT (utl_smtp.mail(%L, ''sender@example.com'')).code', c)) AS x(code integer)), 250,
          'the connection is used in a later transaction');
SELECT dblink_exec('t15', 'BEGIN');
SELECT is(t.sqlstate_of($$ SELECT dblink_exec('t15', 'SELECT 1/0') $$), '22012', '(a transaction of that session fails)');
SELECT dblink_exec('t15', 'ROLLBACK');
SELECT is((SELECT code FROM remote, dblink('t15', format('SELECT (utl_smtp.rcpt(%L, ''t15-xact@example.com'')).code', c)) AS x(code integer)), 250,
          'the connection survives a failed transaction');
SELECT is((SELECT code FROM remote, dblink('t15', format($q$ SELECT (utl_smtp.data(%L, 'across transactions')).code $q$, c)) AS x(code integer)), 250,
          'the message started in earlier transactions is sent');
SELECT is(t.message('t15-xact@example.com'), convert_to(E'across transactions\r\n', 'UTF8'), '... and arrives');

-- In this session: an unrelated error caught in a PL/pgSQL block (a
-- subtransaction rolled back) leaves an open transfer alone.
INSERT INTO conn VALUES ('sub', t.open_plain('t15-sub'));
DO $$
DECLARE
    c utl_smtp.connection := pg_temp.c('sub');
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, 't15-sub@example.com');
    PERFORM utl_smtp.open_data(c);
    PERFORM utl_smtp.write_data(c, E'before\r\n');
    BEGIN
        PERFORM 1 / 0;
    EXCEPTION WHEN division_by_zero THEN
        PERFORM utl_smtp.write_data(c, E'handled\r\n');
    END;
    PERFORM utl_smtp.close_data(c);
    PERFORM utl_smtp.quit(c);
END $$;
SELECT is(t.message('t15-sub@example.com'), convert_to(E'before\r\nhandled\r\n', 'UTF8'),
          'an error rolled back in a PL/pgSQL block does not disturb a transfer in progress');

-- The record of the other session's connection means nothing here, even
-- though this session has a connection in the same slot.
INSERT INTO conn VALUES ('mine', t.open_plain('t15-mine'));
SELECT is((pg_temp.c('mine')).private_tcp_con, (SELECT ((c::utl_smtp.connection)).private_tcp_con FROM remote),
          '(both sessions use the same slot number)');
SELECT is(t.sqlstate_of($$ SELECT utl_smtp.noop(c::utl_smtp.connection) FROM remote $$), '29277',
          'a connection record from another session raises 29277');
SELECT is((utl_smtp.noop(pg_temp.c('mine'))).code, 250, '... and does not touch this session''s connection in that slot');
SELECT utl_smtp.quit(pg_temp.c('mine'));
SELECT is((SELECT code FROM remote, dblink('t15', format('SELECT (utl_smtp.quit(%L)).code', c)) AS x(code integer)), 221,
          'the other session quits its connection');
SELECT dblink_disconnect('t15');

-------------------------------------------------------------------------------
-- smtp_mail.trace
-------------------------------------------------------------------------------

CREATE TEMP TABLE log AS
SELECT t.dir('dir') || '/pg/postgres.log' AS path, (pg_stat_file(t.dir('dir') || '/pg/postgres.log')).size AS start;

SET LOCAL smtp_mail.trace = on;
SET LOCAL smtp_mail.allow_plaintext_auth = on;
INSERT INTO conn VALUES ('trace', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => 10));
SELECT utl_smtp.ehlo(pg_temp.c('trace'), 't15-trace');
SELECT utl_smtp.auth(pg_temp.c('trace'), 'user@example.com', 'secret', 'PLAIN');
SELECT utl_smtp.mail(pg_temp.c('trace'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('trace'), 't15-trace@example.com');
SELECT utl_smtp.data(pg_temp.c('trace'), E'Subject: traced\r\n\r\nconfidential body text t15\r\n');
SELECT utl_smtp.quit(pg_temp.c('trace'));
INSERT INTO conn VALUES ('login', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => 10));
SELECT utl_smtp.ehlo(pg_temp.c('login'), 't15-trace-login');
SELECT utl_smtp.auth(pg_temp.c('login'), 'user@example.com', 'secret', 'LOGIN');
SELECT utl_smtp.quit(pg_temp.c('login'));
-- AUTH by hand through command(), as older PL/SQL code does it.
INSERT INTO conn VALUES ('manual', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain'), tx_timeout => 10));
SELECT utl_smtp.ehlo(pg_temp.c('manual'), 't15-trace-manual');
SELECT utl_smtp.command(pg_temp.c('manual'), 'AUTH LOGIN');
SELECT utl_smtp.command(pg_temp.c('manual'), 'dXNlckBleGFtcGxlLmNvbQ==');
CREATE TEMP TABLE manual_err AS
SELECT * FROM t.diag($$ SELECT utl_smtp.command(pg_temp.c('manual'), 'YmFkLXBhc3N3b3Jk') $$);
SELECT utl_smtp.command(pg_temp.c('manual'), 'AUTH', 'PLAIN AHVzZXJAZXhhbXBsZS5jb20Ac2VjcmV0');
SELECT utl_smtp.quit(pg_temp.c('manual'));
SET LOCAL smtp_mail.trace = off;

CREATE TEMP TABLE traced AS
SELECT pg_read_file(path, start, (pg_stat_file(path)).size - start) AS text FROM log;
SELECT ok((SELECT strpos(text, format('smtp_mail 127.0.0.1:%s C: EHLO t15-trace', t.port('plain'))) > 0 FROM traced),
          'with smtp_mail.trace on, the EHLO line is logged');
SELECT ok((SELECT strpos(text, 'S: 250-PIPELINING') > 0 AND strpos(text, 'S: 221 ') > 0 FROM traced),
          'the server''s replies are logged');
SELECT ok((SELECT strpos(text, 'C: AUTH PLAIN <redacted>') > 0 AND strpos(text, 'C: <redacted>') > 0 FROM traced),
          'AUTH payloads are logged as <redacted>');
SELECT ok((SELECT strpos(text, 'secret') = 0 AND strpos(text, 'AHVzZXJAZXhhbXBsZS5jb20Ac2VjcmV0') = 0
                  AND strpos(text, 'c2VjcmV0') = 0 FROM traced),
          'neither the password nor its base64 appear in the log');
SELECT ok((SELECT strpos(text, 'YmFkLXBhc3N3b3Jk') = 0 AND strpos(text, 'dXNlckBleGFtcGxlLmNvbQ==') = 0 FROM traced),
          'responses to a 334 sent by hand with command() are redacted too');
SELECT ok((SELECT state = '29279' AND strpos(concat_ws(' ', message, detail, hint), 'YmFkLXBhc3N3b3Jk') = 0 FROM manual_err),
          'the error for a refused AUTH response sent with command() does not show the response');
SELECT ok((SELECT strpos(text, 'confidential body text') = 0 FROM traced),
          'the message body is not logged');

CREATE ROLE t15_plain_user;
SET LOCAL ROLE t15_plain_user;
SELECT is(t.sqlstate_of('SET smtp_mail.trace = on'), '42501', 'only a superuser may turn the trace on');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
