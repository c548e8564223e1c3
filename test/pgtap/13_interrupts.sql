-- Query cancel and statement_timeout interrupt a call waiting on a server
-- that never answers, at once; the interrupted connection is then broken.
BEGIN;
SELECT plan(17);
SELECT t.allow_loopback();

CREATE TEMP TABLE conn (name text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.c(n text) RETURNS utl_smtp.connection
LANGUAGE sql AS $$ SELECT c FROM conn WHERE name = n $$;

-- Run a statement; the SQLSTATE it raised (cancel included) and how long it took.
CREATE FUNCTION pg_temp.timed(sql text, OUT state text, OUT seconds numeric)
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    state := t.sqlstate_of(sql);
    seconds := extract(epoch FROM clock_timestamp() - t0);
END $$;

-------------------------------------------------------------------------------
-- statement_timeout
-------------------------------------------------------------------------------

-- tx_timeout NULL: only the interrupt can end the wait.
INSERT INTO conn VALUES ('st', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain')));
SELECT utl_smtp.ehlo(pg_temp.c('st'), 'fault=noop:stall t13-st');
SET LOCAL statement_timeout = '500ms';
CREATE TEMP TABLE st AS SELECT * FROM pg_temp.timed($$ SELECT utl_smtp.noop(pg_temp.c('st')) $$);
SET LOCAL statement_timeout = 0;
SELECT is((SELECT state FROM st), '57014', 'statement_timeout interrupts a read from a stalled server with 57014');
SELECT ok((SELECT seconds BETWEEN 0.45 AND 1.5 FROM st),
          'the read is interrupted within 1 s of the timeout');
SELECT alike(t.error_of($$ SELECT utl_smtp.noop(pg_temp.c('st')) $$), 'SMTP connection to 127.0.0.1:% is broken',
             'the next call on the interrupted connection reports it broken');
SELECT is(t.sqlstate_of($$ SELECT utl_smtp.rset(pg_temp.c('st')) $$), '29277', '... with SQLSTATE 29277');
SELECT is((SELECT broken_reason FROM smtp_mail.connections() WHERE handle = (pg_temp.c('st')).private_tcp_con),
          'interrupted in the middle of a command', 'connections() says why it is broken');
SELECT lives_ok($$ SELECT utl_smtp.close_connection(pg_temp.c('st')) $$, 'close_connection works on the interrupted connection');
SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint, '... and removes it');

INSERT INTO conn VALUES ('after', t.open_plain('t13-after'));
SELECT is((utl_smtp.noop(pg_temp.c('after'))).code, 250, 'the backend opens and uses a new connection after the interrupt');
SELECT utl_smtp.quit(pg_temp.c('after'));

-- Interrupted while waiting for the greeting: nothing is left open.
SET LOCAL statement_timeout = '300ms';
CREATE TEMP TABLE st_open AS
SELECT * FROM pg_temp.timed(format($$ SELECT utl_smtp.open_connection(host => '127.0.0.1', port => %s) $$, t.port('greetstall')));
SET LOCAL statement_timeout = 0;
SELECT ok((SELECT state = '57014' AND seconds < 1.3 FROM st_open),
          'statement_timeout interrupts open_connection waiting for a greeting');
SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint, 'the interrupted open_connection leaves no connection behind');

-- Interrupted while waiting for the reply to the end of the message.
INSERT INTO conn VALUES ('dot', utl_smtp.open_connection(host => '127.0.0.1', port => t.port('plain')));
SELECT utl_smtp.ehlo(pg_temp.c('dot'), 'fault=dot:stall t13-dot');
SELECT utl_smtp.mail(pg_temp.c('dot'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('dot'), 't13-dot@example.com');
SELECT utl_smtp.open_data(pg_temp.c('dot'));
SELECT utl_smtp.write_data(pg_temp.c('dot'), 'never acknowledged');
SET LOCAL statement_timeout = '300ms';
CREATE TEMP TABLE st_dot AS SELECT * FROM pg_temp.timed($$ SELECT utl_smtp.close_data(pg_temp.c('dot')) $$);
SET LOCAL statement_timeout = 0;
SELECT is((SELECT state FROM st_dot), '57014', 'statement_timeout interrupts close_data waiting for the server');
SELECT alike(t.error_of($$ SELECT utl_smtp.write_data(pg_temp.c('dot'), 'more') $$), 'SMTP connection to 127.0.0.1:% is broken',
             'the connection is broken, not left in the data state');
SELECT utl_smtp.close_connection(pg_temp.c('dot'));

-------------------------------------------------------------------------------
-- pg_cancel_backend from another session
-------------------------------------------------------------------------------

SELECT dblink_connect('t13', current_setting('smtp_test.connstr'));
CREATE TEMP TABLE remote AS SELECT pid FROM dblink('t13', 'SELECT pg_backend_pid()') AS x(pid integer);
-- The remote block inserts its own ACL rows; the cancel rolls them back.
SELECT dblink_send_query('t13', format($q$
    DO $d$
    DECLARE
        c utl_smtp.connection;
    BEGIN
        PERFORM t.allow_loopback();
        c := utl_smtp.open_connection(host => '127.0.0.1', port => %s);
        PERFORM utl_smtp.ehlo(c, 'fault=noop:stall t13-remote');
        PERFORM utl_smtp.noop(c);
    END $d$ $q$, t.port('plain')));
SELECT pg_sleep(0.3);
SELECT ok((SELECT dblink_is_busy('t13') = 1 AND a.wait_event_type = 'Extension'
             FROM remote r JOIN pg_stat_activity a USING (pid)),
          'the other session waits in the extension for the stalled reply');

-- Wait for the remote result by polling, so a cancel that does not work
-- fails the test instead of hanging it.
CREATE FUNCTION pg_temp.wait_idle(conn text, max_seconds numeric) RETURNS numeric
LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    WHILE dblink_is_busy(conn) = 1 AND clock_timestamp() - t0 < max_seconds * interval '1 s' LOOP
        PERFORM pg_sleep(0.01);
    END LOOP;
    RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;
CREATE TEMP TABLE cancel AS
SELECT pg_cancel_backend(pid) AS sent, pg_temp.wait_idle('t13', 5) AS seconds FROM remote;
SELECT ok((SELECT sent AND seconds < 1 FROM cancel), 'pg_cancel_backend ends the other session''s wait within 1 s');
SELECT is(CASE WHEN dblink_is_busy('t13') = 0
               THEN t.sqlstate_of($$ SELECT * FROM dblink_get_result('t13') AS x(r text) $$)
               ELSE 'still waiting' END,
          '57014', 'the other session''s statement fails with 57014 (query canceled)');
SELECT * FROM dblink_get_result('t13') AS x(r text);
SELECT is((SELECT state FROM dblink('t13', 'SELECT state FROM smtp_mail.connections()') AS x(state text)), 'broken',
          'the other session holds the cancelled connection as broken');
SELECT is((SELECT n FROM dblink('t13', 'SELECT 42') AS x(n integer)), 42,
          'the other session runs the next query on the same dblink connection');
SELECT dblink_disconnect('t13');

SELECT * FROM finish();
ROLLBACK;
