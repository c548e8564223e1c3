#!/usr/bin/env bash
# make check-load: concurrency and fault robustness of the installed
# smtp_mail (run "make install" first), on the test bed of test/lib/testbed.sh.
#
#   A. LOAD_BACKENDS (20) backends each send LOAD_MESSAGES (100) messages to
#      Postfix over implicit TLS on one reused connection;
#   B. the same with a new connection per message;
#   C. the same against the test SMTP server, a new connection per message
#      (odd backends implicit TLS, even ones plain), where each message asks
#      for a random fault with probability LOAD_FAULT_RATE (0.05), and the
#      PL/pgSQL loop catches SQLSTATE 29278 and calls close_connection;
#   D. each backend tries connections that cannot be opened (refused, bad
#      greetings, bad certificates, TLS/plain mismatch, STARTTLS injection),
#      each of which must raise its documented SQLSTATE.
#
# Checks: every message accepted reaches the server exactly once, every
# fault ends in one clean 29278 and nothing else fails, no backend leaks a
# file descriptor, a connection slot or TopMemoryContext memory, and no
# server process crashes.  KEEP_WORK=1 keeps the work directory.
# Ends with "N passed, N failed"; exit status 0 only if nothing failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
BACKENDS=${LOAD_BACKENDS:-20}
MESSAGES=${LOAD_MESSAGES:-100}
FAULT_RATE=${LOAD_FAULT_RATE:-0.05}
FAULT_TX_TIMEOUT=2                  # seconds a "stall" fault costs
RELAY_WAIT=60                       # seconds Postfix may take to relay
MEM_SLACK=${LOAD_MEM_SLACK:-16384}  # TopMemoryContext growth allowed per backend
db=smtp_mail_load
passed=0
failed=0

note() { printf '\n== %s\n' "$*"; }
check() {
    if [ "$1" = ok ]; then passed=$((passed + 1)); echo "ok: $2"
    else failed=$((failed + 1)); echo "FAIL: $2"; fi
}
q() { psql -X -At -d "$db" -v ON_ERROR_STOP=1 "$@"; }

[ -f "$(pg_config --sharedir)/extension/smtp_mail.control" ] ||
    { echo "smtp_mail is not installed: run make install"; echo "0 passed, 1 failed"; exit 1; }

# shellcheck source=../lib/testbed.sh
source test/lib/testbed.sh
trap testbed_stop EXIT
note "test bed"
testbed_start || { echo "test bed failed to start"; echo "0 passed, 1 failed"; exit 1; }
echo "PostgreSQL on $PGHOST:$PGPORT, work directory $WORK"
OUT=$WORK/load
mkdir -p "$OUT"
WALLET="file:$WORK/pki/wallets/pem"

psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
q -q -c "CREATE EXTENSION smtp_mail" \
    -c "INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', current_user)" \
    -f test/load/load.sql >/dev/null || { echo "setting up the database failed"; echo "0 passed, 1 failed"; exit 1; }
q -q -c "CREATE TABLE load.results (phase text, LIKE load.result)" >/dev/null

# run_phase NAME SQL-TEMPLATE: BACKENDS psql processes at once, each
# inserting the row of one runner call ("%b" in the template = backend no.).
run_phase() {
    local name=$1 template=$2 b sql t0 pids=()
    t0=$(date +%s.%N)
    for b in $(seq 1 "$BACKENDS"); do
        sql=${template//%b/$b}
        q -q -c "INSERT INTO load.results SELECT '$name', r.* FROM $sql r" \
            >"$OUT/$name.$b.out" 2>"$OUT/$name.$b.err" &
        pids+=($!)
    done
    wait "${pids[@]}"
    PHASE_SECONDS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN {printf "%.1f", b - a}')
}

# Files of a capture directory, and the X-Load-Id values of one tag in it.
count_eml() { find "$1/msgs" -name '*.eml' 2>/dev/null | wc -l; }
ids_of() { find "$1/msgs" -name '*.eml' -print0 2>/dev/null | xargs -0 -r grep -h -a '^X-Load-Id: ' | tr -d '\r' | awk -v t="$2-" 'index($2, t) == 1 {print $2}'; }

# Wait until dir holds at least n messages (Postfix relays asynchronously).
wait_for() {
    local dir=$1 n=$2 i
    for i in $(seq 1 $((RELAY_WAIT * 5))); do
        [ "$(count_eml "$dir")" -ge "$n" ] && return 0
        sleep 0.2
    done
    return 1
}

# Per-phase report: backends finished, their errors, and the tallies.
phase_report() {
    local name=$1
    q -F ' ' -c "SELECT count(*), COALESCE(sum(sent), 0), COALESCE(sum(faults), 0), COALESCE(sum(transient), 0),
                        COALESCE(sum(other), 0), COALESCE(max(seconds), 0)
                   FROM load.results WHERE phase = '$name'"
}

finished_ok() {
    local name=$1 rows errs
    rows=$(q -c "SELECT count(*) FROM load.results WHERE phase = '$name'")
    errs=$(cat "$OUT/$name".*.err 2>/dev/null)
    if [ -n "$errs" ]; then echo "$errs" | sort | uniq -c | sort -rn | head -10; fi
    [ "$rows" -eq "$BACKENDS" ] && [ -z "$errs" ]
}

expect=$((BACKENDS * MESSAGES))

# --------------------------------------------------------------------------
for mode in reuse per_message; do
    tag=pf-$mode
    note "Postfix, implicit TLS (port $P_PF_SMTPS), $BACKENDS backends x $MESSAGES messages, ${mode/_/ } connection"
    before=$(count_eml "$WORK/relay")
    run_phase "$tag" "load.run_$mode(%b, $MESSAGES, $P_PF_SMTPS, true, '$WALLET', '$tag')"
    read -r rows sent _ _ _ maxs <<<"$(phase_report "$tag")"
    printf 'client side: %s backends done, %s messages accepted in %s s (%s msg/s; slowest backend %s s)\n' \
        "$rows" "$sent" "$PHASE_SECONDS" "$(awk -v a="$sent" -v b="$PHASE_SECONDS" 'BEGIN {printf "%.0f", a / b}')" "$maxs"
    if finished_ok "$tag" && [ "$sent" -eq "$expect" ]; then
        check ok "$tag: all $BACKENDS backends sent their $MESSAGES messages without an error"
    else
        check fail "$tag: backends failed ($rows of $BACKENDS finished, $sent of $expect messages)"
    fi
    t0=$(date +%s)
    wait_for "$WORK/relay" $((before + sent))
    n=$(ids_of "$WORK/relay" "$tag" | wc -l)
    u=$(ids_of "$WORK/relay" "$tag" | sort -u | wc -l)
    echo "server side: the relay holds $u distinct of $n messages tagged $tag after $(( $(date +%s) - t0 )) s more"
    if [ "$n" -eq "$expect" ] && [ "$u" -eq "$expect" ]; then
        check ok "$tag: Postfix relayed exactly the $expect messages sent, each once"
    else
        check fail "$tag: the relay holds $n messages ($u distinct), expected $expect"
        postqueue -c "$WORK/postfix/conf" -p 2>/dev/null | tail -3
    fi
done

# --------------------------------------------------------------------------
tag=faults
note "test server, a new connection per message, random faults at rate $FAULT_RATE (odd backends TLS port $P_TLS, even plain port $P_PLAIN)"
before=$(count_eml "$WORK/smtpd")
run_phase "$tag" "load.run_faults(%b, $MESSAGES, CASE WHEN %b % 2 = 1 THEN $P_TLS ELSE $P_PLAIN END, %b % 2 = 1, '$WALLET', '$tag', $FAULT_RATE, $FAULT_TX_TIMEOUT)"
read -r rows sent faults transient other maxs <<<"$(phase_report "$tag")"
printf 'client side: %s backends done in %s s; %s messages sent, %s faults injected, %s transient errors (29278), %s other errors\n' \
    "$rows" "$PHASE_SECONDS" "$sent" "$faults" "$transient" "$other"
if finished_ok "$tag"; then
    check ok "$tag: all $BACKENDS backends ran their $MESSAGES messages to the end"
else
    check fail "$tag: backends stopped on an uncaught error ($rows of $BACKENDS finished)"
fi
q -c "SELECT other_errors FROM load.results WHERE phase = '$tag' AND other_errors <> ''" | head -10
if [ "$other" -eq 0 ]; then
    check ok "$tag: no error other than SQLSTATE 29278 (0 others)"
else
    check fail "$tag: $other errors with another SQLSTATE (above)"
fi
if [ "$rows" -eq "$BACKENDS" ] && [ "$transient" -eq "$faults" ] && [ "$faults" -gt 0 ] &&
    [ "$((sent + transient + other))" -eq "$expect" ]; then
    check ok "$tag: each of the $faults faults gave exactly one 29278; every other message was sent"
else
    check fail "$tag: $faults faults, $transient transient errors, $sent sent of $expect"
fi
stored=$(ids_of "$WORK/smtpd" "$tag" | wc -l)
ustored=$(ids_of "$WORK/smtpd" "$tag" | sort -u | wc -l)
echo "server side: $stored messages stored ($ustored distinct), $(( $(count_eml "$WORK/smtpd") - before )) files"
if [ "$stored" -eq "$sent" ] && [ "$ustored" -eq "$sent" ]; then
    check ok "$tag: the server stored exactly the $sent messages reported sent"
else
    check fail "$tag: the server stored $stored messages ($ustored distinct); the clients report $sent"
fi
q -F ' ' -c "SELECT f, count(*) FROM (SELECT substring(l FROM 'EHLO fault=([^''[:space:]]+)') f
               FROM regexp_split_to_table(pg_read_file('$WORK/smtpd/smtpd.log'), E'\n') l) x
              WHERE f IS NOT NULL GROUP BY f ORDER BY 2 DESC, 1" 2>/dev/null |
    awk 'BEGIN {printf "faults seen by the server:"} {printf " %s=%s", $1, $2} END {print ""}'

# --------------------------------------------------------------------------
tag=open-failures
OPEN_ATTEMPTS=$(( MESSAGES / 4 > 13 ? MESSAGES / 4 : 13 ))
note "connections that cannot be opened: $BACKENDS backends x $OPEN_ATTEMPTS attempts over 13 kinds"
q -q -c "INSERT INTO load.open_cases VALUES
    ('refused', $P_CLOSED, false, false, '29278'), ('greeting-421', $P_GREET421, false, false, '29278'),
    ('greeting-554', $P_GREET554, false, false, '29279'), ('greeting-drop', $P_GREETDROP, false, false, '29278'),
    ('greeting-garbage', $P_GREETGARBAGE, false, false, '29278'), ('greeting-stall', $P_GREETSTALL, false, false, '29278'),
    ('cert-expired', $P_EXPIRED, true, false, '29024'), ('cert-wrongname', $P_WRONGNAME, true, false, '29024'),
    ('cert-selfsigned', $P_SELFSIGNED, true, false, '29024'), ('tls-to-plain-port', $P_PLAIN, true, false, '29019'),
    ('plain-to-tls-port', $P_TLS, false, false, '29278'), ('starttls-injection', $P_INJECT, false, true, '29019'),
    ('starttls-cert-expired', $P_STARTTLS_EXPIRED, false, true, '29024')" >/dev/null
run_phase "$tag" "load.run_open_failures(%b, $OPEN_ATTEMPTS, '$WALLET')"
read -r rows _ attempts expected other _ <<<"$(phase_report "$tag")"
echo "client side: $rows backends done in $PHASE_SECONDS s; $attempts attempts, $expected failed as expected, $other otherwise"
q -c "SELECT other_errors FROM load.results WHERE phase = '$tag' AND other_errors <> ''" | head -5
if finished_ok "$tag" && [ "$other" -eq 0 ] && [ "$expected" -eq $((BACKENDS * OPEN_ATTEMPTS)) ]; then
    check ok "$tag: each of the $attempts failed opens raised its documented SQLSTATE (29278, 29279, 29024, 29019)"
else
    check fail "$tag: $other of $attempts failed opens raised another SQLSTATE or none ($rows of $BACKENDS backends finished)"
fi

# --------------------------------------------------------------------------
note "resources of every backend (before the first and after the last message)"
read -r n fdbad fmin fmax openbad memmax memmin <<<"$(q -F ' ' -c "
    SELECT count(*), count(*) FILTER (WHERE fds_after <> fds_before),
           min(fds_before), max(fds_before), count(*) FILTER (WHERE open_after <> 0),
           COALESCE(max(mem_after - mem_before), 0), COALESCE(min(mem_after - mem_before), 0)
      FROM load.results")"
echo "$n backends: open fds before $fmin..$fmax; TopMemoryContext change $memmin..$memmax bytes"
q -c "SELECT format('  %s backend %s: fds %s -> %s', phase, backend, fds_before, fds_after)
        FROM load.results WHERE fds_after <> fds_before ORDER BY phase, backend" | head -10
if [ "$n" -eq $((4 * BACKENDS)) ] && [ "$fdbad" -eq 0 ]; then
    check ok "no backend leaked a file descriptor ($n backends, fd count after = before)"
else
    check fail "file descriptors: $fdbad of $n backends end with a different count"
fi
if [ "$n" -gt 0 ] && [ "$openbad" -eq 0 ]; then
    check ok "no backend holds a connection slot at the end (smtp_mail.connections() is empty)"
else
    check fail "$openbad backends still hold connections"
fi
if [ "$n" -gt 0 ] && [ "$memmax" -le "$MEM_SLACK" ]; then
    check ok "TopMemoryContext did not grow by more than $MEM_SLACK bytes in any backend (max $memmax)"
else
    check fail "TopMemoryContext grew by up to $memmax bytes in a backend"
    q -c "SELECT format('  %s backend %s: %s -> %s bytes', phase, backend, mem_before, mem_after)
            FROM load.results WHERE mem_after - mem_before > $MEM_SLACK ORDER BY phase, backend" | head -10
fi

note "server log"
bad=$(grep -E 'terminated by signal|PANIC|was terminated|leak|WARNING' "$WORK/pg/postgres.log" || true)
warn=$(cat "$OUT"/*.err 2>/dev/null | grep -E 'WARNING' || true)
if [ -z "$bad$warn" ]; then
    check ok "no crash, no resource-leak warning in the server log or from any backend"
else
    echo "$bad$warn" | head -10
    check fail "the server log or a backend reports a crash or warning"
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
