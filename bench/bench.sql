-- PL/pgSQL side of the smtp_mail benchmarks (loaded into the bench database
-- by bench/run).  Everything talks to 127.0.0.1 only.

CREATE SCHEMA IF NOT EXISTS bench;

-- A connection ready for MAIL: mode 'plain', 'starttls' or 'tls' (implicit).
CREATE OR REPLACE FUNCTION bench.connect(port int, mode text, wallet text)
RETURNS utl_smtp.connection LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    IF mode = 'tls' THEN
        c := utl_smtp.open_connection('127.0.0.1', port, tx_timeout => 60,
                                      wallet_path => wallet,
                                      secure_connection_before_smtp => true);
        PERFORM utl_smtp.ehlo(c, 'bench.example');
    ELSIF mode = 'starttls' THEN
        c := utl_smtp.open_connection('127.0.0.1', port, tx_timeout => 60,
                                      wallet_path => wallet);
        PERFORM utl_smtp.ehlo(c, 'bench.example');
        PERFORM utl_smtp.starttls(c);
        PERFORM utl_smtp.ehlo(c, 'bench.example');
    ELSE
        c := utl_smtp.open_connection('127.0.0.1', port, tx_timeout => 60);
        PERFORM utl_smtp.ehlo(c, 'bench.example');
    END IF;
    RETURN c;
END $$;

-- One message on an open connection: MAIL, RCPT, DATA.
CREATE OR REPLACE FUNCTION bench.send_one(c utl_smtp.connection, body text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, 'rcpt@example.com');
    PERFORM utl_smtp.data(c, body);
END $$;

-- n messages on one connection, all in one PL/pgSQL loop.
CREATE OR REPLACE FUNCTION bench.send_loop(c utl_smtp.connection, n int, body text)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    FOR i IN 1..n LOOP
        PERFORM utl_smtp.mail(c, 'sender@example.com');
        PERFORM utl_smtp.rcpt(c, 'rcpt@example.com');
        PERFORM utl_smtp.data(c, body);
    END LOOP;
END $$;

-- n messages, each on its own connection (open ... QUIT); each one's latency in ms.
CREATE OR REPLACE FUNCTION bench.newconn_loop(port int, mode text, wallet text,
                                              n int, body text)
RETURNS float8[] LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
    t0 timestamptz;
    lat float8[] := '{}';
BEGIN
    FOR i IN 1..n LOOP
        t0 := clock_timestamp();
        c := bench.connect(port, mode, wallet);
        PERFORM utl_smtp.mail(c, 'sender@example.com');
        PERFORM utl_smtp.rcpt(c, 'rcpt@example.com');
        PERFORM utl_smtp.data(c, body);
        PERFORM utl_smtp.quit(c);
        lat := array_append(lat, extract(epoch FROM clock_timestamp() - t0)::float8 * 1000);
    END LOOP;
    RETURN lat;
END $$;

-- One big message: MAIL, RCPT, open_data, header, nchunks x write_data(chunk),
-- close_data.  Returns the seconds it took.
CREATE OR REPLACE FUNCTION bench.bulk(c utl_smtp.connection, header text,
                                      chunk text, nchunks int)
RETURNS float8 LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    PERFORM utl_smtp.mail(c, 'sender@example.com');
    PERFORM utl_smtp.rcpt(c, 'rcpt@example.com');
    PERFORM utl_smtp.open_data(c);
    PERFORM utl_smtp.write_data(c, header);
    FOR i IN 1..nchunks LOOP
        PERFORM utl_smtp.write_data(c, chunk);
    END LOOP;
    PERFORM utl_smtp.close_data(c);
    RETURN extract(epoch FROM clock_timestamp() - t0);
END $$;

-- This backend's memory from /proc/self/status, in KiB.
CREATE OR REPLACE FUNCTION bench.rss(OUT vmrss int, OUT rssanon int, OUT vmhwm int)
LANGUAGE sql AS $$
    SELECT substring(s FROM 'VmRSS:\s*(\d+)')::int,
           substring(s FROM 'RssAnon:\s*(\d+)')::int,
           substring(s FROM 'VmHWM:\s*(\d+)')::int
    FROM pg_read_file('/proc/self/status') AS s
$$;

-- RSS of this backend as n connections are opened, used for one message
-- each and closed.  One connection is opened, used and closed first, so
-- one-time costs (library and OpenSSL initialisation, the wallet, the
-- SSL_CTX, the ACL plan) are not counted.
CREATE OR REPLACE FUNCTION bench.open_many(port int, mode text, wallet text,
                                           n int, body text)
RETURNS TABLE (stage text, vmrss int, rssanon int) LANGUAGE plpgsql AS $$
DECLARE
    cs utl_smtp.connection[] := '{}';
    c utl_smtp.connection;
BEGIN
    c := bench.connect(port, mode, wallet);
    PERFORM bench.send_one(c, body);
    PERFORM utl_smtp.quit(c);
    stage := 'before'; SELECT r.vmrss, r.rssanon INTO vmrss, rssanon FROM bench.rss() r; RETURN NEXT;
    FOR i IN 1..n LOOP
        cs := array_append(cs, bench.connect(port, mode, wallet));
    END LOOP;
    stage := 'open'; SELECT r.vmrss, r.rssanon INTO vmrss, rssanon FROM bench.rss() r; RETURN NEXT;
    FOREACH c IN ARRAY cs LOOP
        PERFORM bench.send_one(c, body);
    END LOOP;
    stage := 'used'; SELECT r.vmrss, r.rssanon INTO vmrss, rssanon FROM bench.rss() r; RETURN NEXT;
    FOREACH c IN ARRAY cs LOOP
        PERFORM utl_smtp.quit(c);
    END LOOP;
    stage := 'closed'; SELECT r.vmrss, r.rssanon INTO vmrss, rssanon FROM bench.rss() r; RETURN NEXT;
END $$;
