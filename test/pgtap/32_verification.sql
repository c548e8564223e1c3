-- Server certificate verification: always on, with the reason and the
-- certificate in the error; names and IP SANs; pinning; the minimum TLS
-- version; and smtp_mail.server_certificates() for building a wallet.
BEGIN;
SELECT plan(41);
SELECT t.allow_loopback();

-- The test PKI's wallet directory of that name.
CREATE FUNCTION pg_temp.w(name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT 'file:' || t.dir('pki') || '/wallets/' || name $$;

-- Open implicit TLS, NOOP, QUIT.  Returns {"state": "ok", "tls_version": ...}
-- or the error's SQLSTATE, message, detail and hint.
CREATE FUNCTION pg_temp.tls(port integer, wallet text, host text DEFAULT 'localhost',
                            secure_host text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
    v text;
    st text; msg text; det text; hnt text;
BEGIN
    c := utl_smtp.open_connection(host, port, 10, wallet, NULL, true, secure_host);
    SELECT x.tls_version INTO v FROM smtp_mail.connections() x WHERE x.handle = c.private_tcp_con;
    PERFORM utl_smtp.noop(c);
    PERFORM utl_smtp.quit(c);
    RETURN jsonb_build_object('state', 'ok', 'tls_version', v);
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN jsonb_build_object('state', st, 'message', msg, 'detail', det, 'hint', hnt);
END $$;

-- Plain connection, EHLO, STARTTLS; the connection is kept in table conns
-- under the label.  Returns {"state": "ok"} or the error as above.
CREATE TEMP TABLE conns (label text PRIMARY KEY, c utl_smtp.connection);
CREATE FUNCTION pg_temp.starttls(label text, port integer, wallet text)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
    st text; msg text; det text; hnt text;
BEGIN
    c := utl_smtp.open_connection('localhost', port, 10, wallet);
    INSERT INTO conns VALUES (label, c);
    PERFORM utl_smtp.ehlo(c, label);
    PERFORM utl_smtp.starttls(c);
    RETURN jsonb_build_object('state', 'ok');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    INSERT INTO conns VALUES (label, c);
    RETURN jsonb_build_object('state', st, 'message', msg, 'detail', det, 'hint', hnt);
END $$;

CREATE TEMP TABLE res (label text PRIMARY KEY, r jsonb);
INSERT INTO res VALUES
    ('expired', pg_temp.tls(t.port('tls_expired'), pg_temp.w('pem'))),
    ('wrongname', pg_temp.tls(t.port('tls_wrongname'), pg_temp.w('pem'))),
    ('selfsigned', pg_temp.tls(t.port('tls_selfsigned'), pg_temp.w('pem'))),
    ('implicit-on-starttls', pg_temp.tls(t.port('starttls'), pg_temp.w('pem')));

-- Expired.
SELECT is((SELECT r->>'state' FROM res WHERE label = 'expired'), '29024',
          'an expired server certificate is refused with 29024');
SELECT matches((SELECT r->>'message' FROM res WHERE label = 'expired'), 'certificate has expired',
               'the message gives OpenSSL''s reason: certificate has expired');
SELECT matches((SELECT r->>'detail' FROM res WHERE label = 'expired'), 'depth 0 .*CN=localhost',
               'the detail names the depth and subject of the certificate that failed');
SELECT ok((SELECT strpos(r->>'detail', t.dir('pki') || '/wallets/pem') > 0 FROM res WHERE label = 'expired'),
          'the detail names the wallet');
SELECT matches((SELECT r->>'hint' FROM res WHERE label = 'expired'), 'smtp_mail\.server_certificates',
               'the hint points at smtp_mail.server_certificates');

-- Names.
SELECT is((SELECT r->>'state' FROM res WHERE label = 'wrongname'), '29024',
          'a certificate for another name is refused with 29024');
SELECT matches((SELECT r->>'message' FROM res WHERE label = 'wrongname'), 'hostname mismatch',
               'the message says hostname mismatch');
SELECT is(pg_temp.tls(t.port('tls_wrongname'), pg_temp.w('pem'), 'localhost', 'wrong.example.com')->>'state', 'ok',
          'secure_host names the certificate''s name: the wrong-name server then verifies');
SELECT is(pg_temp.tls(t.port('tls'), pg_temp.w('pem'), 'localhost', 'wrong.example.com')->>'state', '29024',
          'secure_host is checked even when host would have matched');
SELECT is(pg_temp.tls(t.port('tls'), pg_temp.w('pem'), '127.0.0.1')->>'state', 'ok',
          'connecting to 127.0.0.1 verifies the certificate''s IP address SAN');
SELECT is(pg_temp.tls(t.port('tls_wrongname'), pg_temp.w('pem'), '127.0.0.1')->>'state', '29024',
          'a certificate without that IP address SAN is refused for 127.0.0.1');

-- Self-signed and unrelated anchors.
SELECT is((SELECT r->>'state' FROM res WHERE label = 'selfsigned'), '29024',
          'a self-signed certificate is refused without pinning');
SELECT is(pg_temp.tls(t.port('tls_selfsigned'), pg_temp.w('pin-selfsigned'))->>'state', 'ok',
          'a wallet holding the self-signed certificate pins it');
SELECT is(pg_temp.tls(t.port('tls'), pg_temp.w('pin-selfsigned'))->>'state', '29024',
          'a pinned self-signed certificate does not make other servers trusted');
SELECT is(pg_temp.tls(t.port('tls'), pg_temp.w('other'))->>'state', '29024',
          'a wallet with an unrelated CA does not verify the server');

-- Implicit TLS against a STARTTLS port.
SELECT is((SELECT r->>'state' FROM res WHERE label = 'implicit-on-starttls'), '29019',
          'implicit TLS against a port that expects STARTTLS fails the handshake with 29019');
SELECT matches((SELECT r->>'hint' FROM res WHERE label = 'implicit-on-starttls'), 'STARTTLS',
               'the hint explains STARTTLS versus implicit TLS');

-- STARTTLS to a server with an expired certificate.
SELECT is(pg_temp.starttls('verify-starttls-expired', t.port('starttls_expired'), pg_temp.w('pem'))->>'state',
          '29024', 'STARTTLS to a server with an expired certificate raises 29024');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.noop(c) FROM conns WHERE label = 'verify-starttls-expired'$$),
          '29277', 'after the failed STARTTLS handshake the connection is closed (29277)');
SELECT is(pg_temp.starttls('verify-starttls-good', t.port('starttls'), pg_temp.w('pem'))->>'state', 'ok',
          'STARTTLS to the good server verifies');
SELECT is((SELECT (utl_smtp.quit(c)).code FROM conns WHERE label = 'verify-starttls-good'), 221,
          'and the connection works over TLS');

-- After all these failures the session still works.
SELECT is((SELECT count(*) FROM smtp_mail.connections() WHERE state <> 'broken'), 0::bigint,
          'failed opens leave no connection behind');
SELECT utl_smtp.close_connection(c) FROM conns;
SELECT is((SELECT (utl_smtp.quit(t.open_plain('verify-after-failures'))).code), 221,
          'the backend still talks SMTP after the verification failures');

-- Minimum TLS version.
SELECT is(current_setting('smtp_mail.tls_min_version'), 'TLSv1.2',
          'smtp_mail.tls_min_version defaults to TLSv1.2');
SELECT is(t.sqlstate_of($$SET smtp_mail.tls_min_version = 'TLSv1.1'$$), '22023',
          'smtp_mail.tls_min_version cannot be set below TLSv1.2');
SET smtp_mail.tls_min_version = 'TLSv1.3';
SELECT is(pg_temp.tls(t.port('tls'), pg_temp.w('pem')), '{"state": "ok", "tls_version": "TLSv1.3"}'::jsonb,
          'with tls_min_version TLSv1.3 the connection uses TLSv1.3');
RESET smtp_mail.tls_min_version;

-- smtp_mail.server_certificates().
CREATE TEMP TABLE chain AS SELECT * FROM smtp_mail.server_certificates('localhost', t.port('tls'), false);
CREATE TEMP TABLE chain_pem AS
    SELECT * FROM smtp_mail.server_certificates('localhost', t.port('tls'), false, wallet_path => pg_temp.w('pem'));
SELECT is((SELECT array_agg(depth ORDER BY depth) FROM chain), ARRAY[0, 1],
          'server_certificates returns the leaf (depth 0) and the intermediate (depth 1)');
SELECT is((SELECT array_agg(subject ORDER BY depth) FROM chain),
          ARRAY['CN=localhost,O=smtp_mail test', 'CN=smtp_mail Test Intermediate CA,O=smtp_mail test'],
          'server_certificates shows each certificate''s subject');
SELECT is((SELECT array_agg(DISTINCT trusted) FROM chain), ARRAY[false],
          'with the default system wallet the chain is not trusted');
SELECT is((SELECT array_agg(DISTINCT trusted) FROM chain_pem), ARRAY[true],
          'with the wallet holding the root CA the chain is trusted');
SELECT is((SELECT count(*) FROM chain WHERE pem LIKE '-----BEGIN CERTIFICATE-----%'), 2::bigint,
          'each certificate is given in PEM');
SELECT is((SELECT pem FROM chain WHERE depth = 0), pg_read_file(t.dir('pki') || '/server.crt'),
          'the PEM is the certificate the server presented, byte for byte');
SELECT is((SELECT sha256_fingerprint FROM chain WHERE depth = 0),
          (SELECT sha256_fingerprint FROM smtp_mail.wallet_certificates(pg_temp.w('pin-leaf'))),
          'the fingerprint matches the same certificate in a wallet');
SELECT is((SELECT array_agg(subject ORDER BY depth)
             FROM smtp_mail.server_certificates('localhost', t.port('starttls'), true)),
          ARRAY['CN=localhost,O=smtp_mail test', 'CN=smtp_mail Test Intermediate CA,O=smtp_mail test'],
          'server_certificates fetches the chain over STARTTLS');
SELECT is((SELECT array_agg(DISTINCT verify_result)
             FROM smtp_mail.server_certificates('localhost', t.port('tls_expired'), false,
                                                wallet_path => pg_temp.w('pem'))),
          ARRAY['certificate has expired'],
          'server_certificates reports an expired chain instead of failing');
SELECT is((SELECT array_agg(DISTINCT verify_result)
             FROM smtp_mail.server_certificates('localhost', t.port('tls_wrongname'), false,
                                                wallet_path => pg_temp.w('pem'))),
          ARRAY['hostname mismatch'],
          'server_certificates checks the name too: a wrong-name chain is reported as hostname mismatch');
SELECT is((SELECT array_agg(DISTINCT trusted)
             FROM smtp_mail.server_certificates('localhost', t.port('tls_wrongname'), false,
                                                'wrong.example.com', pg_temp.w('pem'))),
          ARRAY[true],
          'server_certificates verifies against secure_host');
SELECT is(t.sqlstate_of($$SELECT * FROM smtp_mail.server_certificates('127.0.0.2', t.port('tls'), false)$$),
          '42501', 'server_certificates is subject to the ACL: no row for the host, 42501');
SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint,
          'server_certificates closes its connections');
SELECT is(t.sqlstate_of($$SELECT * FROM smtp_mail.server_certificates('localhost', t.port('plain'), true)$$),
          '29278', 'server_certificates over STARTTLS to a server without STARTTLS raises 29278');
SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint,
          'a failed server_certificates leaves no connection open');

SELECT * FROM finish();
ROLLBACK;
