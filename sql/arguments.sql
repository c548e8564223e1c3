--
-- Argument errors that need no server: bad hosts and ports, NULLs, closed
-- or forged connection records, and an ACL denial for an unreachable name.
-- Each call shows the SQLSTATE and the message (no file:line, no ports).
--
-- Run a statement; 'ok', or the SQLSTATE and message it raised.
CREATE FUNCTION pg_temp.err(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- Run a statement; the SQLSTATE, message, detail and hint it raised.
CREATE FUNCTION pg_temp.err_full(sql text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                            detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;

-- The Oracle constants.
SELECT utl_smtp.all_schemes();
SELECT utl_smtp.non_cleartext_password_schemes();

--
-- open_connection: host and port are checked before the ACL (an empty
-- list would otherwise answer 42501 first) and before any lookup.
--
SELECT pg_temp.err($$SELECT utl_smtp.open_connection(NULL)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection(NULL, 25)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('smtp.example.com', NULL)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection(host => NULL, port => NULL)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('smtp.example.com', 0)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('smtp.example.com', 65536)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('smtp.example.com', -1)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('smtp.example.com', 25, -1)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('smtp.example.com', tx_timeout => -5)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('')$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection(E'smtp.example.com\nRCPT TO:<x@example.com>')$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection(E'smtp.example.com\r')$$);

-- smtp_mail.server_certificates checks its arguments the same way.
SELECT pg_temp.err($$SELECT * FROM smtp_mail.server_certificates(NULL, 25)$$);
SELECT pg_temp.err($$SELECT * FROM smtp_mail.server_certificates('smtp.example.com', NULL)$$);
SELECT pg_temp.err($$SELECT * FROM smtp_mail.server_certificates('smtp.example.com', 0)$$);
SELECT pg_temp.err($$SELECT * FROM smtp_mail.server_certificates('smtp.example.com', 65536)$$);

--
-- The ACL: with no row, a well-formed request is denied (42501) before any
-- name lookup, for a plain role as for anyone; the hint shows the INSERT.
--
SET client_min_messages = warning;
DROP ROLE IF EXISTS regress_smtp_user;
DROP ROLE IF EXISTS regress_smtp_other;
RESET client_min_messages;
CREATE ROLE regress_smtp_user;
CREATE ROLE regress_smtp_other;
SET ROLE regress_smtp_user;
\x on
SELECT * FROM pg_temp.err_full($$SELECT utl_smtp.open_connection('smtp.example.com')$$);
SELECT * FROM pg_temp.err_full($$SELECT utl_smtp.open_connection('smtp.example.com', 587, 30, secure_host => 'mail.example.com')$$);
\x off
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('192.0.2.1', 465, secure_connection_before_smtp => true)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('2001:db8::25', 25)$$);
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('no-such-host.invalid', 25)$$);
-- argument errors still come first for a plain role
SELECT pg_temp.err($$SELECT utl_smtp.open_connection('smtp.example.com', 0)$$);
RESET ROLE;

-- A row for another role does not help.
INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('smtp.example.com', 'regress_smtp_other');
SET ROLE regress_smtp_user;
\x on
SELECT * FROM pg_temp.err_full($$SELECT utl_smtp.open_connection('smtp.example.com')$$);
\x off
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

-- host_pattern_valid: the CHECK on host_acl.host.
SELECT p, smtp_mail.host_pattern_valid(p) AS valid
  FROM unnest(ARRAY['*', 'smtp.example.com', '*.example.com', 'SMTP.Example.COM.', '127.0.0.1',
                    '10.0.0.0/8', '::1', '[::1]', '2001:db8::/64', '', 'a b', '*.', 'x/33',
                    '10.0.0.0/33', '::1/129', 'a.*.example.com']) AS p;
SELECT pg_temp.err($$INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('a b', 'x')$$);
SELECT pg_temp.err($$INSERT INTO smtp_mail.host_acl (host, lower_port, principal) VALUES ('x', 0, 'x')$$);
SELECT pg_temp.err($$INSERT INTO smtp_mail.host_acl (host, upper_port, principal) VALUES ('x', 25, 'x')$$);
SELECT pg_temp.err($$INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('x', NULL)$$);

--
-- Connection records: a NULL record, a forged one, one with NULL private
-- fields or an out-of-range slot are all invalid_operation (29277), for
-- every function that takes c, before any other argument is looked at.
--
CREATE TEMP TABLE calls (fn text, call text);
INSERT INTO calls VALUES
    ('helo', 'helo(%s, ''example.com'')'),
    ('ehlo', 'ehlo(%s, ''example.com'')'),
    ('starttls', 'starttls(%s)'),
    ('auth', 'auth(%s, ''user'', ''secret'', ''PLAIN'')'),
    ('mail', 'mail(%s, ''sender@example.com'')'),
    ('rcpt', 'rcpt(%s, ''rcpt@example.com'')'),
    ('data', 'data(%s, ''body'')'),
    ('open_data', 'open_data(%s)'),
    ('write_data', 'write_data(%s, ''text'')'),
    ('write_raw_data', 'write_raw_data(%s, ''\x41''::bytea)'),
    ('close_data', 'close_data(%s)'),
    ('rset', 'rset(%s)'),
    ('noop', 'noop(%s)'),
    ('quit', 'quit(%s)'),
    ('vrfy', 'vrfy(%s, ''rcpt@example.com'')'),
    ('help', 'help(%s)'),
    ('command', 'command(%s, ''NOOP'')'),
    ('command_replies', 'command_replies(%s, ''NOOP'')');

-- Every function of utl_smtp whose first argument is c is in the list.
SELECT p.proname AS missing_from_calls
  FROM pg_proc p
 WHERE p.pronamespace = 'utl_smtp'::regnamespace
   AND p.proargtypes[0] = 'utl_smtp.connection'::regtype
   AND p.proname <> 'close_connection'
   AND p.proname NOT IN (SELECT fn FROM calls);

SELECT fn, pg_temp.err('SELECT utl_smtp.' || format(call, 'NULL::utl_smtp.connection')) AS null_record
  FROM calls ORDER BY fn COLLATE "C";
SELECT fn, pg_temp.err('SELECT utl_smtp.' || format(call, $$ROW('smtp.example.com', 25, NULL, 0, 12345)::utl_smtp.connection$$)) AS forged_record
  FROM calls ORDER BY fn COLLATE "C";

-- The details say why.
\x on
SELECT * FROM pg_temp.err_full($$SELECT utl_smtp.noop(NULL)$$);
SELECT * FROM pg_temp.err_full($$SELECT utl_smtp.noop(ROW('smtp.example.com', 25, NULL, 0, 12345)::utl_smtp.connection)$$);
\x off
SELECT pg_temp.err($$SELECT utl_smtp.noop(ROW('smtp.example.com', 25, NULL, NULL, NULL)::utl_smtp.connection)$$);
SELECT pg_temp.err($$SELECT utl_smtp.noop(ROW(NULL, NULL, NULL, NULL, NULL)::utl_smtp.connection)$$);
SELECT pg_temp.err($$SELECT utl_smtp.noop(ROW('smtp.example.com', 25, NULL, -1, 0)::utl_smtp.connection)$$);
SELECT pg_temp.err($$SELECT utl_smtp.noop(ROW('smtp.example.com', 25, NULL, 2147483647, 0)::utl_smtp.connection)$$);
SELECT pg_temp.err($$SELECT utl_smtp.noop(ROW('smtp.example.com', 25, NULL, -2147483648, 0)::utl_smtp.connection)$$);

-- write_data and close_data without open_data (here: on no open connection).
SELECT pg_temp.err($$SELECT utl_smtp.write_data(ROW('smtp.example.com', 25, NULL, 0, 1)::utl_smtp.connection, 'x')$$);
SELECT pg_temp.err($$SELECT utl_smtp.write_raw_data(ROW('smtp.example.com', 25, NULL, 0, 1)::utl_smtp.connection, NULL)$$);
SELECT pg_temp.err($$SELECT utl_smtp.close_data(ROW('smtp.example.com', 25, NULL, 0, 1)::utl_smtp.connection)$$);

-- The record is checked before the other arguments.
SELECT pg_temp.err($$SELECT utl_smtp.helo(NULL, NULL)$$);
SELECT pg_temp.err($$SELECT utl_smtp.mail(NULL, E'a@example.com\r\nRCPT TO:<b@example.com>')$$);
SELECT pg_temp.err($$SELECT utl_smtp.command(NULL, '')$$);

-- close_connection never raises: NULL, forged and half-NULL records.
SELECT utl_smtp.close_connection(NULL);
SELECT utl_smtp.close_connection(ROW('smtp.example.com', 25, NULL, 0, 12345)::utl_smtp.connection);
SELECT utl_smtp.close_connection(ROW('smtp.example.com', 25, NULL, NULL, 12345)::utl_smtp.connection);
SELECT utl_smtp.close_connection(ROW(NULL, NULL, NULL, -7, NULL)::utl_smtp.connection);
SELECT utl_smtp.close_connection(ROW('smtp.example.com', 25, NULL, 2147483647, 0)::utl_smtp.connection);

-- Nothing was opened.
SELECT count(*) AS connections FROM smtp_mail.connections();

DROP ROLE regress_smtp_user;
DROP ROLE regress_smtp_other;
