/* smtp_mail--1.0.sql: Oracle UTL_SMTP for PostgreSQL, over OpenSSL */

\echo Use "CREATE EXTENSION smtp_mail" to load this file. \quit

-- Schema smtp_mail (administration) is the extension's own schema, created
-- from the control file.  utl_smtp and utl_mail hold the Oracle APIs.
CREATE SCHEMA utl_smtp;
CREATE SCHEMA utl_mail;
GRANT USAGE ON SCHEMA utl_smtp, utl_mail, smtp_mail TO PUBLIC;

-------------------------------------------------------------------------------
-- Types
-------------------------------------------------------------------------------

CREATE TYPE utl_smtp.connection AS (
    host            text,
    port            integer,
    tx_timeout      integer,
    private_tcp_con integer,
    private_state   integer
);

CREATE TYPE utl_smtp.reply AS (
    code integer,
    text text
);

-- Oracle's REPLIES is a table of REPLY; here an array, element 1 first.
CREATE DOMAIN utl_smtp.replies AS utl_smtp.reply[];

-------------------------------------------------------------------------------
-- UTL_SMTP
-------------------------------------------------------------------------------

CREATE FUNCTION utl_smtp.open_connection(
    host text,
    port integer DEFAULT 25,
    tx_timeout integer DEFAULT NULL,
    wallet_path text DEFAULT NULL,
    wallet_password text DEFAULT NULL,
    secure_connection_before_smtp boolean DEFAULT false,
    secure_host text DEFAULT NULL)
RETURNS utl_smtp.connection
AS 'MODULE_PATHNAME', 'utl_smtp_open_connection'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.helo(c utl_smtp.connection, domain text)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_helo' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.ehlo(c utl_smtp.connection, domain text)
RETURNS utl_smtp.reply[]
AS 'MODULE_PATHNAME', 'utl_smtp_ehlo' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.starttls(c utl_smtp.connection, secure_host text DEFAULT NULL)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_starttls' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.auth(c utl_smtp.connection, username text, password text,
                              schemes text DEFAULT NULL)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_auth' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.mail(c utl_smtp.connection, sender text, parameters text DEFAULT NULL)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_mail' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.rcpt(c utl_smtp.connection, recipient text, parameters text DEFAULT NULL)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_rcpt' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.data(c utl_smtp.connection, body text)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_data' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.open_data(c utl_smtp.connection)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_open_data' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.write_data(c utl_smtp.connection, data text)
RETURNS void
AS 'MODULE_PATHNAME', 'utl_smtp_write_data' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.write_raw_data(c utl_smtp.connection, data bytea)
RETURNS void
AS 'MODULE_PATHNAME', 'utl_smtp_write_raw_data' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.close_data(c utl_smtp.connection)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_close_data' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.rset(c utl_smtp.connection)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_rset' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.noop(c utl_smtp.connection)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_noop' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.quit(c utl_smtp.connection)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_quit' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.vrfy(c utl_smtp.connection, recipient text)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_vrfy' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.help(c utl_smtp.connection, command text DEFAULT NULL)
RETURNS utl_smtp.reply[]
AS 'MODULE_PATHNAME', 'utl_smtp_help' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.command(c utl_smtp.connection, cmd text, arg text DEFAULT NULL)
RETURNS utl_smtp.reply
AS 'MODULE_PATHNAME', 'utl_smtp_command' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.command_replies(c utl_smtp.connection, cmd text, arg text DEFAULT NULL)
RETURNS utl_smtp.reply[]
AS 'MODULE_PATHNAME', 'utl_smtp_command_replies' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.close_connection(c utl_smtp.connection)
RETURNS void
AS 'MODULE_PATHNAME', 'utl_smtp_close_connection' LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION utl_smtp.all_schemes()
RETURNS text
AS 'MODULE_PATHNAME', 'utl_smtp_all_schemes' LANGUAGE C IMMUTABLE PARALLEL SAFE;

CREATE FUNCTION utl_smtp.non_cleartext_password_schemes()
RETURNS text
AS 'MODULE_PATHNAME', 'utl_smtp_non_cleartext_password_schemes' LANGUAGE C IMMUTABLE PARALLEL SAFE;

-- Oracle grants EXECUTE on UTL_SMTP to PUBLIC and relies on the network ACL;
-- so do we: smtp_mail.host_acl is the gate, checked in open_connection.
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA utl_smtp TO PUBLIC;

-------------------------------------------------------------------------------
-- Host allow-list (smtp_mail.host_acl): default deny, for every role
-------------------------------------------------------------------------------

CREATE FUNCTION smtp_mail.host_pattern_valid(host text)
RETURNS boolean
AS 'MODULE_PATHNAME', 'smtp_mail_host_pattern_valid'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;

CREATE TABLE smtp_mail.host_acl (
    id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    host        text NOT NULL CHECK (smtp_mail.host_pattern_valid(host)),
    lower_port  integer CHECK (lower_port BETWEEN 1 AND 65535),
    upper_port  integer CHECK (upper_port BETWEEN 1 AND 65535),
    principal   text NOT NULL,
    start_date  timestamptz,
    end_date    timestamptz,
    comment     text,
    CHECK (upper_port IS NULL OR lower_port IS NOT NULL),
    CHECK (upper_port IS NULL OR upper_port >= lower_port),
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date > start_date)
);
COMMENT ON TABLE smtp_mail.host_acl IS
    'SMTP hosts and ports each role may reach (default deny; most specific host wins)';
REVOKE ALL ON smtp_mail.host_acl FROM PUBLIC;
SELECT pg_catalog.pg_extension_config_dump('smtp_mail.host_acl', '');
SELECT pg_catalog.pg_extension_config_dump('smtp_mail.host_acl_id_seq', '');

-- Oracle's DBMS_NETWORK_ACL_ADMIN.APPEND_HOST_ACE for the 'smtp' privilege.
-- Runs with the caller's rights: only who may INSERT into host_acl can use it.
CREATE FUNCTION smtp_mail.append_host_ace(
    host text,
    lower_port integer DEFAULT NULL,
    upper_port integer DEFAULT NULL,
    principal text DEFAULT NULL,
    start_date timestamptz DEFAULT NULL,
    end_date timestamptz DEFAULT NULL)
RETURNS bigint
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO smtp_mail.host_acl (host, lower_port, upper_port, principal, start_date, end_date)
    VALUES ($1, $2, COALESCE($3, $2), COALESCE($4, current_user::text), $5, $6)
    RETURNING id
$$;

-- Oracle's DBMS_NETWORK_ACL_ADMIN.REMOVE_HOST_ACE: returns the rows removed.
CREATE FUNCTION smtp_mail.remove_host_ace(
    host text,
    lower_port integer DEFAULT NULL,
    upper_port integer DEFAULT NULL,
    principal text DEFAULT NULL)
RETURNS integer
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH d AS (
        DELETE FROM smtp_mail.host_acl a
         WHERE lower(rtrim(a.host, '.')) = lower(rtrim($1, '.'))
           AND a.lower_port IS NOT DISTINCT FROM $2
           AND a.upper_port IS NOT DISTINCT FROM COALESCE($3, $2)
           AND ($4 IS NULL OR a.principal = $4)
        RETURNING 1)
    SELECT count(*)::integer FROM d
$$;
REVOKE EXECUTE ON FUNCTION smtp_mail.append_host_ace(text, integer, integer, text, timestamptz, timestamptz),
                           smtp_mail.remove_host_ace(text, integer, integer, text) FROM PUBLIC;

-- What the current role may reach: the rows that name it (or a role it has
-- the privileges of, or PUBLIC) and are within their dates.  The view runs
-- with its owner's rights, so it reads host_acl without granting SELECT.
CREATE VIEW smtp_mail.my_host_acl WITH (security_barrier) AS
SELECT a.host, a.lower_port, a.upper_port, a.principal, a.start_date, a.end_date
  FROM smtp_mail.host_acl a
 WHERE (lower(a.principal) = 'public'
        OR (EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.rolname = a.principal)
            AND pg_catalog.pg_has_role(current_user, a.principal, 'USAGE')))
   AND (a.start_date IS NULL OR a.start_date <= pg_catalog.now())
   AND (a.end_date IS NULL OR a.end_date > pg_catalog.now());
GRANT SELECT ON smtp_mail.my_host_acl TO PUBLIC;

-------------------------------------------------------------------------------
-- Diagnostics
-------------------------------------------------------------------------------

CREATE FUNCTION smtp_mail.connections(
    OUT handle integer, OUT host text, OUT port integer, OUT state text,
    OUT tls_version text, OUT cipher text, OUT peer_subject text,
    OUT bytes_in bigint, OUT bytes_out bigint, OUT broken_reason text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'smtp_mail_connections'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION smtp_mail.wallet_certificates(
    wallet_path text, wallet_password text DEFAULT NULL,
    OUT source text, OUT subject text, OUT issuer text,
    OUT not_before timestamptz, OUT not_after timestamptz,
    OUT sha256_fingerprint text, OUT is_ca boolean, OUT has_private_key boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'smtp_mail_wallet_certificates'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

CREATE FUNCTION smtp_mail.server_certificates(
    host text, port integer, starttls boolean DEFAULT NULL,
    secure_host text DEFAULT NULL, wallet_path text DEFAULT NULL,
    OUT depth integer, OUT subject text, OUT issuer text,
    OUT not_before timestamptz, OUT not_after timestamptz,
    OUT sha256_fingerprint text, OUT is_ca boolean,
    OUT trusted boolean, OUT verify_result text, OUT pem text)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'smtp_mail_server_certificates'
LANGUAGE C VOLATILE PARALLEL UNSAFE;

-- connections() shows only the caller's own backend: safe for PUBLIC.
-- Wallet and server inspection read files and reach hosts: superuser, or
-- whom a superuser grants EXECUTE.
REVOKE EXECUTE ON FUNCTION smtp_mail.wallet_certificates(text, text),
                           smtp_mail.server_certificates(text, integer, boolean, text, text)
    FROM PUBLIC;
