-- Text is sent as UTF-8 whatever the database encoding: a LATIN1 database
-- (set up by the runner, reached with dblink) sends the same bytes as this
-- UTF-8 one.
BEGIN;
SELECT plan(4);
SELECT t.allow_loopback();

-- Send one message from the LATIN1 database; body and HELO are given as
-- LATIN1 bytes so this file's own encoding does not matter.
CREATE FUNCTION pg_temp.send_from_latin1(rcpt text, latin1_body bytea) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM dblink_connect('latin1', current_setting('smtp_test.connstr_latin1'));
    PERFORM dblink_exec('latin1', format($f$
        DO $d$
        DECLARE c utl_smtp.connection;
        BEGIN
            c := utl_smtp.open_connection('127.0.0.1', current_setting('smtp_test.plain')::int, 10);
            PERFORM utl_smtp.ehlo(c, 'latin1-' || %L);
            PERFORM utl_smtp.mail(c, 'sender@example.com');
            PERFORM utl_smtp.rcpt(c, %L);
            PERFORM utl_smtp.open_data(c);
            PERFORM utl_smtp.write_data(c, convert_from(%L::bytea, 'LATIN1'));
            PERFORM utl_smtp.close_data(c);
            PERFORM utl_smtp.quit(c);
        END $d$ $f$, rcpt, rcpt, latin1_body));
    PERFORM dblink_disconnect('latin1');
    RETURN 'sent';
END $$;

SELECT is(pg_temp.send_from_latin1('latin1-a@example.com', '\x5375626a6563743a20636166e90a0a4772fcdf650a'::bytea), 'sent',
          'a LATIN1 database sends a message with accented text');
SELECT is(t.message('latin1-a@example.com'),
          '\x5375626a6563743a20636166c3a90d0a0d0a4772c3bcc39f650d0a'::bytea,
          'its é, ü and ß arrive as UTF-8 bytes (C3 A9, C3 BC, C3 9F), lines as CRLF');

-- The same text from this UTF-8 database gives the same bytes.
SELECT lives_ok($$
    DO $d$
    DECLARE c utl_smtp.connection;
    BEGIN
        c := t.open_plain('utf8-same');
        PERFORM utl_smtp.mail(c, 'sender@example.com');
        PERFORM utl_smtp.rcpt(c, 'utf8-same@example.com');
        PERFORM utl_smtp.data(c, convert_from('\x5375626a6563743a20636166c3a90a0a4772c3bcc39f650a'::bytea, 'UTF8'));
        PERFORM utl_smtp.quit(c);
    END $d$ $$, 'the UTF-8 database sends the same text');
SELECT is(t.message('utf8-same@example.com'), t.message('latin1-a@example.com'),
          'both databases put the same bytes on the wire');

SELECT * FROM finish();
ROLLBACK;
