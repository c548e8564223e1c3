-- Wallets: every supported format anchors trust for a TLS connection, the
-- unsupported and broken ones fail with 29759 and say why, the default
-- wallet, smtp_mail.wallet_root for non-superusers, the superuser-only
-- settings, smtp_mail.wallet_certificates(), and renewed files being noticed.
BEGIN;
SELECT plan(50);
SELECT t.allow_loopback();

-- The test PKI's wallet directory of that name.
CREATE FUNCTION pg_temp.w(name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT t.dir('pki') || '/wallets/' || name $$;

-- Run a shell command as the server's OS user (COPY TO PROGRAM, superuser).
CREATE FUNCTION pg_temp.sh(cmd text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('COPY (SELECT 1) TO PROGRAM %L', cmd);
END $$;

-- A scratch directory the server's OS user may write to.
CREATE FUNCTION pg_temp.scratch() RETURNS text
LANGUAGE sql STABLE AS $$ SELECT t.dir('dir') || '/pg/t31-wallets' $$;

-- Open implicit TLS to the tls port with this wallet, NOOP, QUIT.
-- Returns {"state": "ok"} or the error's SQLSTATE, message, detail and hint.
CREATE FUNCTION pg_temp.try_tls(wallet text, password text DEFAULT NULL)
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
    st text; msg text; det text; hnt text;
BEGIN
    c := utl_smtp.open_connection('localhost', t.port('tls'), 10, wallet, password, true);
    PERFORM utl_smtp.noop(c);
    PERFORM utl_smtp.quit(c);
    RETURN jsonb_build_object('state', 'ok');
EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT,
                            det = PG_EXCEPTION_DETAIL, hnt = PG_EXCEPTION_HINT;
    RETURN jsonb_build_object('state', st, 'message', msg, 'detail', det, 'hint', hnt);
END $$;

-- Scratch wallets: one under a wallet root (with a symlink leading out of
-- it) and one whose certificate is replaced during the test.
SELECT pg_temp.sh(format(
    'rm -rf %1$s && mkdir -p %1$s/root/inside %1$s/renew && cp %2$s/root-ca.pem %1$s/root/inside/ '
    '&& ln -s %3$s %1$s/root/escape && cp %4$s/other-ca.pem %1$s/renew/ca.pem',
    pg_temp.scratch(), pg_temp.w('pem'), pg_temp.w('der'), pg_temp.w('other')));

-- Each supported format.
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('pem'))->>'state', 'ok',
          'a directory with a PEM root certificate is a wallet');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('der'))->>'state', 'ok',
          'a directory with DER .cer files is a wallet');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('multi'))->>'state', 'ok',
          'a PEM bundle holding several certificates is a wallet');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('p12-modern'), '123')->>'state', 'ok',
          'an ewallet.p12 in OpenSSL 3 format (AES, PBKDF2) opens with its password');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('p12-legacy'), 'password')->>'state', 'ok',
          'a legacy ewallet.p12 (RC2, 3DES, SHA-1 MAC) opens with its password');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('p12-nokey'), '123')->>'state', 'ok',
          'an ewallet.p12 with CA certificates only and no key is a wallet');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('inter-only'))->>'state', 'ok',
          'an intermediate certificate alone is a trust anchor (partial chain)');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('pin-leaf'))->>'state', 'ok',
          'the server''s own certificate alone pins it');
SELECT is(pg_temp.try_tls(pg_temp.w('pem'))->>'state', 'ok',
          'a bare absolute directory works like ''file:/dir''');

-- Wallets that cannot be opened.
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('p12-modern'), 'wrong')->>'state', '29759',
          'a wrong PKCS#12 password is a wallet error (29759), even with the wallet cached');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('p12-legacy'), NULL)->>'state', '29759',
          'a PKCS#12 wallet opened without its password is a wallet error');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('sso'))->>'state', '29759',
          'a directory with only cwallet.sso is refused (29759)');
SELECT matches(pg_temp.try_tls('file:' || pg_temp.w('sso'))->>'message', 'cwallet\.sso',
               'the cwallet.sso refusal names the file');
SELECT ok((SELECT h ~* 'export' AND h ~* 'PEM' AND h ~* '(PKCS#?12|\.p12)'
             FROM (SELECT pg_temp.try_tls('file:' || pg_temp.w('sso'))->>'hint' AS h) x),
          'the cwallet.sso refusal hints at exporting to PKCS#12 or PEM');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('empty'))->>'state', '29759',
          'an empty directory is a wallet error');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('garbage'))->>'state', '29759',
          'a .pem file that holds no certificate is a wallet error');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('no-such-wallet'))->>'state', '29759',
          'a directory that does not exist is a wallet error');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('pem') || '/root-ca.pem')->>'state', '29759',
          'a wallet path naming a certificate file instead of its directory is a wallet error');
SELECT is(pg_temp.try_tls('file:wallets/pem')->>'state', '29759',
          'a relative wallet path is refused (29759)');

-- The default wallet (wallet_path NULL).
SET smtp_mail.default_wallet = 'system:';
SELECT is(pg_temp.try_tls(NULL)->>'state', '29024',
          'with wallet_path NULL the default ''system:'' store is used; it does not trust the test CA (29024)');
SELECT set_config('smtp_mail.default_wallet', 'file:' || pg_temp.w('pem'), false);
SELECT is(pg_temp.try_tls(NULL)->>'state', 'ok',
          'with wallet_path NULL the wallet named by smtp_mail.default_wallet is used');
RESET smtp_mail.default_wallet;
SELECT is(current_setting('smtp_mail.default_wallet'), 'system:',
          'smtp_mail.default_wallet defaults to the operating system''s store');

-- Renewed certificates are noticed in the same session.
SELECT is(pg_temp.try_tls('file:' || pg_temp.scratch() || '/renew')->>'state', '29024',
          'a wallet holding only an unrelated CA does not verify the server');
SELECT pg_temp.sh(format('cp %s/root-ca.pem %s/renew/ca.pem', pg_temp.w('pem'), pg_temp.scratch()));
SELECT is(pg_temp.try_tls('file:' || pg_temp.scratch() || '/renew')->>'state', 'ok',
          'after the wallet''s certificate file is replaced, the same session trusts the new one');
SELECT pg_temp.sh(format('cp %s/other-ca.pem %s/renew/ca.pem', pg_temp.w('other'), pg_temp.scratch()));
SELECT is(pg_temp.try_tls('file:' || pg_temp.scratch() || '/renew')->>'state', '29024',
          'after it is replaced again, the old anchor is no longer trusted');
SELECT pg_temp.sh(format('cp %s/root-ca.pem %s/renew/added.crt', pg_temp.w('pem'), pg_temp.scratch()));
SELECT is(pg_temp.try_tls('file:' || pg_temp.scratch() || '/renew')->>'state', 'ok',
          'a certificate file added to the wallet directory is picked up');

-- smtp_mail.wallet_certificates().
SELECT is((SELECT array_agg(subject ORDER BY subject COLLATE "C") FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('multi'))),
          ARRAY['CN=Unrelated Test Root CA,O=Unrelated Org',
                'CN=smtp_mail Test Intermediate CA,O=smtp_mail test',
                'CN=smtp_mail Test Root CA,O=smtp_mail test'],
          'wallet_certificates lists the subject of every certificate of a bundle');
SELECT is((SELECT issuer FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('der'))
            WHERE subject LIKE 'CN=smtp_mail Test Intermediate CA%'),
          'CN=smtp_mail Test Root CA,O=smtp_mail test',
          'wallet_certificates shows the issuer');
SELECT is((SELECT count(*) FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('multi'))
            WHERE not_after > now() AND not_before < now()), 3::bigint,
          'wallet_certificates shows validity dates (current for the test CAs)');
SELECT is((SELECT count(*) FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('p12-modern'), '123')
            WHERE sha256_fingerprint ~ '^([0-9A-F]{2}:){31}[0-9A-F]{2}$'), 3::bigint,
          'wallet_certificates gives SHA-256 fingerprints as 32 colon-separated hex pairs');
SELECT is((SELECT sha256_fingerprint FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('der'))
            WHERE subject LIKE 'CN=smtp_mail Test Root CA%'),
          upper(regexp_replace(encode(sha256(pg_read_binary_file(pg_temp.w('der') || '/root-ca.cer')), 'hex'),
                               '(..)(?!$)', '\1:', 'g')),
          'the fingerprint is the SHA-256 of the DER certificate');
SELECT is((SELECT array_agg(is_ca ORDER BY subject COLLATE "C") FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('p12-modern'), '123')),
          ARRAY[false, true, true],
          'wallet_certificates marks the CAs (and not the client certificate) as is_ca');
SELECT is((SELECT array_agg(subject) FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('p12-modern'), '123')
            WHERE has_private_key),
          ARRAY['CN=smtp-client,O=smtp_mail test'],
          'has_private_key is true only for the client certificate of ewallet.p12');
SELECT is((SELECT count(*) FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('p12-nokey'), '123')
            WHERE has_private_key), 0::bigint,
          'a PKCS#12 wallet without a key has no certificate with a private key');
SELECT is((SELECT count(DISTINCT source) FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('der'))), 2::bigint,
          'wallet_certificates names the file each certificate came from');
SELECT is(t.sqlstate_of($$SELECT * FROM smtp_mail.wallet_certificates('file:' || pg_temp.w('p12-modern'), 'nope')$$),
          '29759', 'wallet_certificates with a wrong password raises 29759');

-- smtp_mail.wallet_root and the superuser-only settings.
CREATE ROLE t31_user;
SELECT t.allow_loopback('t31_user');
SELECT set_config('smtp_mail.wallet_root', pg_temp.scratch() || '/root', false);
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('der'))->>'state', 'ok',
          'smtp_mail.wallet_root does not restrict superusers');
SET ROLE t31_user;
SELECT is(t.sqlstate_of($$SET smtp_mail.wallet_root = '/'$$), '42501',
          'a non-superuser cannot set smtp_mail.wallet_root');
SELECT is(t.sqlstate_of($$SET smtp_mail.default_wallet = '/tmp'$$), '42501',
          'a non-superuser cannot set smtp_mail.default_wallet');
SELECT is(t.sqlstate_of($$SET smtp_mail.tls_min_version = 'TLSv1.3'$$), '42501',
          'a non-superuser cannot set smtp_mail.tls_min_version');
SELECT is(t.sqlstate_of($$SET smtp_mail.allow_plaintext_auth = on$$), '42501',
          'a non-superuser cannot set smtp_mail.allow_plaintext_auth');
SELECT is(pg_temp.try_tls('file:' || pg_temp.scratch() || '/root/inside')->>'state', 'ok',
          'a non-superuser may use a wallet under smtp_mail.wallet_root');
SELECT is(pg_temp.try_tls('file:' || pg_temp.w('pem'))->>'state', '42501',
          'a non-superuser naming a wallet outside smtp_mail.wallet_root gets 42501');
SELECT matches(pg_temp.try_tls(pg_temp.w('pem'))->>'hint', 'wallet_root',
               'the refusal hints at smtp_mail.wallet_root');
SELECT is(pg_temp.try_tls('file:' || pg_temp.scratch() || '/root/escape')->>'state', '42501',
          'a symlink under the root that points outside it is refused (path canonicalised)');
SELECT is(pg_temp.try_tls('file:' || pg_temp.scratch() || '/root/../renew')->>'state', '42501',
          'a ''..'' leading out of the root is refused');
SELECT is(pg_temp.try_tls('file:/nonexistent/t31')->>'state', '42501',
          'a missing directory outside the root is refused with 42501, not reported as missing');
SELECT is(pg_temp.try_tls('system:')->>'state', '29024',
          'a non-superuser may use ''system:'' (it then fails verification, not permission)');
SELECT is(t.sqlstate_of($$SELECT * FROM smtp_mail.wallet_certificates('system:')$$), '42501',
          'wallet_certificates is not available to PUBLIC');
RESET ROLE;
SELECT pg_temp.sh(format('rm -rf %s', pg_temp.scratch()));

SELECT is((SELECT count(*) FROM smtp_mail.connections()), 0::bigint,
          'no connection was left open by the failures');

SELECT * FROM finish();
ROLLBACK;
