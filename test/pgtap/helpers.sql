-- Helpers shared by the pgTAP suites, in schema t (installed once per run
-- by test/run-all.sh into the test database).
CREATE SCHEMA t;

-- A port of the test bed, by name (see test/lib/testbed.sh).
CREATE FUNCTION t.port(name text) RETURNS integer
LANGUAGE sql STABLE AS $$ SELECT current_setting('smtp_test.' || name)::integer $$;

-- A path setting of the test bed.
CREATE FUNCTION t.dir(name text) RETURNS text
LANGUAGE sql STABLE AS $$ SELECT current_setting('smtp_test.' || name) $$;

-- A file's bytes, or NULL if it does not exist.
CREATE FUNCTION t.read(path text) RETURNS bytea
LANGUAGE plpgsql VOLATILE AS $$
BEGIN
    IF pg_stat_file(path, true) IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN pg_read_binary_file(path);
END $$;

-- File name the test server uses for a recipient or HELO name.
CREATE FUNCTION t.sanitize(s text) RETURNS text
LANGUAGE sql IMMUTABLE AS $$ SELECT regexp_replace(lower(s), '[^a-z0-9@._+-]', '_', 'g') $$;

-- The last message the test server stored for this (first) recipient.
CREATE FUNCTION t.message(rcpt text, server text DEFAULT 'smtpd_dir') RETURNS bytea
LANGUAGE sql VOLATILE AS $$
    SELECT t.read(t.dir(server) || '/by-rcpt/' || t.sanitize(rcpt) || '.eml')
$$;

-- Its metadata (mail_from, rcpt_tos, tls, auth, ...).
CREATE FUNCTION t.meta(rcpt text, server text DEFAULT 'smtpd_dir') RETURNS jsonb
LANGUAGE sql VOLATILE AS $$
    SELECT convert_from(t.read(t.dir(server) || '/by-rcpt/' || t.sanitize(rcpt) || '.json'), 'UTF8')::jsonb
$$;

-- Every byte the client sent on the connection that said HELO/EHLO <name>.
CREATE FUNCTION t.wire(helo text) RETURNS bytea
LANGUAGE sql VOLATILE AS $$
    SELECT t.read(t.dir('smtpd_dir') || '/wire/' || regexp_replace(helo, '[^A-Za-z0-9@._+-]', '_', 'g') || '.bin')
$$;

-- Run a statement; return the SQLSTATE it raised (cancel included), or NULL.
CREATE FUNCTION t.sqlstate_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION
    WHEN query_canceled THEN RETURN SQLSTATE;
    WHEN OTHERS THEN RETURN SQLSTATE;
END $$;

-- Run a statement; return the error message it raised, or NULL.
CREATE FUNCTION t.error_of(sql text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
    RETURN NULL;
EXCEPTION
    WHEN query_canceled THEN RETURN SQLERRM;
    WHEN OTHERS THEN RETURN SQLERRM;
END $$;

-- The whole error a statement raises, as a handler sees it with
-- GET STACKED DIAGNOSTICS (all NULL if it raised nothing).
CREATE FUNCTION t.diag(sql text, OUT state text, OUT message text, OUT detail text, OUT hint text)
LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE sql;
EXCEPTION
    WHEN query_canceled OR OTHERS THEN
        GET STACKED DIAGNOSTICS state = RETURNED_SQLSTATE, message = MESSAGE_TEXT,
                                detail = PG_EXCEPTION_DETAIL, hint = PG_EXCEPTION_HINT;
END $$;

-- Allow the calling tests to reach the loopback servers.
CREATE FUNCTION t.allow_loopback(role text DEFAULT current_user) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO smtp_mail.host_acl (host, principal)
    VALUES ('127.0.0.1', role), ('localhost', role), ('::1', role);
$$;

-- Open a plain connection to the test server and EHLO with the given name.
CREATE FUNCTION t.open_plain(helo text, port integer DEFAULT NULL, tx_timeout integer DEFAULT 10)
RETURNS utl_smtp.connection
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    c := utl_smtp.open_connection('127.0.0.1', COALESCE(port, t.port('plain')), tx_timeout);
    PERFORM utl_smtp.ehlo(c, helo);
    RETURN c;
END $$;

GRANT USAGE ON SCHEMA t TO PUBLIC;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA t TO PUBLIC;
