-- AUTH: each mechanism, the choice of mechanism (Oracle's rule, strongest
-- when schemes is NULL), failures and their SQLSTATEs, refusing cleartext
-- passwords on unencrypted connections, and credentials kept out of errors
-- and the trace.
BEGIN;
SELECT plan(44);
SELECT t.allow_loopback();

-- Connections by label; the label is also the EHLO name.
CREATE TEMP TABLE conns (label text PRIMARY KEY, c utl_smtp.connection);

-- Open a connection (implicit TLS with the PEM wallet, or plain) and EHLO <label>.
CREATE FUNCTION pg_temp.open(label text, tls boolean DEFAULT true, port integer DEFAULT NULL,
                             ehlo boolean DEFAULT true)
RETURNS utl_smtp.connection
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    IF tls THEN
        c := utl_smtp.open_connection('localhost', COALESCE(port, t.port('tls')), 10,
                                      'file:' || t.dir('pki') || '/wallets/pem', NULL, true);
    ELSE
        c := utl_smtp.open_connection('localhost', COALESCE(port, t.port('plain')), 10);
    END IF;
    INSERT INTO conns VALUES (label, c);
    IF ehlo THEN
        PERFORM utl_smtp.ehlo(c, label);
    END IF;
    RETURN c;
END $$;

-- The connection opened under a label.
CREATE FUNCTION pg_temp.c(label text) RETURNS utl_smtp.connection
LANGUAGE sql STABLE AS $$ SELECT c FROM conns WHERE conns.label = $1 $$;

-- Send a message to <label>@example.com on that connection, QUIT, and
-- return what the server recorded about it.
CREATE FUNCTION pg_temp.deliver(label text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection := pg_temp.c(label);
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, label || '@example.com');
    PERFORM utl_smtp.data(c, E'Subject: ' || label || E'\r\n\r\nbody\r\n');
    PERFORM utl_smtp.quit(c);
    RETURN t.meta(label || '@example.com');
END $$;

-- Authenticate on a new connection and deliver; the server's record.
CREATE FUNCTION pg_temp.auth_and_send(label text, username text, password text, schemes text,
                                      tls boolean DEFAULT true)
RETURNS jsonb
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_temp.open(label, tls);
    PERFORM utl_smtp.auth(pg_temp.c(label), username, password, schemes);
    RETURN pg_temp.deliver(label);
END $$;

-- Run a statement; {"state": "ok"} or the error's SQLSTATE, message, detail, hint.
CREATE FUNCTION pg_temp.err(sql text) RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    st text; msg text; det text; hnt text;
BEGIN
    EXECUTE sql;
    RETURN jsonb_build_object('state', 'ok');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN jsonb_build_object('state', st, 'message', msg, 'detail', det, 'hint', hnt);
END $$;

-- True if none of the needles occurs in the error's message, detail or hint.
CREATE FUNCTION pg_temp.reveals_none(e jsonb, needles text[]) RETURNS boolean
LANGUAGE sql IMMUTABLE AS $$
    SELECT NOT EXISTS (SELECT 1 FROM unnest(needles) n
                        WHERE strpos(concat_ws(' ', e->>'message', e->>'detail', e->>'hint'), n) > 0)
$$;

-- The server log from now on is checked for credentials at the end.
CREATE TEMP TABLE log_start AS
    SELECT (pg_stat_file(t.dir('dir') || '/pg/postgres.log')).size AS offset;
SET smtp_mail.trace = on;

-- Each mechanism over TLS.
SELECT is((SELECT utl_smtp.auth(pg_temp.open('auth-reply'), 'user@example.com', 'secret', 'PLAIN')),
          ROW(235, '2.7.0 Authentication successful')::utl_smtp.reply,
          'auth returns the server''s 235 reply');
SELECT ok(pg_temp.auth_and_send('auth-plain', 'user@example.com', 'secret', 'PLAIN')
            @> '{"tls": true, "auth": "user@example.com", "auth_mechanism": "PLAIN"}',
          'AUTH PLAIN over TLS authenticates');
SELECT ok(pg_temp.auth_and_send('auth-login', 'user@example.com', 'secret', 'LOGIN')
            @> '{"tls": true, "auth": "user@example.com", "auth_mechanism": "LOGIN"}',
          'AUTH LOGIN over TLS authenticates');
SELECT ok(pg_temp.auth_and_send('auth-cram', 'user@example.com', 'secret', 'CRAM-MD5')
            @> '{"tls": true, "auth": "user@example.com", "auth_mechanism": "CRAM-MD5"}',
          'AUTH CRAM-MD5 over TLS authenticates');
SELECT ok(pg_temp.auth_and_send('auth-xoauth2', 'oauth@example.com', 'ya29.good-token', 'XOAUTH2')
            @> '{"tls": true, "auth": "oauth@example.com", "auth_mechanism": "XOAUTH2"}',
          'AUTH XOAUTH2 with a valid access token as the password authenticates');

-- Which mechanism is chosen.
SELECT is(pg_temp.auth_and_send('auth-null', 'user@example.com', 'secret', NULL)->>'auth_mechanism', 'CRAM-MD5',
          'schemes NULL picks the strongest mechanism the server offers: CRAM-MD5');
SELECT is(pg_temp.auth_and_send('auth-login-xoauth2', 'user@example.com', 'secret', 'LOGIN XOAUTH2')->>'auth_mechanism',
          'LOGIN', 'schemes ''LOGIN XOAUTH2'' picks LOGIN, the first listed that the server offers');
SELECT is(pg_temp.auth_and_send('auth-all-schemes', 'user@example.com', 'secret', utl_smtp.all_schemes())->>'auth_mechanism',
          'CRAM-MD5', 'schemes => utl_smtp.all_schemes() picks CRAM-MD5, its first');

-- Wrong credentials.
SELECT pg_temp.open('auth-wrong-plain');
CREATE TEMP TABLE wrong AS SELECT
    pg_temp.err($$SELECT utl_smtp.auth(pg_temp.c('auth-wrong-plain'), 'user@example.com', 'Hunter2-wrong', 'PLAIN')$$) AS plain;
SELECT is((SELECT plain->>'state' FROM wrong), '29279', 'a wrong password raises 29279');
SELECT matches((SELECT plain->>'message' FROM wrong), '^SMTP permanent error: 535 ',
               'the message starts with the server''s 535 reply');
SELECT ok((SELECT pg_temp.reveals_none(plain, ARRAY['Hunter2-wrong',
                                                    encode('\x00'::bytea || convert_to('user@example.com', 'UTF8') || '\x00'::bytea || convert_to('Hunter2-wrong', 'UTF8'), 'base64')])
             FROM wrong),
          'the error of a failed AUTH PLAIN shows neither the password nor its base64');
SELECT is((utl_smtp.auth(pg_temp.c('auth-wrong-plain'), 'user@example.com', 'secret', 'PLAIN')).code, 235,
          'after a 535 the connection stays open and a retry with the right password succeeds');
SELECT utl_smtp.quit(pg_temp.c('auth-wrong-plain'));
SELECT pg_temp.open('auth-wrong-login');
SELECT ok(pg_temp.reveals_none(
              pg_temp.err($$SELECT utl_smtp.auth(pg_temp.c('auth-wrong-login'), 'user@example.com', 'Hunter2-wrong', 'LOGIN')$$),
              ARRAY['Hunter2-wrong', encode(convert_to('Hunter2-wrong', 'UTF8'), 'base64')]),
          'the error of a failed AUTH LOGIN shows neither the password nor its base64');
SELECT pg_temp.open('auth-wrong-cram');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.auth(pg_temp.c('auth-wrong-cram'), 'user@example.com', 'Hunter2-wrong', 'CRAM-MD5')$$),
          '29279', 'a wrong password with CRAM-MD5 raises 29279');

-- XOAUTH2 with a bad token: 334 with a JSON error, an empty line, then 535.
SELECT pg_temp.open('auth-xoauth2-bad');
CREATE TEMP TABLE badtoken AS SELECT
    pg_temp.err($$SELECT utl_smtp.auth(pg_temp.c('auth-xoauth2-bad'), 'oauth@example.com', 'ya29.bad-token', 'XOAUTH2')$$) AS e;
SELECT is((SELECT e->>'state' FROM badtoken), '29279', 'XOAUTH2 with a bad token raises 29279');
SELECT matches((SELECT e->>'message' FROM badtoken), '^SMTP permanent error: 535 ',
               'the error is the final 535, not the 334 JSON challenge');
SELECT utl_smtp.quit(pg_temp.c('auth-xoauth2-bad'));
SELECT matches(convert_from(t.wire('auth-xoauth2-bad'), 'UTF8'), E'\r\nAUTH XOAUTH2 [A-Za-z0-9+/=]+\r\n\r\nQUIT\r\n',
               'the JSON challenge was answered with an empty line');

-- Schemes that cannot be used.
SELECT pg_temp.open('auth-ntlm');
CREATE TEMP TABLE ntlm AS SELECT
    pg_temp.err($$SELECT utl_smtp.auth(pg_temp.c('auth-ntlm'), 'user@example.com', 'secret', 'NTLM')$$) AS e;
SELECT is((SELECT e->>'state' FROM ntlm), '29249', 'a scheme that is not implemented raises 29249');
SELECT matches((SELECT e->>'message' FROM ntlm), 'NTLM', 'the message names the scheme');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.auth(pg_temp.c('auth-ntlm'), 'user@example.com', 'secret', 'PLAIN NTLM')$$),
          '29249', 'an unknown scheme anywhere in the list raises 29249');
SELECT pg_temp.open('auth-pf-xoauth2', true, t.port('pf_smtps'));
CREATE TEMP TABLE pfx AS SELECT
    pg_temp.err($$SELECT utl_smtp.auth(pg_temp.c('auth-pf-xoauth2'), 'user@example.com', 'secret', 'XOAUTH2')$$) AS e;
SELECT is((SELECT e->>'state' FROM pfx), '29250',
          'XOAUTH2 against Postfix, which does not offer it, raises 29250');
SELECT matches((SELECT e->>'detail' FROM pfx), 'PLAIN LOGIN CRAM-MD5',
               'the detail lists what the server offers');
SELECT is((utl_smtp.auth(pg_temp.c('auth-pf-xoauth2'), 'user@example.com', 'secret')).code, 235,
          'schemes NULL against Postfix smtps authenticates');
SELECT utl_smtp.quit(pg_temp.c('auth-pf-xoauth2'));

-- No cleartext password on an unencrypted connection.
SELECT pg_temp.open('auth-cleartext', false);
CREATE TEMP TABLE cleartext AS SELECT
    pg_temp.err($$SELECT utl_smtp.auth(pg_temp.c('auth-cleartext'), 'user@example.com', 'secret', 'PLAIN')$$) AS e;
SELECT is((SELECT e->>'state' FROM cleartext), '29250',
          'AUTH PLAIN on an unencrypted connection is refused with 29250');
SELECT matches((SELECT e->>'hint' FROM cleartext), 'starttls', 'the hint says to use utl_smtp.starttls');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.auth(pg_temp.c('auth-cleartext'), 'user@example.com', 'secret', 'LOGIN')$$),
          '29250', 'AUTH LOGIN on an unencrypted connection is refused with 29250');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.auth(pg_temp.c('auth-cleartext'), 'oauth@example.com', 'ya29.good-token', 'XOAUTH2')$$),
          '29250', 'AUTH XOAUTH2 on an unencrypted connection is refused with 29250');
SELECT utl_smtp.quit(pg_temp.c('auth-cleartext'));
SELECT is(convert_from(t.wire('auth-cleartext'), 'UTF8'), E'EHLO auth-cleartext\r\nQUIT\r\n',
          'the refused AUTH sent nothing to the server');
SELECT ok(pg_temp.auth_and_send('auth-plain-cram', 'user@example.com', 'secret', 'CRAM-MD5', false)
            @> '{"tls": false, "auth": "user@example.com", "auth_mechanism": "CRAM-MD5"}',
          'CRAM-MD5 is allowed on an unencrypted connection (the password is not sent)');
SELECT is(pg_temp.auth_and_send('auth-plain-skip', 'user@example.com', 'secret', 'PLAIN CRAM-MD5', false)->>'auth_mechanism',
          'CRAM-MD5', 'on an unencrypted connection the cleartext schemes of the list are skipped');
SET smtp_mail.allow_plaintext_auth = on;
SELECT ok(pg_temp.auth_and_send('auth-plain-allowed', 'user@example.com', 'secret', 'PLAIN', false)
            @> '{"tls": false, "auth": "user@example.com", "auth_mechanism": "PLAIN"}',
          'with smtp_mail.allow_plaintext_auth on, AUTH PLAIN works without TLS');
RESET smtp_mail.allow_plaintext_auth;

-- Before EHLO; AUTH through command(); arguments.
SELECT pg_temp.open('auth-before-ehlo', true, NULL, false);
SELECT is(t.sqlstate_of($$SELECT utl_smtp.auth(pg_temp.c('auth-before-ehlo'), 'user@example.com', 'secret', 'LOGIN CRAM-MD5')$$),
          '29279', 'AUTH before EHLO goes to the server, which refuses it (503)');
SELECT utl_smtp.ehlo(pg_temp.c('auth-before-ehlo'), 'auth-before-ehlo');
SELECT utl_smtp.quit(pg_temp.c('auth-before-ehlo'));
SELECT is(convert_from(t.wire('auth-before-ehlo'), 'UTF8'), E'AUTH LOGIN\r\nEHLO auth-before-ehlo\r\nQUIT\r\n',
          'before EHLO the first listed scheme is used (LOGIN)');
SELECT pg_temp.open('auth-command');
SELECT is((utl_smtp.command(pg_temp.c('auth-command'), 'AUTH', 'LOGIN')).code, 334,
          'command(c, ''AUTH'', ''LOGIN'') returns the 334 challenge without raising');
SELECT utl_smtp.close_connection(pg_temp.c('auth-command'));
SELECT pg_temp.open('auth-null-args');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.auth(pg_temp.c('auth-null-args'), NULL, 'secret')$$), '22023',
          'a NULL username raises 22023');
SELECT utl_smtp.quit(pg_temp.c('auth-null-args'));

-- The trace: the dialogue is logged, credentials are not.
RESET smtp_mail.trace;
CREATE TEMP TABLE server_log AS
    SELECT pg_read_file(t.dir('dir') || '/pg/postgres.log', (SELECT "offset" FROM log_start),
                        (pg_stat_file(t.dir('dir') || '/pg/postgres.log')).size - (SELECT "offset" FROM log_start)) AS log;
CREATE TEMP TABLE trace AS
    SELECT string_agg(l, E'\n') AS log
      FROM server_log, regexp_split_to_table(log, E'\n') l WHERE l ~ 'LOG:  smtp_mail ';
SELECT matches((SELECT log FROM trace), 'smtp_mail localhost:[0-9]+ S: 235 2\.7\.0 Authentication successful',
               'smtp_mail.trace logs the dialogue');
SELECT matches((SELECT log FROM trace), 'C: AUTH PLAIN <redacted>',
               'the trace shows the AUTH command with its payload redacted');
SELECT ok((SELECT strpos(log, 'secret') = 0 AND strpos(log, 'Hunter2') = 0 FROM trace),
          'the trace lines never contain a password');
SELECT ok((SELECT strpos(log, encode(convert_to('secret', 'UTF8'), 'base64')) = 0
              AND strpos(log, encode('\x00'::bytea || convert_to('user@example.com', 'UTF8') || '\x00'::bytea || convert_to('secret', 'UTF8'), 'base64')) = 0 FROM trace),
          'the trace lines never contain a password in base64 (LOGIN, PLAIN)');
SELECT ok((SELECT strpos(log, 'good-token') = 0
              AND strpos(log, replace(encode(convert_to(E'user=oauth@example.com\001auth=Bearer ya29.good-token\001\001', 'UTF8'), 'base64'), E'\n', '')) = 0
             FROM trace),
          'the trace lines never contain an OAuth token, plain or in base64');
SELECT ok((SELECT strpos(log, 'Hunter2') = 0 AND strpos(log, 'good-token') = 0 FROM server_log),
          'tracing writes no password to the server log, not even in the context of the calling statement');

-- The pre-11g PL/SQL idiom: AUTH LOGIN by hand through utl_smtp.command.
CREATE TEMP TABLE log_start2 AS
    SELECT (pg_stat_file(t.dir('dir') || '/pg/postgres.log')).size AS offset;
SET smtp_mail.trace = on;
SELECT pg_temp.open('auth-by-hand');
SELECT utl_smtp.command(pg_temp.c('auth-by-hand'), 'AUTH', 'LOGIN');
SELECT utl_smtp.command(pg_temp.c('auth-by-hand'), encode(convert_to('user@example.com', 'UTF8'), 'base64'));
SELECT is((utl_smtp.command(pg_temp.c('auth-by-hand'), encode(convert_to('secret', 'UTF8'), 'base64'))).code, 235,
          'AUTH LOGIN by hand through utl_smtp.command works');
SELECT utl_smtp.quit(pg_temp.c('auth-by-hand'));
RESET smtp_mail.trace;
SELECT ok(strpos(pg_read_file(t.dir('dir') || '/pg/postgres.log', (SELECT "offset" FROM log_start2),
                              (pg_stat_file(t.dir('dir') || '/pg/postgres.log')).size - (SELECT "offset" FROM log_start2)),
                 encode(convert_to('secret', 'UTF8'), 'base64')) = 0,
          'the trace redacts a password sent by hand in answer to a 334 challenge');
SELECT pg_temp.open('auth-by-hand-wrong');
SELECT utl_smtp.command(pg_temp.c('auth-by-hand-wrong'), 'AUTH', 'LOGIN');
SELECT utl_smtp.command(pg_temp.c('auth-by-hand-wrong'), encode(convert_to('user@example.com', 'UTF8'), 'base64'));
SELECT ok(pg_temp.reveals_none(
              pg_temp.err(format('SELECT utl_smtp.command(pg_temp.c(%L), %L)', 'auth-by-hand-wrong',
                                 encode(convert_to('Hunter3-wrong', 'UTF8'), 'base64'))),
              ARRAY[encode(convert_to('Hunter3-wrong', 'UTF8'), 'base64')]),
          'the 535 error to a password sent by hand does not repeat the base64 password');

SELECT utl_smtp.close_connection(c) FROM conns;
SELECT * FROM finish();
ROLLBACK;
