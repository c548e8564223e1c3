-- The host allow-list (DESIGN §2.4) seen from SQL: default deny for every
-- role, superusers included; the most specific host decides; port ranges,
-- role membership, PUBLIC, dates; denial before any DNS lookup or byte sent;
-- the admin functions, the my_host_acl view and the CHECK on patterns.
BEGIN;
SELECT plan(83);

-- Start from an empty list (this transaction is rolled back at the end).
DELETE FROM smtp_mail.host_acl;

CREATE ROLE acl40_alice;
CREATE ROLE acl40_bob;
CREATE ROLE acl40_parent NOLOGIN;
CREATE ROLE acl40_child INHERIT;
CREATE ROLE acl40_noinherit NOINHERIT;
GRANT acl40_parent TO acl40_child, acl40_noinherit;

-- Open a connection and close it: 'connected', or the SQLSTATE raised.  A
-- name that passes the ACL but does not resolve gives 29278, not 42501.
CREATE FUNCTION t.acl40_try(host text, port integer DEFAULT NULL) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    c := utl_smtp.open_connection(host, COALESCE(port, t.port('plain')), 10);
    PERFORM utl_smtp.close_connection(c);
    RETURN 'connected';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE;
END $$;

-- Connections the test server has accepted so far (aiosmtpd logs "Peer:";
-- the log may hold any byte other suites sent, so read it as bytea).
CREATE FUNCTION t.acl40_peers() RETURNS bigint
LANGUAGE sql AS $$
    SELECT count(*)
      FROM regexp_matches(encode(pg_read_binary_file(t.dir('smtpd_dir') || '/smtpd.log'), 'escape'), 'Peer: ', 'g')
$$;

-- Files in the test server's wire log directory.
CREATE FUNCTION t.acl40_wire_files() RETURNS bigint
LANGUAGE sql AS $$ SELECT count(*) FROM pg_ls_dir(t.dir('smtpd_dir') || '/wire') $$;

CREATE TEMP TABLE acl40_diag (state text, message text, detail text, hint text);
GRANT ALL ON acl40_diag TO PUBLIC;

-------------------------------------------------------------------------------
-- Default deny
-------------------------------------------------------------------------------

SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a role with no row in host_acl is denied (42501)');
INSERT INTO acl40_diag
    SELECT * FROM t.diag(format('SELECT utl_smtp.open_connection(%L, %s)', '127.0.0.1', t.port('plain')));
RESET ROLE;

SELECT matches((SELECT message FROM acl40_diag), 'acl40_alice', 'the denial names the role');
SELECT matches((SELECT message FROM acl40_diag), '127\.0\.0\.1', 'the denial names the host');
SELECT matches((SELECT message FROM acl40_diag), '\m' || t.port('plain') || '\M', 'the denial names the port');
SELECT matches((SELECT hint FROM acl40_diag), 'INSERT INTO smtp_mail\.host_acl', 'the hint shows the INSERT that would allow it');

-- The INSERT the hint shows, run by a superuser, does allow it.
DO $$ BEGIN
    EXECUTE substring((SELECT hint FROM acl40_diag) FROM 'INSERT INTO smtp_mail\.host_acl.*$');
END $$;
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'running the INSERT from the hint lets the role connect');
RESET ROLE;

DELETE FROM smtp_mail.host_acl;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a superuser with no row is denied too');
SELECT is(t.acl40_try('::1'), '42501', 'a superuser with no row is denied on ::1 too');
SELECT is(t.acl40_try('localhost'), '42501', 'a superuser with no row is denied on localhost too');

-- The list is read at each call: a row added then removed in the session.
INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', current_user);
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'a row for the superuser allows it');
DELETE FROM smtp_mail.host_acl;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'once the row is deleted the same session is denied again');

-------------------------------------------------------------------------------
-- A denied call resolves nothing and sends nothing
-------------------------------------------------------------------------------

SELECT is(t.sqlstate_of($$SELECT utl_smtp.open_connection('no-such-host.invalid', 25)$$), '42501',
          'with no row an unresolvable name is denied (42501), not a DNS error');
SELECT is(t.sqlstate_of($$SELECT utl_smtp.open_connection('no-such-host.invalid', 25, secure_connection_before_smtp => true)$$), '42501',
          'the ACL comes before implicit TLS too');
INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('*.invalid', current_user);
SELECT is(t.sqlstate_of($$SELECT utl_smtp.open_connection('no-such-host.invalid', 25)$$), '29278',
          'with a row the same name is looked up (and fails with 29278)');
DELETE FROM smtp_mail.host_acl;

CREATE TEMP TABLE acl40_before AS SELECT t.acl40_peers() AS peers, t.acl40_wire_files() AS wire;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a denied connection to the plain test server');
SELECT is(t.acl40_peers(), (SELECT peers FROM acl40_before), 'the test server saw no connection from the denied call');
SELECT is(t.acl40_wire_files(), (SELECT wire FROM acl40_before), 'and no wire log appeared');
INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', current_user);
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'an allowed connection to the same server');
SELECT is(t.acl40_peers(), (SELECT peers FROM acl40_before) + 1, 'the test server saw exactly that one connection');
DELETE FROM smtp_mail.host_acl;

-- server_certificates() reaches a host too: the same ACL applies.
SELECT is(t.sqlstate_of(format($$SELECT * FROM smtp_mail.server_certificates('127.0.0.1', %s, false)$$, t.port('tls'))),
          '42501', 'server_certificates is denied with no row');
INSERT INTO smtp_mail.host_acl (host, lower_port, principal) VALUES ('127.0.0.1', t.port('tls'), current_user);
SELECT cmp_ok((SELECT count(*) FROM smtp_mail.server_certificates('127.0.0.1', t.port('tls'), false)), '>', 0::bigint,
              'server_certificates returns the chain once a row allows the host');
SELECT is(t.sqlstate_of(format($$SELECT * FROM smtp_mail.server_certificates('127.0.0.1', %s, true)$$, t.port('starttls'))),
          '42501', 'a row for one port does not open server_certificates on another');
DELETE FROM smtp_mail.host_acl;

-------------------------------------------------------------------------------
-- Host patterns: exact, '*', wildcard, CIDR, IPv6, case and trailing dot
-------------------------------------------------------------------------------

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', 'acl40_alice');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'an exact address row allows that address');
SELECT is(t.acl40_try('::1'), '42501', 'an IPv4 row does not allow ::1');
SELECT is(t.acl40_try('localhost'), '42501', 'an address row does not allow a name that resolves to it');
SET ROLE acl40_bob;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a row for alice does not allow bob');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('*', 'acl40_alice');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', '''*'' allows an IPv4 address');
SELECT is(t.acl40_try('::1'), 'connected', '''*'' allows an IPv6 address');
SELECT is(t.acl40_try('localhost'), 'connected', '''*'' allows a name');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('*.example.invalid', 'acl40_alice');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('smtp.example.invalid'), '29278', 'a wildcard row lets a subdomain through the ACL (then DNS fails)');
SELECT is(t.acl40_try('a.b.example.invalid'), '29278', 'a wildcard row lets a deeper subdomain through');
SELECT is(t.acl40_try('example.invalid'), '42501', 'a wildcard row does not allow the domain itself');
SELECT is(t.acl40_try('badexample.invalid'), '42501', 'a wildcard row does not allow a name that merely ends the same');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.0/8', 'acl40_alice'), ('::1', 'acl40_bob');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'a CIDR row 127.0.0.0/8 allows 127.0.0.1');
SET ROLE acl40_bob;
SELECT is(t.acl40_try('::1'), 'connected', 'an ::1 row allows ::1');
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'an ::1 row does not allow 127.0.0.1');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('LOCALHOST.', 'acl40_alice'), ('SMTP.Example.Invalid.', 'acl40_alice');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('localhost'), 'connected', 'a row ''LOCALHOST.'' allows ''localhost'' (case and trailing dot ignored)');
SELECT is(t.acl40_try('smtp.example.invalid.'), '29278', 'and a host given with a trailing dot matches a row with one');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

-------------------------------------------------------------------------------
-- The most specific host decides (deny by shadowing)
-------------------------------------------------------------------------------

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('*', 'acl40_alice'), ('127.0.0.1', 'acl40_bob');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a more specific row naming another role shadows ''*'' for this role');
SELECT is(t.acl40_try('localhost'), 'connected', 'hosts the specific row does not match still fall to ''*''');
SET ROLE acl40_bob;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'the role the specific row names connects');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.0/8', 'acl40_alice'), ('127.0.0.0/24', 'acl40_bob');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a narrower subnet naming another role shadows the wider one');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

-------------------------------------------------------------------------------
-- Ports
-------------------------------------------------------------------------------

INSERT INTO smtp_mail.host_acl (host, lower_port, upper_port, principal) VALUES
    ('127.0.0.1', t.port('plain'), t.port('plain'), 'acl40_alice'),
    ('127.0.0.1', NULL, NULL, 'acl40_bob');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'a row whose port range holds the port allows');
SET ROLE acl40_bob;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a ranged row beats a row without a range at the same host');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, lower_port, upper_port, principal) VALUES
    ('*', NULL, NULL, 'acl40_alice'),
    ('127.0.0.1', 1, t.port('plain') - 1, 'acl40_bob');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'a ranged row that excludes the port is ignored (falls back to ''*'')');
SET ROLE acl40_bob;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'and does not allow its own role outside the range');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, lower_port, upper_port, principal) VALUES
    ('127.0.0.1', t.port('plain') - 1, NULL, 'acl40_alice'),
    ('::1', t.port('plain'), NULL, 'acl40_alice');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'upper_port NULL means lower_port only: the next port is denied');
SELECT is(t.acl40_try('::1'), 'connected', 'upper_port NULL means lower_port only: that port is allowed');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

-------------------------------------------------------------------------------
-- Principals: membership, NOINHERIT, PUBLIC; dates
-------------------------------------------------------------------------------

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', 'acl40_parent');
SET ROLE acl40_child;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'a row for a role allows its (inheriting) members');
SET ROLE acl40_noinherit;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a NOINHERIT member does not have the privileges of the role: denied');
SET ROLE acl40_parent;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'after SET ROLE to the named role it connects');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a role that is not a member is denied');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', 'PUBLIC'), ('::1', 'public');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'a ''PUBLIC'' row allows every role');
SET ROLE acl40_bob;
SELECT is(t.acl40_try('::1'), 'connected', 'a ''public'' row (lower case) allows every role');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal, start_date, end_date) VALUES
    ('127.0.0.1', 'acl40_alice', now() + interval '1 day', NULL),
    ('::1', 'acl40_alice', NULL, now() - interval '1 day'),
    ('localhost', 'acl40_alice', now() - interval '1 day', now() + interval '1 day');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a row whose start_date is in the future denies');
SELECT is(t.acl40_try('::1'), '42501', 'a row whose end_date is in the past denies');
SELECT is(t.acl40_try('localhost'), 'connected', 'a row within its dates allows');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

INSERT INTO smtp_mail.host_acl (host, principal, end_date) VALUES
    ('*', 'acl40_alice', NULL),
    ('127.0.0.1', 'acl40_alice', now() - interval '1 day');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'an expired specific row shadows ''*'' for the same role');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

-------------------------------------------------------------------------------
-- append_host_ace / remove_host_ace
-------------------------------------------------------------------------------

SELECT isnt(smtp_mail.append_host_ace('mail.example.invalid', 587), NULL, 'append_host_ace returns the new row''s id');
SELECT results_eq(
    $$SELECT host, lower_port, upper_port, principal FROM smtp_mail.host_acl$$,
    $$VALUES ('mail.example.invalid'::text, 587, 587, current_user::text COLLATE "default")$$,
    'append_host_ace: upper_port defaults to lower_port and principal to current_user');
SELECT is(smtp_mail.remove_host_ace('MAIL.example.invalid', 587), 1, 'remove_host_ace removes the row (host compared case-insensitively)');
SELECT is((SELECT count(*) FROM smtp_mail.host_acl), 0::bigint, 'and the list is empty again');

SELECT lives_ok($$SELECT smtp_mail.append_host_ace(host => '127.0.0.1', principal => 'acl40_alice')$$,
                'append_host_ace in named notation, without ports');
SET ROLE acl40_alice;
SELECT is(t.acl40_try('127.0.0.1'), 'connected', 'the appended row allows its principal');
SELECT throws_ok($$SELECT smtp_mail.append_host_ace('*', principal => 'acl40_alice')$$, '42501',
                 NULL, 'a plain role cannot call append_host_ace');
SELECT throws_ok($$SELECT smtp_mail.remove_host_ace('127.0.0.1')$$, '42501',
                 NULL, 'a plain role cannot call remove_host_ace');
RESET ROLE;
SELECT is(smtp_mail.remove_host_ace('127.0.0.1', principal => 'acl40_alice'), 1, 'remove_host_ace by principal');
DELETE FROM smtp_mail.host_acl;

-------------------------------------------------------------------------------
-- smtp_mail.my_host_acl: a role sees only what applies to it
-------------------------------------------------------------------------------

INSERT INTO smtp_mail.host_acl (host, principal, end_date) VALUES
    ('alice.example.invalid', 'acl40_alice', NULL),
    ('bob.example.invalid', 'acl40_bob', NULL),
    ('everyone.example.invalid', 'PUBLIC', NULL),
    ('parent.example.invalid', 'acl40_parent', NULL),
    ('expired.example.invalid', 'acl40_alice', now() - interval '1 day');
SET ROLE acl40_alice;
SELECT results_eq($$SELECT host FROM smtp_mail.my_host_acl ORDER BY host$$,
                  ARRAY['alice.example.invalid', 'everyone.example.invalid'],
                  'my_host_acl shows a role its own rows and PUBLIC rows, not others'' or expired ones');
SET ROLE acl40_child;
SELECT results_eq($$SELECT host FROM smtp_mail.my_host_acl ORDER BY host$$,
                  ARRAY['everyone.example.invalid', 'parent.example.invalid'],
                  'my_host_acl shows rows of roles the user is a member of');
RESET ROLE;

-- A leaky function in the query must not see rows the view hides
-- (the view needs security_barrier).
CREATE SCHEMA acl40_leak;
GRANT USAGE ON SCHEMA acl40_leak TO PUBLIC;
CREATE FUNCTION acl40_leak.peek(text) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
    PERFORM set_config('acl40.seen', coalesce(current_setting('acl40.seen', true), '') || ' ' || $1, false);
    RETURN true;
END $$;
SET ROLE acl40_alice;
SELECT count(*) FROM smtp_mail.my_host_acl WHERE acl40_leak.peek(host) \g /dev/null
SELECT unalike(coalesce(current_setting('acl40.seen', true), ''), '%bob.example.invalid%',
              'a cheap function in the WHERE clause does not see rows my_host_acl hides');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

-------------------------------------------------------------------------------
-- The CHECK on host patterns and ports
-------------------------------------------------------------------------------

SELECT throws_ok($$INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('a b', 'x')$$, '23514', NULL,
                 'a pattern with a blank is refused by the CHECK');
SELECT throws_ok($$INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('*.', 'x')$$, '23514', NULL,
                 'a wildcard without a domain (''*.'') is refused');
SELECT throws_ok($$INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('x/33', 'x')$$, '23514', NULL,
                 'a name with a prefix length is refused');
SELECT throws_ok($$INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('10.0.0.0/33', 'x')$$, '23514', NULL,
                 'an IPv4 prefix longer than 32 is refused');
SELECT throws_ok($$INSERT INTO smtp_mail.host_acl (host, lower_port, upper_port, principal) VALUES ('x', 587, 25, 'x')$$,
                 '23514', NULL, 'an upper_port below lower_port is refused');

-------------------------------------------------------------------------------
-- Nothing the caller controls changes the decision
-------------------------------------------------------------------------------

-- Host spellings getaddrinfo() reads as 127.0.0.1 (inet_aton forms,
-- IPv4-mapped IPv6) must not slip past a row that denies 127.0.0.1.
INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('*', 'acl40_alice'), ('127.0.0.0/8', 'acl40_bob');
SET ROLE acl40_alice;
SELECT isnt(t.acl40_try('127.1'), 'connected', 'the short form 127.1 does not bypass a row that denies 127.0.0.0/8');
SELECT isnt(t.acl40_try('2130706433'), 'connected', 'the integer form 2130706433 does not bypass it');
SELECT isnt(t.acl40_try('::ffff:127.0.0.1'), 'connected', 'the IPv4-mapped form ::ffff:127.0.0.1 does not bypass it');
RESET ROLE;
DELETE FROM smtp_mail.host_acl;

-- The ACL query runs as the extension owner: it must not resolve function
-- or operator names through the caller's search_path.
CREATE ROLE acl40_evil;
CREATE SCHEMA acl40_evil AUTHORIZATION acl40_evil;
INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', 'acl40_bob');
SET ROLE acl40_evil;
CREATE FUNCTION acl40_evil.lower(text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('acl40.evil_ran_as', current_user, false);
    IF (SELECT rolsuper FROM pg_catalog.pg_roles WHERE rolname = current_user) THEN
        EXECUTE 'ALTER ROLE acl40_evil SUPERUSER';
    END IF;
    RETURN 'public';
END $$;
SET search_path = acl40_evil, pg_catalog, public;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'a lower() in the caller''s search_path does not make every row PUBLIC');
RESET search_path;
RESET ROLE;
SELECT is(current_setting('acl40.evil_ran_as', true), NULL, 'the ACL check runs no function from the caller''s search_path');
SELECT is((SELECT rolsuper FROM pg_roles WHERE rolname = 'acl40_evil'), false,
          'a role cannot make itself superuser through the ACL check');
DELETE FROM smtp_mail.host_acl;

-- The same for operators: a "<=" on timestamptz that says every start_date
-- has come.
CREATE ROLE acl40_evil2;
CREATE SCHEMA acl40_evil2 AUTHORIZATION acl40_evil2;
INSERT INTO smtp_mail.host_acl (host, principal, start_date) VALUES ('127.0.0.1', 'acl40_evil2', now() + interval '1 day');
SET ROLE acl40_evil2;
CREATE FUNCTION acl40_evil2.le(timestamptz, timestamptz) RETURNS boolean
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_catalog.set_config('acl40.evil_op_ran_as', current_user, false);
    RETURN true;
END $$;
CREATE OPERATOR acl40_evil2.<= (LEFTARG = timestamptz, RIGHTARG = timestamptz, FUNCTION = acl40_evil2.le);
SET search_path = acl40_evil2, pg_catalog, public;
SELECT is(t.acl40_try('127.0.0.1'), '42501', 'an operator <= in the caller''s search_path does not make a future row current');
RESET search_path;
RESET ROLE;
SELECT is(current_setting('acl40.evil_op_ran_as', true), NULL, 'the ACL check runs no operator from the caller''s search_path');

SELECT * FROM finish();
ROLLBACK;
