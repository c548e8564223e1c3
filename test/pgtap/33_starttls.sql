-- STARTTLS: bytes injected before the handshake abort the connection; the
-- capabilities learned in the clear are forgotten; out-of-sequence and
-- refused STARTTLS; secure_host and the default wallet.
BEGIN;
SELECT plan(26);
SELECT t.allow_loopback();

-- The test PKI's wallet directory of that name.
CREATE FUNCTION pg_temp.w(name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT 'file:' || t.dir('pki') || '/wallets/' || name $$;

-- Connections by label, opened in plain text to a port and greeted with EHLO <label>.
CREATE TEMP TABLE conns (label text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.open(label text, port integer, wallet text DEFAULT NULL)
RETURNS utl_smtp.connection
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    c := utl_smtp.open_connection('localhost', port, 10, wallet);
    INSERT INTO conns VALUES (label, c);
    PERFORM utl_smtp.ehlo(c, label);
    RETURN c;
END $$;

-- The connection opened under a label.
CREATE FUNCTION pg_temp.c(label text) RETURNS utl_smtp.connection
LANGUAGE sql STABLE AS $$ SELECT c FROM conns WHERE conns.label = $1 $$;

-- Run a statement; return its SQLSTATE and message as "SQLSTATE: message", or 'ok'.
CREATE FUNCTION pg_temp.outcome(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;

-- The line of Postfix's log that contains the given text (waits up to 10 s).
CREATE FUNCTION pg_temp.maillog_line(needle text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    line text;
BEGIN
    FOR i IN 1..50 LOOP
        SELECT l INTO line
          FROM regexp_split_to_table(pg_read_file(t.dir('dir') || '/postfix/maillog'), E'\n') l
         WHERE strpos(l, needle) > 0;
        IF line IS NOT NULL THEN
            RETURN line;
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;
    RETURN NULL;
END $$;

-- Injection: the server's 220 to STARTTLS is followed by "250 injected" in
-- the same segment.
SELECT pg_temp.open('starttls-inject-1', t.port('inject'), pg_temp.w('pem'));
CREATE TEMP TABLE inject AS
    SELECT pg_temp.outcome($$SELECT utl_smtp.starttls(pg_temp.c('starttls-inject-1'))$$) AS o;
SELECT is((SELECT left(o, 5) FROM inject), '29019',
          'bytes after the STARTTLS reply abort STARTTLS with 29019');
SELECT matches((SELECT o FROM inject), 'sent [0-9]+ bytes after its STARTTLS reply',
               'the message says bytes were sent after the STARTTLS reply');
SELECT is((SELECT broken_reason FROM smtp_mail.connections()
            WHERE handle = (pg_temp.c('starttls-inject-1')).private_tcp_con),
          'plaintext bytes injected after the STARTTLS reply',
          'connections() shows the connection broken, with the reason');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.noop(pg_temp.c('starttls-inject-1'))$$), '29277',
          'the connection is closed: the next call raises 29277');
SELECT is(t.wire('starttls-inject-1'), convert_to(E'EHLO starttls-inject-1\r\nSTARTTLS\r\n', 'UTF8'),
          'nothing was sent after STARTTLS (no handshake, no command)');
SELECT is((SELECT left(pg_temp.outcome(format(
              $$SELECT utl_smtp.starttls(pg_temp.open(%L, t.port('inject'), pg_temp.w('pem')))$$,
              'starttls-inject-2')), 5)),
          '29019', 'the injection is caught on every attempt');

-- Capabilities learned before TLS are forgotten.  The test server requires
-- EHLO again after STARTTLS (503), so AUTH without it fails at the server;
-- what matters is which mechanism the client chose.
SELECT pg_temp.open('starttls-forget-1', t.port('starttls'), pg_temp.w('pem'));
SELECT is((utl_smtp.starttls(pg_temp.c('starttls-forget-1'))).code, 220,
          'starttls returns the server''s 220');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.auth(pg_temp.c('starttls-forget-1'), 'user@example.com', 'secret')$$),
          '29279', 'AUTH right after STARTTLS is refused by a server that wants EHLO again (503)');
SELECT matches(convert_from(t.wire('starttls-forget-1'), 'UTF8'), E'STARTTLS\r\nAUTH CRAM-MD5\r\n',
               'with the capabilities forgotten, schemes NULL falls back to Oracle''s rule: CRAM-MD5, the first of all_schemes');
SELECT is((utl_smtp.ehlo(pg_temp.c('starttls-forget-1'), 'starttls-forget-1'))[1].code, 250,
          'EHLO after STARTTLS is answered');
SELECT is((utl_smtp.auth(pg_temp.c('starttls-forget-1'), 'user@example.com', 'secret', 'PLAIN')).code, 235,
          'after the second EHLO, AUTH PLAIN succeeds over TLS');
SELECT utl_smtp.mail(pg_temp.c('starttls-forget-1'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('starttls-forget-1'), 'starttls-forget-1@example.com');
SELECT utl_smtp.data(pg_temp.c('starttls-forget-1'), E'Subject: forget\r\n\r\nx\r\n');
SELECT utl_smtp.quit(pg_temp.c('starttls-forget-1'));
SELECT ok(t.meta('starttls-forget-1@example.com') @> '{"tls": true, "auth": "user@example.com", "auth_mechanism": "PLAIN"}',
          'the message went over TLS, authenticated with PLAIN');

-- Postfix offers AUTH only after STARTTLS.
SELECT pg_temp.open('starttls-forget-pf', t.port('pf_submission'), pg_temp.w('pem'));
SELECT is(left(pg_temp.outcome($$SELECT utl_smtp.auth(pg_temp.c('starttls-forget-pf'), 'user@example.com', 'secret')$$), 5),
          '29250', 'before STARTTLS Postfix offers no AUTH: auth raises 29250');
SELECT utl_smtp.starttls(pg_temp.c('starttls-forget-pf'));
SELECT is((utl_smtp.auth(pg_temp.c('starttls-forget-pf'), 'user@example.com', 'secret')).code, 235,
          'after STARTTLS the pre-TLS "no AUTH" is forgotten: AUTH goes ahead and Postfix accepts it');
SELECT utl_smtp.mail(pg_temp.c('starttls-forget-pf'), 'sender@example.com');
SELECT utl_smtp.rcpt(pg_temp.c('starttls-forget-pf'), 'starttls-forget-pf@example.com');
CREATE TEMP TABLE pf AS
    SELECT substring((utl_smtp.data(pg_temp.c('starttls-forget-pf'), E'Subject: forget pf\r\n\r\nx\r\n')).text
                     FROM 'queued as ([0-9A-F]+)') AS queue_id;
SELECT utl_smtp.quit(pg_temp.c('starttls-forget-pf'));
SELECT matches(pg_temp.maillog_line((SELECT queue_id FROM pf) || ': client='), 'sasl_method=CRAM-MD5,',
               'with schemes NULL and no EHLO since STARTTLS, Oracle''s rule chose CRAM-MD5 (Postfix log)');

-- Out of sequence and refused.
SELECT pg_temp.open('starttls-twice', t.port('starttls'), pg_temp.w('pem'));
SELECT utl_smtp.starttls(pg_temp.c('starttls-twice'));
SELECT is(t.sqlstate_of($$SELECT utl_smtp.starttls(pg_temp.c('starttls-twice'))$$), '29277',
          'STARTTLS on a connection already in TLS raises 29277');
SELECT is((utl_smtp.noop(pg_temp.c('starttls-twice'))).code, 250,
          'the connection stays usable after the refused second STARTTLS');
SELECT utl_smtp.quit(pg_temp.c('starttls-twice'));

SELECT is(t.sqlstate_of($$SELECT utl_smtp.starttls(utl_smtp.open_connection('localhost', t.port('tls'), 10,
                                                     'file:' || t.dir('pki') || '/wallets/pem', NULL, true))$$),
          '29277', 'STARTTLS on an implicit TLS connection raises 29277');

SELECT pg_temp.open('fault=starttls:454', t.port('starttls'), pg_temp.w('pem'));
SELECT is(t.sqlstate_of($$SELECT utl_smtp.starttls(pg_temp.c('fault=starttls:454'))$$), '29278',
          'a 454 reply to STARTTLS raises 29278');
SELECT is((utl_smtp.noop(pg_temp.c('fault=starttls:454'))).code, 250,
          'after the refused STARTTLS the connection stays open in plain text');
SELECT utl_smtp.quit(pg_temp.c('fault=starttls:454'));

-- secure_host and the default wallet.
SELECT pg_temp.open('starttls-secure-host', t.port('starttls'), pg_temp.w('pem'));
SELECT matches(pg_temp.outcome($$SELECT utl_smtp.starttls(pg_temp.c('starttls-secure-host'), 'wrong.example.com')$$),
               '^29024: .*hostname mismatch',
               'starttls(c, secure_host) verifies the certificate against that name');
SELECT pg_temp.open('starttls-default-wallet', t.port('starttls'));
SELECT is(left(pg_temp.outcome($$SELECT utl_smtp.starttls(pg_temp.c('starttls-default-wallet'))$$), 5), '29024',
          'a connection opened without a wallet verifies STARTTLS against the default (system) wallet');
SELECT set_config('smtp_mail.default_wallet', pg_temp.w('pem'), true);
SELECT pg_temp.open('starttls-default-wallet-2', t.port('starttls'));
SELECT is((utl_smtp.starttls(pg_temp.c('starttls-default-wallet-2'))).code, 220,
          'STARTTLS uses smtp_mail.default_wallet when the connection was opened without one');
SELECT utl_smtp.quit(pg_temp.c('starttls-default-wallet-2'));

-- A wallet that cannot be opened must not leave a connection half-way: the
-- server has accepted STARTTLS and waits for a handshake that never comes.
SELECT pg_temp.open('starttls-wallet-error', t.port('starttls'));
SELECT set_config('smtp_mail.default_wallet', pg_temp.w('garbage'), true);
SELECT is(left(pg_temp.outcome($$SELECT utl_smtp.starttls(pg_temp.c('starttls-wallet-error'))$$), 5), '29759',
          'STARTTLS with a default wallet that cannot be opened raises 29759');
SELECT set_config('smtp_mail.default_wallet', 'system:', true);
SELECT ok((SELECT state FROM smtp_mail.connections() WHERE handle = (pg_temp.c('starttls-wallet-error')).private_tcp_con) = 'broken'
          OR strpos(convert_from(t.wire('starttls-wallet-error'), 'UTF8'), 'STARTTLS') = 0,
          'the connection is not left open in plain text after the server accepted STARTTLS');
SELECT ok(left(pg_temp.outcome($$SELECT utl_smtp.noop(pg_temp.c('starttls-wallet-error'))$$), 5) IN ('ok', '29277'),
          'after that wallet error the connection is either untouched (NOOP works) or closed (29277)');
SELECT utl_smtp.close_connection(pg_temp.c('starttls-wallet-error'));

SELECT utl_smtp.close_connection(c) FROM conns;
SELECT * FROM finish();
ROLLBACK;
