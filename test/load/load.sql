-- Functions of the load test (test/load/run.sh), in schema load of a
-- throwaway database.  Each load.* runner is called once per backend by one
-- psql process and returns one row: what it sent, what failed and how, and
-- the backend's open file descriptors and TopMemoryContext before and after.
CREATE SCHEMA load;

-- Open file descriptors of this backend (the listing's own fd included, the
-- same way every time).
CREATE FUNCTION load.fds() RETURNS integer
LANGUAGE sql AS $$ SELECT count(*)::integer FROM pg_ls_dir('/proc/' || pg_backend_pid() || '/fd') $$;

-- Bytes in use in TopMemoryContext itself (connections, wallets, buffers).
CREATE FUNCTION load.top_mem() RETURNS bigint
LANGUAGE sql AS $$
    SELECT used_bytes FROM pg_backend_memory_contexts WHERE name = 'TopMemoryContext' AND level = 0
$$;

-- Open connections of this backend that utl_smtp still holds.
CREATE FUNCTION load.open_conns() RETURNS integer
LANGUAGE sql AS $$ SELECT count(*)::integer FROM smtp_mail.connections() $$;

-- A connection to 127.0.0.1:port, implicit TLS or plain, EHLO sent.
CREATE FUNCTION load.open(port integer, tls boolean, tx_timeout integer, helo text, wallet text)
RETURNS utl_smtp.connection
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    c := utl_smtp.open_connection(host => '127.0.0.1', port => port, tx_timeout => tx_timeout,
                                  wallet_path => CASE WHEN tls THEN wallet END,
                                  secure_connection_before_smtp => tls);
    PERFORM utl_smtp.ehlo(c, helo);
    RETURN c;
END $$;

-- One message over an open connection, identified by id (recipient
-- id@example.com and header X-Load-Id), the body written in three pieces.
CREATE FUNCTION load.send(c utl_smtp.connection, id text) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM utl_smtp.mail(c, 'load-sender@example.com');
    PERFORM utl_smtp.rcpt(c, id || '@example.com');
    PERFORM utl_smtp.open_data(c);
    PERFORM utl_smtp.write_data(c, 'Subject: load ' || id || E'\r\nX-Load-Id: ' || id || E'\r\n\r\n');
    PERFORM utl_smtp.write_data(c, repeat('A line of the load test body for ' || id || E'.\r\n', 40));
    PERFORM utl_smtp.write_data(c, E'.a line that starts with a dot\r\nend\r\n');
    PERFORM utl_smtp.close_data(c);
END $$;

-- The runners' common result.
CREATE TYPE load.result AS (
    backend integer, sent integer, faults integer, transient integer, other integer,
    other_errors text, fds_before integer, fds_after integer,
    mem_before bigint, mem_after bigint, open_after integer, seconds numeric);

-- Open, EHLO, MAIL, RSET, QUIT once, so that every catalog and relation the
-- calls touch is open before the file descriptors are counted.
CREATE FUNCTION load.warm_up(port integer, tls boolean, wallet text) RETURNS void
LANGUAGE plpgsql AS $$
DECLARE
    c utl_smtp.connection;
BEGIN
    PERFORM load.fds(), load.top_mem(), load.open_conns();
    c := load.open(port, tls, 30, 'load-warm-up', wallet);
    PERFORM utl_smtp.mail(c, 'load-sender@example.com');
    PERFORM utl_smtp.rset(c);
    PERFORM utl_smtp.quit(c);
END $$;

-- n messages over one connection (open once, QUIT at the end); any error
-- ends the run (and the psql process) with that error.
CREATE FUNCTION load.run_reuse(backend integer, n integer, port integer, tls boolean,
                               wallet text, tag text)
RETURNS load.result
LANGUAGE plpgsql AS $$
DECLARE
    r load.result;
    c utl_smtp.connection;
    t0 timestamptz;
BEGIN
    PERFORM load.warm_up(port, tls, wallet);
    r := ROW(backend, 0, 0, 0, 0, '', load.fds(), NULL, load.top_mem(), NULL, NULL, NULL);
    t0 := clock_timestamp();
    c := load.open(port, tls, 30, 'load-' || tag || '-' || backend, wallet);
    FOR i IN 1 .. n LOOP
        PERFORM load.send(c, format('%s-%s-%s', tag, backend, i));
        r.sent := r.sent + 1;
    END LOOP;
    PERFORM utl_smtp.quit(c);
    r.seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2);
    r.fds_after := load.fds();
    r.mem_after := load.top_mem();
    r.open_after := load.open_conns();
    RETURN r;
END $$;

-- n messages, a new connection for each; any error ends the run.
CREATE FUNCTION load.run_per_message(backend integer, n integer, port integer, tls boolean,
                                     wallet text, tag text)
RETURNS load.result
LANGUAGE plpgsql AS $$
DECLARE
    r load.result;
    c utl_smtp.connection;
    t0 timestamptz;
BEGIN
    PERFORM load.warm_up(port, tls, wallet);
    r := ROW(backend, 0, 0, 0, 0, '', load.fds(), NULL, load.top_mem(), NULL, NULL, NULL);
    t0 := clock_timestamp();
    FOR i IN 1 .. n LOOP
        c := load.open(port, tls, 30, 'load-' || tag || '-' || backend, wallet);
        PERFORM load.send(c, format('%s-%s-%s', tag, backend, i));
        PERFORM utl_smtp.quit(c);
        r.sent := r.sent + 1;
    END LOOP;
    r.seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2);
    r.fds_after := load.fds();
    r.mem_after := load.top_mem();
    r.open_after := load.open_conns();
    RETURN r;
END $$;

-- Faults the test server injects on request (EHLO fault=CMD:ACTION) that
-- must all end in a clean 29278 with the message not stored.  Mangled
-- replies to "dot" are left out: the server stores the message before it
-- sends them, so the client's error would not mean "not delivered".
CREATE FUNCTION load.faults() RETURNS text[]
LANGUAGE sql IMMUTABLE AS $$
    SELECT ARRAY[
        'ehlo:drop', 'mail:drop', 'rcpt:drop', 'data:drop', 'dot:drop',
        'mail:reset', 'rcpt:reset', 'dot:reset',
        'mail:421', 'rcpt:421', 'data:421', 'dot:421',
        'rcpt:451', 'data:451', 'dot:452',
        'mail:garbage', 'rcpt:oversize', 'data:toomany', 'mail:mixed', 'rcpt:nul',
        'dot:stall', 'rcpt:stall']
$$;

-- n messages, a new connection for each; with probability fault_rate the
-- connection asks the server for a random fault.  Errors are caught as a
-- PL/SQL port would: WHEN SQLSTATE '29278' close_connection and go on.
CREATE FUNCTION load.run_faults(backend integer, n integer, port integer, tls boolean,
                                wallet text, tag text, fault_rate float8, tx_timeout integer)
RETURNS load.result
LANGUAGE plpgsql AS $$
DECLARE
    r load.result;
    c utl_smtp.connection;
    f text;
    t0 timestamptz;
    fl text[] := load.faults();
BEGIN
    PERFORM load.warm_up(port, tls, wallet);
    r := ROW(backend, 0, 0, 0, 0, '', load.fds(), NULL, load.top_mem(), NULL, NULL, NULL);
    t0 := clock_timestamp();
    FOR i IN 1 .. n LOOP
        c := NULL;
        f := CASE WHEN random() < fault_rate THEN fl[1 + floor(random() * array_length(fl, 1))::integer] END;
        IF f IS NOT NULL THEN
            r.faults := r.faults + 1;
        END IF;
        BEGIN
            -- Not load.open(): c must hold the connection before EHLO can fail.
            c := utl_smtp.open_connection(host => '127.0.0.1', port => port, tx_timeout => tx_timeout,
                                          wallet_path => CASE WHEN tls THEN wallet END,
                                          secure_connection_before_smtp => tls);
            PERFORM utl_smtp.ehlo(c, COALESCE('fault=' || f, 'load-' || tag || '-' || backend));
            PERFORM load.send(c, format('%s-%s-%s', tag, backend, i));
            PERFORM utl_smtp.quit(c);
            r.sent := r.sent + 1;
            IF f IS NOT NULL THEN
                r.other_errors := r.other_errors || format('[%s: no error] ', f);
            END IF;
        EXCEPTION
            WHEN SQLSTATE '29278' THEN
                PERFORM utl_smtp.close_connection(c);
                r.transient := r.transient + 1;
                IF f IS NULL THEN
                    r.other_errors := r.other_errors || format('[no fault: 29278 %s] ', SQLERRM);
                END IF;
            WHEN OTHERS THEN
                PERFORM utl_smtp.close_connection(c);
                r.other := r.other + 1;
                r.other_errors := r.other_errors || format('[%s: %s %s] ', COALESCE(f, 'no fault'), SQLSTATE, SQLERRM);
        END;
    END LOOP;
    r.seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2);
    r.fds_after := load.fds();
    r.mem_after := load.top_mem();
    r.open_after := load.open_conns();
    RETURN r;
END $$;

-- Connections that cannot be opened, one row per kind (filled by run.sh with
-- the test bed's ports): the SQLSTATE each must raise, every time.
CREATE TABLE load.open_cases (kind text PRIMARY KEY, port integer, tls boolean,
                              starttls boolean, expect text);

-- n attempts, cycling through load.open_cases: open (and STARTTLS where the
-- case says so) must fail with the case's SQLSTATE; faults counts attempts,
-- transient the expected errors, other anything else.
CREATE FUNCTION load.run_open_failures(backend integer, n integer, wallet text)
RETURNS load.result
LANGUAGE plpgsql AS $$
DECLARE
    r load.result;
    c utl_smtp.connection;
    k load.open_cases;
    cases load.open_cases[] := ARRAY(SELECT o FROM load.open_cases o ORDER BY kind);
    t0 timestamptz;
    outcome text;
BEGIN
    PERFORM load.fds(), load.top_mem(), load.open_conns();
    -- The wallet is loaded (and cached) before counting.
    BEGIN
        PERFORM utl_smtp.close_connection(utl_smtp.open_connection(
            '127.0.0.1', cases[1].port, 1, wallet, NULL, cases[1].tls));
    EXCEPTION WHEN OTHERS THEN NULL;
    END;
    r := ROW(backend, 0, 0, 0, 0, '', load.fds(), NULL, load.top_mem(), NULL, NULL, NULL);
    t0 := clock_timestamp();
    FOR i IN 1 .. n LOOP
        k := cases[1 + (backend + i) % array_length(cases, 1)];
        c := NULL;
        r.faults := r.faults + 1;
        BEGIN
            c := utl_smtp.open_connection(host => '127.0.0.1', port => k.port, tx_timeout => 1,
                                          wallet_path => wallet, secure_connection_before_smtp => k.tls);
            IF k.starttls THEN
                PERFORM utl_smtp.ehlo(c, 'load-open-' || k.kind);
                PERFORM utl_smtp.starttls(c);
            END IF;
            PERFORM utl_smtp.quit(c);
            outcome := 'no error';
        EXCEPTION WHEN OTHERS THEN
            PERFORM utl_smtp.close_connection(c);
            outcome := SQLSTATE;
        END;
        IF outcome = k.expect THEN
            r.transient := r.transient + 1;
        ELSE
            r.other := r.other + 1;
            r.other_errors := r.other_errors || format('[%s: %s, expected %s] ', k.kind, outcome, k.expect);
        END IF;
    END LOOP;
    r.seconds := round(extract(epoch FROM clock_timestamp() - t0)::numeric, 2);
    r.fds_after := load.fds();
    r.mem_after := load.top_mem();
    r.open_after := load.open_conns();
    RETURN r;
END $$;
