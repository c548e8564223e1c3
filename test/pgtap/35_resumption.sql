-- TLS session resumption: a new connection to the same host, port and
-- verified name resumes the session of the previous one (no certificate
-- exchange), and only then.
BEGIN;
SELECT plan(6);
SELECT t.allow_loopback();

-- Send one message over implicit TLS; return the server's view of the TLS session.
CREATE FUNCTION pg_temp.send_tls(host text, rcpt text, wallet text DEFAULT 'pem')
RETURNS jsonb
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    c := utl_smtp.open_connection(host => host, port => t.port('tls'),
                                  wallet_path => t.dir('pki') || '/wallets/' || wallet,
                                  secure_connection_before_smtp => true);
    PERFORM utl_smtp.ehlo(c, 'resume-' || rcpt);
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, rcpt);
    PERFORM utl_smtp.data(c, 'Subject: resume' || chr(10) || chr(10) || 'x');
    PERFORM utl_smtp.quit(c);
    RETURN t.meta(rcpt);
END $$;

-- Inspection first: it must not leave a session behind for the real connection.
SELECT count(*) FROM smtp_mail.server_certificates('localhost', t.port('tls'), false);

SELECT is((pg_temp.send_tls('localhost', 'resume1@example.com')->>'tls_session_reused')::boolean, false,
          'the first connection does a full handshake (server_certificates kept no session)');
SELECT is((pg_temp.send_tls('localhost', 'resume2@example.com')->>'tls_session_reused')::boolean, true,
          'a second connection to the same host and port resumes the session');
SELECT is((pg_temp.send_tls('localhost', 'resume3@example.com')->>'tls_session_reused')::boolean, true,
          'and so does a third (the server''s new ticket replaced the used one)');
SELECT is((pg_temp.send_tls('127.0.0.1', 'resume4@example.com')->>'tls_session_reused')::boolean, false,
          'another name for the same server is verified afresh');
SELECT is((pg_temp.send_tls('localhost', 'resume5@example.com', 'multi')->>'tls_session_reused')::boolean, false,
          'another wallet does not resume a session verified with a different trust store');
SELECT is((pg_temp.send_tls('localhost', 'resume6@example.com', 'multi')->>'tls_session_reused')::boolean, true,
          'that wallet then resumes its own session');

SELECT * FROM finish();
ROLLBACK;
