-- The privilege model: PUBLIC may call UTL_SMTP (the ACL is the gate, as in
-- Oracle) but cannot read or change the ACL, inspect wallets or servers, or
-- change a trust-related setting; the extension is untrusted, not
-- relocatable, and dumps its ACL.
BEGIN;
SELECT plan(58);

-- Settings exist only once the library is loaded; load it so SET checks
-- the real definitions rather than creating placeholders.
LOAD 'smtp_mail';

CREATE ROLE priv41_user;

-------------------------------------------------------------------------------
-- What PUBLIC may do
-------------------------------------------------------------------------------

SELECT is((SELECT count(*) FROM pg_proc WHERE pronamespace = 'utl_smtp'::regnamespace), 22::bigint,
          'schema utl_smtp holds the 22 UTL_SMTP functions');
SELECT is(ARRAY(SELECT p.oid::regprocedure::text FROM pg_proc p
                 WHERE p.pronamespace = 'utl_smtp'::regnamespace
                   AND NOT has_function_privilege('priv41_user', p.oid, 'EXECUTE')
                 ORDER BY 1),
          '{}'::text[], 'a plain role may execute every utl_smtp function');
SELECT ok(has_function_privilege('priv41_user', 'smtp_mail.connections()', 'EXECUTE'),
          'a plain role may execute smtp_mail.connections()');
SELECT ok(has_schema_privilege('priv41_user', 'utl_smtp', 'USAGE'), 'a plain role may use schema utl_smtp');
SELECT ok(has_schema_privilege('priv41_user', 'smtp_mail', 'USAGE'), 'a plain role may use schema smtp_mail');
SELECT ok(NOT has_schema_privilege('priv41_user', 'smtp_mail', 'CREATE'), 'a plain role may not create in schema smtp_mail');
SELECT ok(NOT has_schema_privilege('priv41_user', 'utl_smtp', 'CREATE'), 'a plain role may not create in schema utl_smtp');
SELECT ok(has_table_privilege('priv41_user', 'smtp_mail.my_host_acl', 'SELECT'), 'a plain role may read smtp_mail.my_host_acl');

SET ROLE priv41_user;
SELECT lives_ok($$SELECT * FROM smtp_mail.connections()$$, 'a plain role lists its connections');
SELECT is(utl_smtp.all_schemes(), 'CRAM-MD5 PLAIN LOGIN', 'a plain role calls utl_smtp.all_schemes()');
SELECT lives_ok($$SELECT * FROM smtp_mail.my_host_acl$$, 'a plain role reads smtp_mail.my_host_acl');
SELECT lives_ok($$SET smtp_mail.connect_timeout = 5$$, 'a plain role may SET smtp_mail.connect_timeout');
SELECT is(current_setting('smtp_mail.connect_timeout'), '5s', 'and the setting takes effect');
RESET smtp_mail.connect_timeout;

-------------------------------------------------------------------------------
-- The ACL table: no access for PUBLIC, directly or through the view
-------------------------------------------------------------------------------

SELECT throws_ok($$SELECT * FROM smtp_mail.host_acl$$, '42501', NULL, 'a plain role cannot SELECT host_acl');
SELECT throws_ok($$INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('*', current_user)$$, '42501', NULL,
                 'a plain role cannot INSERT into host_acl');
SELECT throws_ok($$UPDATE smtp_mail.host_acl SET principal = current_user$$, '42501', NULL,
                 'a plain role cannot UPDATE host_acl');
SELECT throws_ok($$DELETE FROM smtp_mail.host_acl$$, '42501', NULL, 'a plain role cannot DELETE from host_acl');
SELECT throws_ok($$TRUNCATE smtp_mail.host_acl$$, '42501', NULL, 'a plain role cannot TRUNCATE host_acl');
SELECT throws_ok($$INSERT INTO smtp_mail.my_host_acl (host, principal) VALUES ('*', current_user)$$, '42501', NULL,
                 'a plain role cannot INSERT through the my_host_acl view');
SELECT throws_ok($$UPDATE smtp_mail.my_host_acl SET host = '*'$$, '42501', NULL,
                 'a plain role cannot UPDATE through the my_host_acl view');
SELECT throws_ok($$DELETE FROM smtp_mail.my_host_acl$$, '42501', NULL,
                 'a plain role cannot DELETE through the my_host_acl view');
SELECT throws_ok($$SELECT nextval('smtp_mail.host_acl_id_seq')$$, '42501', NULL,
                 'a plain role cannot use the host_acl id sequence');
RESET ROLE;

SELECT ok(NOT has_table_privilege('priv41_user', 'smtp_mail.host_acl', 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER'),
          'has_table_privilege: no privilege at all on host_acl');
SELECT is((SELECT count(*) FROM pg_class c, aclexplode(c.relacl) a
            WHERE c.oid = 'smtp_mail.host_acl'::regclass AND a.grantee = 0), 0::bigint,
          'host_acl grants nothing to PUBLIC');

-------------------------------------------------------------------------------
-- Admin and inspection functions: not for PUBLIC
-------------------------------------------------------------------------------

SELECT ok(NOT has_function_privilege('priv41_user', 'smtp_mail.wallet_certificates(text, text)', 'EXECUTE'),
          'a plain role may not execute wallet_certificates');
SELECT ok(NOT has_function_privilege('priv41_user', 'smtp_mail.server_certificates(text, integer, boolean, text, text)', 'EXECUTE'),
          'a plain role may not execute server_certificates');
SELECT ok(NOT has_function_privilege('priv41_user', 'smtp_mail.append_host_ace(text, integer, integer, text, timestamptz, timestamptz)', 'EXECUTE'),
          'a plain role may not execute append_host_ace');
SELECT ok(NOT has_function_privilege('priv41_user', 'smtp_mail.remove_host_ace(text, integer, integer, text)', 'EXECUTE'),
          'a plain role may not execute remove_host_ace');

SET ROLE priv41_user;
SELECT throws_ok($$SELECT * FROM smtp_mail.wallet_certificates('system:')$$, '42501', NULL,
                 'calling wallet_certificates is refused (42501)');
SELECT throws_ok($$SELECT * FROM smtp_mail.server_certificates('127.0.0.1', 25)$$, '42501', NULL,
                 'calling server_certificates is refused (42501)');
SELECT throws_ok($$SELECT smtp_mail.append_host_ace('*')$$, '42501', NULL,
                 'calling append_host_ace is refused (42501)');
SELECT throws_ok($$SELECT smtp_mail.remove_host_ace('*')$$, '42501', NULL,
                 'calling remove_host_ace is refused (42501)');
RESET ROLE;

-------------------------------------------------------------------------------
-- Settings: trust-related ones are superuser-only
-------------------------------------------------------------------------------

SELECT results_eq(
    $$SELECT name, context FROM pg_settings WHERE name LIKE 'smtp\_mail.%' ORDER BY name$$,
    $$VALUES ('smtp_mail.allow_plaintext_auth'::text, 'superuser'::text),
             ('smtp_mail.connect_timeout', 'user'),
             ('smtp_mail.default_wallet', 'superuser'),
             ('smtp_mail.max_connections', 'superuser'),
             ('smtp_mail.tls_min_version', 'superuser'),
             ('smtp_mail.trace', 'superuser'),
             ('smtp_mail.wallet_root', 'superuser')$$,
    'the smtp_mail.* settings and who may set them');

SET ROLE priv41_user;
SELECT throws_ok($$SET smtp_mail.default_wallet = 'file:/tmp'$$, '42501', NULL,
                 'a plain role cannot SET smtp_mail.default_wallet');
SELECT throws_ok($$SET smtp_mail.wallet_root = '/'$$, '42501', NULL,
                 'a plain role cannot SET smtp_mail.wallet_root');
SELECT throws_ok($$SET smtp_mail.tls_min_version = 'TLSv1.3'$$, '42501', NULL,
                 'a plain role cannot SET smtp_mail.tls_min_version');
SELECT throws_ok($$SET smtp_mail.allow_plaintext_auth = on$$, '42501', NULL,
                 'a plain role cannot SET smtp_mail.allow_plaintext_auth');
SELECT throws_ok($$SET smtp_mail.max_connections = 1000$$, '42501', NULL,
                 'a plain role cannot SET smtp_mail.max_connections');
SELECT throws_ok($$SET smtp_mail.trace = on$$, '42501', NULL,
                 'a plain role cannot SET smtp_mail.trace');
SELECT throws_ok($$SELECT set_config('smtp_mail.allow_plaintext_auth', 'on', false)$$, '42501', NULL,
                 'nor through set_config()');
SELECT throws_ok($$ALTER ROLE priv41_user SET smtp_mail.wallet_root = '/'$$, '42501', NULL,
                 'nor through ALTER ROLE ... SET on itself');
SELECT is(current_setting('smtp_mail.allow_plaintext_auth'), 'off', 'allow_plaintext_auth is still off');
RESET ROLE;

-- A plain role that sets a placeholder before the library is loaded (a
-- fresh session, through dblink) does not get its value applied on load.
SELECT dblink_connect('priv41', current_setting('smtp_test.connstr'));
SELECT dblink_exec('priv41', 'SET ROLE pg_read_all_settings');
SELECT dblink_exec('priv41', 'SET smtp_mail.allow_plaintext_auth = on');
SELECT is((SELECT v FROM dblink('priv41', 'SELECT utl_smtp.all_schemes(), current_setting(''smtp_mail.allow_plaintext_auth'')')
             AS x(s text, v text)),
          'off', 'a value a plain role set before the library loaded is discarded');
SELECT dblink_disconnect('priv41');

-- tls_min_version cannot weaken TLS, even for a superuser.
SELECT throws_ok($$SET smtp_mail.tls_min_version = 'TLSv1'$$, '22023', NULL, 'tls_min_version refuses TLSv1 (22023)');
SELECT throws_ok($$SET smtp_mail.tls_min_version = 'TLSv1.1'$$, '22023', NULL, 'tls_min_version refuses TLSv1.1 (22023)');
SELECT throws_ok($$SET smtp_mail.tls_min_version = 'SSLv3'$$, '22023', NULL, 'tls_min_version refuses SSLv3 (22023)');
SELECT lives_ok($$SET smtp_mail.tls_min_version = 'TLSv1.3'$$, 'tls_min_version accepts TLSv1.3');
SELECT lives_ok($$SET smtp_mail.tls_min_version = 'TLSv1.2'$$, 'tls_min_version accepts TLSv1.2');
RESET smtp_mail.tls_min_version;
SELECT is((SELECT boot_val FROM pg_settings WHERE name = 'smtp_mail.tls_min_version'), 'TLSv1.2',
          'tls_min_version defaults to TLSv1.2');
SELECT is((SELECT enumvals FROM pg_settings WHERE name = 'smtp_mail.tls_min_version'), ARRAY['TLSv1.2', 'TLSv1.3'],
          'tls_min_version offers TLSv1.2 and TLSv1.3 only');

-------------------------------------------------------------------------------
-- The extension itself
-------------------------------------------------------------------------------

SELECT is(ARRAY(SELECT p.oid::regprocedure::text
                  FROM pg_proc p
                 WHERE p.prosecdef
                   AND (p.pronamespace IN ('utl_smtp'::regnamespace, 'utl_mail'::regnamespace, 'smtp_mail'::regnamespace)
                        OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                                    WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e'
                                      AND d.refclassid = 'pg_extension'::regclass AND e.extname = 'smtp_mail'))
                   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) s WHERE s LIKE 'search\_path=%')
                 ORDER BY 1),
          '{}'::text[], 'every SECURITY DEFINER function of the extension pins its search_path');
SELECT is((SELECT trusted FROM pg_available_extension_versions WHERE name = 'smtp_mail' AND version = '1.0'), false,
          'the extension is not trusted (only a superuser may create it)');
SELECT is((SELECT superuser FROM pg_available_extension_versions WHERE name = 'smtp_mail' AND version = '1.0'), true,
          'the extension needs a superuser to install');
SELECT is((SELECT extrelocatable FROM pg_extension WHERE extname = 'smtp_mail'), false, 'the extension is not relocatable');
SELECT ok((SELECT 'smtp_mail.host_acl'::regclass::oid = ANY (extconfig) FROM pg_extension WHERE extname = 'smtp_mail'),
          'pg_extension_config_dump registered host_acl (pg_dump keeps its rows)');
SELECT ok((SELECT 'smtp_mail.host_acl_id_seq'::regclass::oid = ANY (extconfig) FROM pg_extension WHERE extname = 'smtp_mail'),
          'and its id sequence');
SELECT is((SELECT extnamespace::regnamespace::text FROM pg_extension WHERE extname = 'smtp_mail'), 'smtp_mail',
          'the extension lives in schema smtp_mail');
SELECT ok(EXISTS (SELECT 1 FROM pg_depend d
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = 'smtp_mail.host_acl'::regclass
                     AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'),
          'host_acl belongs to the extension');

SELECT * FROM finish();
ROLLBACK;
