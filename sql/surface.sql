--
-- The SQL surface of smtp_mail: schemas, types, every function with its
-- argument names and defaults (so ported code in named notation keeps
-- working), the ACL table and view, and the settings.
--
-- The schemas the extension creates.
SELECT nspname
  FROM pg_namespace
 WHERE nspname IN ('utl_smtp', 'utl_mail', 'smtp_mail')
 ORDER BY nspname;

-- The extension's own schema, version and relocatability.
SELECT extname, extversion, extnamespace::regnamespace AS schema, extrelocatable
  FROM pg_extension
 WHERE extname = 'smtp_mail';

-- utl_smtp.connection and utl_smtp.reply, column by column.
SELECT c.relname AS type, a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS column_type
  FROM pg_class c
  JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = 'utl_smtp'::regnamespace AND c.relkind = 'c'
 ORDER BY c.relname, a.attnum;

-- utl_smtp.replies is a domain over reply[].
SELECT t.typname, t.typtype, format_type(t.typbasetype, t.typtypmod) AS base_type
  FROM pg_type t
 WHERE t.typnamespace = 'utl_smtp'::regnamespace AND t.typtype = 'd';

-- Every function of utl_smtp and smtp_mail with its arguments (names,
-- modes, types, defaults), one argument a line, and its result.
SELECT p.pronamespace::regnamespace::text AS schema,
       p.proname AS name,
       a.n,
       a.arg
  FROM pg_proc p,
       regexp_split_to_table(pg_get_function_arguments(p.oid), ', ') WITH ORDINALITY AS a(arg, n)
 WHERE p.pronamespace IN ('utl_smtp'::regnamespace, 'smtp_mail'::regnamespace)
 ORDER BY 1, 2, 3;

SELECT p.pronamespace::regnamespace::text AS schema,
       p.proname AS name,
       pg_get_function_result(p.oid) AS result
  FROM pg_proc p
 WHERE p.pronamespace IN ('utl_smtp'::regnamespace, 'smtp_mail'::regnamespace)
 ORDER BY 1, 2;

-- Language, volatility, strictness, security, parallel safety, settings.
SELECT p.pronamespace::regnamespace::text AS schema,
       p.proname AS name,
       l.lanname AS language,
       p.provolatile AS volatile,
       p.proisstrict AS strict,
       p.prosecdef AS security_definer,
       p.proparallel AS parallel,
       p.proconfig AS config
  FROM pg_proc p
  JOIN pg_language l ON l.oid = p.prolang
 WHERE p.pronamespace IN ('utl_smtp'::regnamespace, 'smtp_mail'::regnamespace)
 ORDER BY 1, 2;

-- The C entry points behind the C functions (MODULE_PATHNAME, symbol).
SELECT p.proname AS name, p.prosrc AS symbol
  FROM pg_proc p
 WHERE p.pronamespace IN ('utl_smtp'::regnamespace, 'smtp_mail'::regnamespace)
   AND p.prolang = (SELECT oid FROM pg_language WHERE lanname = 'c')
 ORDER BY 1;

-- Oracle's argument names work in named notation: every function, every
-- argument by name (PREPARE resolves the call without running it).
PREPARE open_connection_named AS
    SELECT utl_smtp.open_connection(host => 'smtp.example.com', port => 587, tx_timeout => 30,
                                    wallet_path => 'system:', wallet_password => NULL,
                                    secure_connection_before_smtp => false, secure_host => 'smtp.example.com');
PREPARE helo_named AS SELECT utl_smtp.helo(c => $1, domain => 'example.com');
PREPARE ehlo_named AS SELECT utl_smtp.ehlo(c => $1, domain => 'example.com');
PREPARE starttls_named AS SELECT utl_smtp.starttls(c => $1, secure_host => 'smtp.example.com');
PREPARE auth_named AS SELECT utl_smtp.auth(c => $1, username => 'u', password => 'p', schemes => utl_smtp.all_schemes());
PREPARE mail_named AS SELECT utl_smtp.mail(c => $1, sender => 'a@example.com', parameters => 'BODY=8BITMIME');
PREPARE rcpt_named AS SELECT utl_smtp.rcpt(c => $1, recipient => 'b@example.com', parameters => NULL);
PREPARE data_named AS SELECT utl_smtp.data(c => $1, body => 'hello');
PREPARE open_data_named AS SELECT utl_smtp.open_data(c => $1);
PREPARE write_data_named AS SELECT utl_smtp.write_data(c => $1, data => 'hello');
PREPARE write_raw_data_named AS SELECT utl_smtp.write_raw_data(c => $1, data => '\x68656c6c6f'::bytea);
PREPARE close_data_named AS SELECT utl_smtp.close_data(c => $1);
PREPARE rset_named AS SELECT utl_smtp.rset(c => $1);
PREPARE noop_named AS SELECT utl_smtp.noop(c => $1);
PREPARE quit_named AS SELECT utl_smtp.quit(c => $1);
PREPARE vrfy_named AS SELECT utl_smtp.vrfy(c => $1, recipient => 'b@example.com');
PREPARE help_named AS SELECT utl_smtp.help(c => $1, command => 'MAIL');
PREPARE command_named AS SELECT utl_smtp.command(c => $1, cmd => 'NOOP', arg => NULL);
PREPARE command_replies_named AS SELECT utl_smtp.command_replies(c => $1, cmd => 'HELP', arg => NULL);
PREPARE close_connection_named AS SELECT utl_smtp.close_connection(c => $1);
PREPARE server_certificates_named AS
    SELECT * FROM smtp_mail.server_certificates(host => 'smtp.example.com', port => 587, starttls => true,
                                                secure_host => 'smtp.example.com', wallet_path => 'system:');
PREPARE wallet_certificates_named AS
    SELECT * FROM smtp_mail.wallet_certificates(wallet_path => 'system:', wallet_password => NULL);
PREPARE append_host_ace_named AS
    SELECT smtp_mail.append_host_ace(host => 'smtp.example.com', lower_port => 587, upper_port => 587,
                                     principal => 'PUBLIC', start_date => NULL, end_date => NULL);
PREPARE remove_host_ace_named AS
    SELECT smtp_mail.remove_host_ace(host => 'smtp.example.com', lower_port => 587, upper_port => 587,
                                     principal => 'PUBLIC');
SELECT name, parameter_types FROM pg_prepared_statements ORDER BY name COLLATE "C";
DEALLOCATE ALL;

-- The ACL table: columns, defaults, constraints; the view; the comment.
SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS column_type, a.attnotnull AS not_null,
       a.attidentity AS identity, pg_get_expr(d.adbin, d.adrelid) AS default_value
  FROM pg_attribute a
  LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
 WHERE a.attrelid = 'smtp_mail.host_acl'::regclass AND a.attnum > 0 AND NOT a.attisdropped
 ORDER BY a.attnum;

SELECT contype, pg_get_constraintdef(oid) AS definition
  FROM pg_constraint
 WHERE conrelid = 'smtp_mail.host_acl'::regclass
 ORDER BY contype, pg_get_constraintdef(oid);

SELECT obj_description('smtp_mail.host_acl'::regclass, 'pg_class') AS comment;

SELECT a.attnum, a.attname, format_type(a.atttypid, a.atttypmod) AS column_type
  FROM pg_attribute a
 WHERE a.attrelid = 'smtp_mail.my_host_acl'::regclass AND a.attnum > 0
 ORDER BY a.attnum;

-- Relations of the extension and what PUBLIC may do with them.
SELECT c.oid::regclass::text AS relation, c.relkind,
       has_table_privilege('public', c.oid, 'SELECT') AS public_select,
       has_table_privilege('public', c.oid, 'INSERT') AS public_insert
  FROM pg_class c
 WHERE c.relnamespace IN ('utl_smtp'::regnamespace, 'smtp_mail'::regnamespace)
   AND c.relkind IN ('r', 'v', 'S')
 ORDER BY 1;

-- Functions PUBLIC may not execute.
SELECT p.oid::regprocedure::text AS function
  FROM pg_proc p
 WHERE p.pronamespace IN ('utl_smtp'::regnamespace, 'smtp_mail'::regnamespace)
   AND NOT has_function_privilege('public', p.oid, 'EXECUTE')
 ORDER BY 1;

-- A fresh database has an empty allow-list and this session no connections.
SELECT count(*) AS acl_rows FROM smtp_mail.host_acl;
SELECT count(*) AS connections FROM smtp_mail.connections();

-- The settings (defined when the library loads) and their defaults.
LOAD 'smtp_mail';
SELECT name, vartype, context, boot_val, unit, min_val, max_val, enumvals
  FROM pg_settings
 WHERE name LIKE 'smtp\_mail.%'
 ORDER BY name COLLATE "C";

-- The prefix is reserved: a misspelt setting is an error, not a placeholder.
SET smtp_mail.tls_min_versoin = 'TLSv1.3';
