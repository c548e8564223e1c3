#!/usr/bin/env bash
# The test bed: a throwaway PostgreSQL cluster, the test SMTP server and a
# private Postfix, all on loopback and free ports, under one work directory.
# Source it, call testbed_start, and testbed_stop (set as an EXIT trap).

TESTBED_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
PG_BIN=$(pg_config --bindir 2>/dev/null || echo /usr/lib/postgresql/15/bin)
[ -x "$PG_BIN/initdb" ] || PG_BIN=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3

# N distinct TCP ports nobody listens on, free on 127.0.0.1 and ::1.
free_ports() {
    "$PY" - "$1" <<'PYEOF'
import socket, sys
held, ports = [], []
while len(ports) < int(sys.argv[1]):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]
    try:
        t = socket.socket(socket.AF_INET6); t.bind(("::1", p)); held.append(t)
    except OSError:
        s.close(); continue
    held.append(s); ports.append(p)
print(" ".join(map(str, ports)))
PYEOF
}

# Run a command as the postgres OS user (initdb/postgres refuse root).
as_postgres() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

testbed_start() {
    WORK=${WORK:-$(mktemp -d /tmp/smtp_mail_test.XXXXXX)}
    chmod 755 "$WORK"
    export WORK
    bash "$TESTBED_ROOT/test/pki/make-pki.sh" "$WORK/pki" >/dev/null

    # The test SMTP server: one port of each kind, plus fault and bad-cert ports.
    read -r P_PLAIN P_STARTTLS P_TLS P_EXPIRED P_WRONGNAME P_SELFSIGNED \
        P_GREET421 P_GREET554 P_GREETDROP P_GREETSTALL P_GREETGARBAGE P_INJECT \
        P_RELAY P_STARTTLS_EXPIRED P_PF_SMTP P_PF_SUBMISSION P_PF_SMTPS PGPORT P_CLOSED \
        <<<"$(free_ports 19)"
    mkdir -p "$WORK/smtpd" "$WORK/relay"
    "$PY" "$TESTBED_ROOT/test/smtpd/smtpd.py" --dir "$WORK/smtpd" --pki "$WORK/pki" \
        --ready-file "$WORK/smtpd.ready" --line-limit 100000 \
        --listen "$P_PLAIN:plain" --listen "$P_PLAIN:plain6" \
        --listen "$P_STARTTLS:starttls" --listen "$P_TLS:tls" \
        --listen "$P_EXPIRED:tls:expired" --listen "$P_WRONGNAME:tls:wrongname" \
        --listen "$P_SELFSIGNED:tls:selfsigned" \
        --listen "$P_STARTTLS_EXPIRED:starttls:expired" \
        --listen "$P_GREET421:plain::greeting:421" --listen "$P_GREET554:plain::greeting:554" \
        --listen "$P_GREETDROP:plain::greeting:drop" --listen "$P_GREETSTALL:plain::greeting:stall" \
        --listen "$P_GREETGARBAGE:plain::greeting:garbage" \
        --listen "$P_INJECT:starttls::starttls:inject" \
        >"$WORK/smtpd.out" 2>&1 &
    echo $! >"$WORK/smtpd.pid"
    # The relay target Postfix delivers to: a second, plain instance.
    "$PY" "$TESTBED_ROOT/test/smtpd/smtpd.py" --dir "$WORK/relay" --pki "$WORK/pki" \
        --ready-file "$WORK/relay.ready" --line-limit 100000 --listen "$P_RELAY:plain" \
        >"$WORK/relay.out" 2>&1 &
    echo $! >"$WORK/relay.pid"

    # Postfix on loopback high ports, relaying to the second instance.
    bash "$TESTBED_ROOT/test/postfix/postfix-ctl.sh" start "$WORK/postfix" --pki "$WORK/pki" \
        --smtp-port "$P_PF_SMTP" --submission-port "$P_PF_SUBMISSION" \
        --smtps-port "$P_PF_SMTPS" --relay-port "$P_RELAY" >"$WORK/postfix.out" 2>&1 \
        || { cat "$WORK/postfix.out"; return 1; }

    # PostgreSQL.
    PGHOST=$WORK/pg/sock
    mkdir -p "$PGHOST" "$WORK/pg/data"
    chown -R postgres: "$WORK/pg" 2>/dev/null || true
    as_postgres "$PG_BIN/initdb" -D "$WORK/pg/data" -U postgres --auth=trust \
        --encoding=UTF8 --locale=C.UTF-8 >"$WORK/initdb.log" 2>&1 || { cat "$WORK/initdb.log"; return 1; }
    as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -l "$WORK/pg/postgres.log" -w start \
        -o "-p $PGPORT -k $PGHOST -c listen_addresses='' -c max_connections=60" >/dev/null
    export PGHOST PGPORT PGUSER=postgres

    for f in smtpd relay; do
        for _ in $(seq 100); do [ -f "$WORK/$f.ready" ] && break; sleep 0.1; done
        [ -f "$WORK/$f.ready" ] || { echo "test SMTP server ($f) did not start:"; cat "$WORK/$f.out"; return 1; }
    done
    cat >"$WORK/env" <<ENVEOF
WORK=$WORK
PGHOST=$PGHOST
PGPORT=$PGPORT
P_PLAIN=$P_PLAIN
P_STARTTLS=$P_STARTTLS
P_TLS=$P_TLS
P_PF_SMTP=$P_PF_SMTP
P_PF_SUBMISSION=$P_PF_SUBMISSION
P_PF_SMTPS=$P_PF_SMTPS
ENVEOF
}

# Settings the SQL tests read with current_setting('smtp_test.x').
testbed_settings_sql() {
    local db=$1
    cat <<SQLEOF
ALTER DATABASE $db SET smtp_test.dir = '$WORK';
ALTER DATABASE $db SET smtp_test.smtpd_dir = '$WORK/smtpd';
ALTER DATABASE $db SET smtp_test.relay_dir = '$WORK/relay';
ALTER DATABASE $db SET smtp_test.pki = '$WORK/pki';
ALTER DATABASE $db SET smtp_test.connstr = 'host=$PGHOST port=$PGPORT user=postgres dbname=$db';
ALTER DATABASE $db SET smtp_test.plain = '$P_PLAIN';
ALTER DATABASE $db SET smtp_test.starttls = '$P_STARTTLS';
ALTER DATABASE $db SET smtp_test.tls = '$P_TLS';
ALTER DATABASE $db SET smtp_test.tls_expired = '$P_EXPIRED';
ALTER DATABASE $db SET smtp_test.tls_wrongname = '$P_WRONGNAME';
ALTER DATABASE $db SET smtp_test.tls_selfsigned = '$P_SELFSIGNED';
ALTER DATABASE $db SET smtp_test.starttls_expired = '$P_STARTTLS_EXPIRED';
ALTER DATABASE $db SET smtp_test.greet421 = '$P_GREET421';
ALTER DATABASE $db SET smtp_test.greet554 = '$P_GREET554';
ALTER DATABASE $db SET smtp_test.greetdrop = '$P_GREETDROP';
ALTER DATABASE $db SET smtp_test.greetstall = '$P_GREETSTALL';
ALTER DATABASE $db SET smtp_test.greetgarbage = '$P_GREETGARBAGE';
ALTER DATABASE $db SET smtp_test.inject = '$P_INJECT';
ALTER DATABASE $db SET smtp_test.pf_smtp = '$P_PF_SMTP';
ALTER DATABASE $db SET smtp_test.pf_submission = '$P_PF_SUBMISSION';
ALTER DATABASE $db SET smtp_test.pf_smtps = '$P_PF_SMTPS';
ALTER DATABASE $db SET smtp_test.closed = '$P_CLOSED';
SQLEOF
}

testbed_stop() {
    [ -n "${WORK:-}" ] || return 0
    if [ -f "$WORK/pg/data/postmaster.pid" ]; then
        as_postgres "$PG_BIN/pg_ctl" -D "$WORK/pg/data" -m fast stop >/dev/null 2>&1 || true
    fi
    bash "$TESTBED_ROOT/test/postfix/postfix-ctl.sh" stop "$WORK/postfix" >/dev/null 2>&1 || true
    for f in smtpd relay; do
        [ -f "$WORK/$f.pid" ] && kill "$(cat "$WORK/$f.pid")" 2>/dev/null || true
    done
    if [ -z "${KEEP_WORK:-}" ]; then rm -rf "$WORK"; else echo "kept $WORK"; fi
}
