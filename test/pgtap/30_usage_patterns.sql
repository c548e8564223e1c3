-- The two usage patterns people port from PL/SQL, written as they are written
-- there, against the test server and against Postfix: implicit TLS with a
-- PKCS#12 wallet, and STARTTLS + AUTH with a legacy PKCS#12 wallet.
BEGIN;
SELECT plan(21);
SELECT t.allow_loopback();

-- What smtp_mail.connections() said while a pattern ran, by label.
CREATE TEMP TABLE seen (label text, handle integer, state text, tls_version text,
                        cipher text, peer_subject text);

-- Record this connection's row of smtp_mail.connections() under a label.
CREATE FUNCTION pg_temp.note(label text, c utl_smtp.connection) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO seen
    SELECT label, x.handle, x.state, x.tls_version, x.cipher, x.peer_subject
      FROM smtp_mail.connections() x WHERE x.handle = (c).private_tcp_con
$$;

-- Pattern 1, implicit TLS (port 465 style), as written in PL/SQL.
CREATE FUNCTION pg_temp.send_implicit(p_port integer, p_helo text, p_rcpt text, p_body text)
RETURNS utl_smtp.reply
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
    r utl_smtp.reply;
BEGIN
    c := utl_smtp.open_connection(host => 'localhost', port => p_port,
                                  wallet_path => 'file:' || t.dir('pki') || '/wallets/p12-modern',
                                  wallet_password => '123',
                                  secure_connection_before_smtp => true);
    PERFORM utl_smtp.ehlo(c, p_helo);
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, p_rcpt);
    r := utl_smtp.data(c, p_body);
    PERFORM utl_smtp.quit(c);
    RETURN r;
END $$;

-- Pattern 2, STARTTLS + AUTH (port 587 style), as written in PL/SQL.
CREATE FUNCTION pg_temp.send_starttls_auth(p_port integer, p_helo text, p_rcpt text, p_body text,
                                           label text)
RETURNS utl_smtp.reply
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
    r utl_smtp.reply;
BEGIN
    c := utl_smtp.open_connection(host => 'localhost', port => p_port, tx_timeout => 60,
                                  wallet_path => 'file:' || t.dir('pki') || '/wallets/p12-legacy',
                                  wallet_password => 'password',
                                  secure_connection_before_smtp => false);
    PERFORM utl_smtp.ehlo(c, p_helo);
    PERFORM pg_temp.note(label || ' before starttls', c);
    PERFORM utl_smtp.starttls(c);
    PERFORM utl_smtp.ehlo(c, p_helo);
    PERFORM utl_smtp.auth(c => c, username => 'user@example.com', password => 'secret',
                          schemes => 'LOGIN XOAUTH2');
    PERFORM pg_temp.note(label, c);
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, p_rcpt);
    r := utl_smtp.data(c, p_body);
    PERFORM utl_smtp.quit(c);
    RETURN r;
END $$;

-- A message Postfix relayed to the second test server; waits up to 20 s.
CREATE FUNCTION pg_temp.relayed(rcpt text) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    m bytea;
BEGIN
    FOR i IN 1..100 LOOP
        m := t.message(rcpt, 'relay_dir');
        IF m IS NOT NULL THEN
            RETURN convert_from(m, 'UTF8');
        END IF;
        PERFORM pg_sleep(0.2);
    END LOOP;
    RETURN NULL;
END $$;

-- Pattern 1 against the test server's implicit TLS port.
SELECT is((pg_temp.send_implicit(t.port('tls'), 'usage-implicit-1', 'usage-implicit-1@example.com',
                                 E'Subject: implicit\r\n\r\nover TLS from the first byte\r\n')).code,
          250, 'implicit TLS with a PKCS#12 wallet: the message is accepted');
SELECT is(t.message('usage-implicit-1@example.com'),
          convert_to(E'Subject: implicit\r\n\r\nover TLS from the first byte\r\n', 'UTF8'),
          'implicit TLS: the server stored the body byte for byte');
SELECT is(t.meta('usage-implicit-1@example.com')->>'tls', 'true',
          'implicit TLS: the server saw the message arrive over TLS');
SELECT is(t.meta('usage-implicit-1@example.com')->>'client_cert', 'smtp-client',
          'implicit TLS: the client certificate of ewallet.p12 was presented to the server');

-- Pattern 1 against Postfix's smtps (wrapper mode) port.
SELECT is((pg_temp.send_implicit(t.port('pf_smtps'), 'usage-implicit-pf', 'usage-implicit-pf@example.com',
                                 E'Subject: implicit pf\r\n\r\nvia Postfix smtps\r\n')).code,
          250, 'implicit TLS against Postfix smtps: the message is accepted');
SELECT matches(pg_temp.relayed('usage-implicit-pf@example.com'),
               E'with ESMTPS id .*\r\nSubject: implicit pf\r\n\r\nvia Postfix smtps\r\n$',
               'implicit TLS against Postfix: the message is relayed, received over ESMTP with TLS');

-- Pattern 2 against the test server's STARTTLS port.
SELECT is((pg_temp.send_starttls_auth(t.port('starttls'), 'my host name t30',
                                      'usage-starttls-1@example.com',
                                      E'Subject: starttls\r\n\r\nafter STARTTLS and AUTH\r\n',
                                      'smtpd')).code,
          250, 'STARTTLS + AUTH with a legacy PKCS#12 wallet: the message is accepted');
SELECT is(t.message('usage-starttls-1@example.com'),
          convert_to(E'Subject: starttls\r\n\r\nafter STARTTLS and AUTH\r\n', 'UTF8'),
          'STARTTLS + AUTH: the server stored the body byte for byte');
SELECT is(t.meta('usage-starttls-1@example.com')->>'tls', 'true',
          'STARTTLS + AUTH: the message went over TLS');
SELECT is(t.meta('usage-starttls-1@example.com')->>'auth', 'user@example.com',
          'STARTTLS + AUTH: the session was authenticated as the user');
SELECT is(t.meta('usage-starttls-1@example.com')->>'auth_mechanism', 'LOGIN',
          'STARTTLS + AUTH: schemes ''LOGIN XOAUTH2'' authenticated with LOGIN, the first listed');

-- Pattern 2 against Postfix's submission port (AUTH only after STARTTLS).
SELECT is((pg_temp.send_starttls_auth(t.port('pf_submission'), 'my host name',
                                      'usage-starttls-pf@example.com',
                                      E'Subject: starttls pf\r\n\r\nvia Postfix submission\r\n',
                                      'postfix')).code,
          250, 'STARTTLS + AUTH against Postfix submission: the message is accepted');
SELECT matches(pg_temp.relayed('usage-starttls-pf@example.com'),
               E'with ESMTPSA id .*\r\nSubject: starttls pf\r\n\r\nvia Postfix submission\r\n$',
               'STARTTLS + AUTH against Postfix: the message is relayed, received with TLS and AUTH (ESMTPSA)');

-- What smtp_mail.connections() showed while connected.
SELECT is((SELECT tls_version FROM seen WHERE label = 'smtpd before starttls'), NULL,
          'connections(): no TLS version before STARTTLS');
SELECT ok((SELECT tls_version IN ('TLSv1.3', 'TLSv1.2') FROM seen WHERE label = 'smtpd'),
          'connections(): the TLS version after STARTTLS on the test server');
SELECT ok((SELECT cipher <> '' FROM seen WHERE label = 'smtpd'),
          'connections(): the cipher after STARTTLS on the test server');
SELECT matches((SELECT peer_subject FROM seen WHERE label = 'smtpd'), '(^|,)CN=localhost(,|$)',
               'connections(): the peer certificate subject names CN=localhost');
SELECT ok((SELECT tls_version IN ('TLSv1.3', 'TLSv1.2') FROM seen WHERE label = 'postfix'),
          'connections(): the TLS version after STARTTLS on Postfix');
SELECT matches((SELECT peer_subject FROM seen WHERE label = 'postfix'), '(^|,)CN=localhost(,|$)',
               'connections(): the Postfix certificate subject names CN=localhost');
SELECT is((SELECT state FROM seen WHERE label = 'postfix'), 'open',
          'connections(): the connection is open while in use');
SELECT is((SELECT count(*) FROM smtp_mail.connections() x JOIN seen s USING (handle)), 0::bigint,
          'connections(): quit removed both connections');

SELECT * FROM finish();
ROLLBACK;
