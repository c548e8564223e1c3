#!/usr/bin/env bash
# The test command: installs what is missing, builds with -Werror, installs
# the extension, starts the test bed (PostgreSQL, test SMTP server, Postfix)
# on loopback, runs every suite, stops the test bed, and ends with
# "N passed, N failed".  Exit status 0 only if nothing failed.
#   SUITES="unit fuzz regress pgtap load asan" selects suites (default: all).
#   load: 20 backends x 100 messages with faults (test/load); asan: the pgTAP
#   suites and a smaller load test against an AddressSanitizer build
#   (test/asan).  Each starts a test bed of its own.
#   KEEP_WORK=1 keeps the work directory (logs, captured mail) for a look.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
SUITES=${SUITES:-"unit fuzz regress pgtap load asan"}
passed=0
failed=0

note() { printf '\n== %s\n' "$*"; }
count() { passed=$((passed + $1)); failed=$((failed + $2)); }
# Run a script that ends with "N passed, N failed" and add its counts.
run_counted() {
    local out last
    # Its own test bed: not this run's work directory or cluster.
    out=$(env -u WORK -u PGHOST -u PGPORT -u KEEP_WORK "$@" 2>&1)
    echo "$out" | grep -E '^(FAIL|not ok)|^== ' | tail -40
    last=$(echo "$out" | grep -E '^[0-9]+ passed, [0-9]+ failed' | tail -1)
    if [ -z "$last" ]; then echo "$out" | tail -20; count 0 1; return; fi
    echo "$last"
    count "$(echo "$last" | awk '{print $1}')" "$(echo "$last" | awk '{print $3}')"
}
want() { case " $SUITES " in *" $1 "*) return 0;; esac; return 1; }

note "dependencies"
bash test/lib/deps.sh || { echo "installing dependencies failed"; echo "0 passed, 1 failed"; exit 1; }

note "build and install"
if [ -n "${SKIP_BUILD:-}" ]; then
    echo "skipped (SKIP_BUILD)"
elif ! { make -s CI=1 clean && make -s CI=1 && make -s install; } >"$ROOT/build.log" 2>&1; then
    cat "$ROOT/build.log"; echo "0 passed, 1 failed"; exit 1
else
    echo "built and installed (warnings are errors)"
fi

if want unit; then
    note "C unit tests (cmocka): proto.c, sasl.c, acl_match.c"
    out=$(make -s -C test/unit check 2>&1); echo "$out" | grep -E 'PASSED|FAILED|ERROR' || echo "$out" | tail -20
    p=$(echo "$out" | awk '/\[  PASSED  \] [0-9]+ test/ {n += $4} END {print n + 0}')
    f=$(echo "$out" | awk '/\[  FAILED  \] [0-9]+ test/ {n += $4} END {print n + 0}')
    [ "$p" -eq 0 ] && [ "$f" -eq 0 ] && f=1
    count "${p:-0}" "${f:-0}"
fi

if want fuzz; then
    note "fuzz targets (${FUZZ_SECONDS:=5} s each)"
    if out=$(make -s -C test/fuzz run FUZZ_SECONDS="$FUZZ_SECONDS" 2>&1); then
        n=$(echo "$out" | grep -c '^fuzz .* ok')
        echo "$out" | grep '^fuzz ' ; count "${n:-0}" 0
    else
        echo "$out" | tail -30; count 0 1
    fi
fi

if want regress || want pgtap; then
    # shellcheck source=lib/testbed.sh
    source test/lib/testbed.sh
    trap testbed_stop EXIT
    note "test bed"
    testbed_start || { echo "test bed failed to start"; echo "$passed passed, $((failed + 1)) failed"; exit 1; }
    echo "PostgreSQL on $PGHOST:$PGPORT, work directory $WORK"
fi

if want regress; then
    note "pg_regress: the SQL surface"
    out=$(make -s installcheck 2>&1)
    echo "$out" | grep -E '^(ok|not ok|test|     ) |\.\.\. |tests passed|failed' | head -60
    p=$(echo "$out" | grep -cE '(^ok |\.\.\. ok)')
    f=$(echo "$out" | grep -cE '(^not ok |\.\.\. FAILED)')
    [ "$f" -gt 0 ] && [ -f regression.diffs ] && head -100 regression.diffs
    count "$p" "$f"
fi

if want pgtap; then
    note "pgTAP: behaviour against the servers"
    db=smtp_mail_test
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS $db" -c "CREATE DATABASE $db" >/dev/null 2>&1
    psql -qX -d $db -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION pgtap;
CREATE EXTENSION dblink;
CREATE EXTENSION smtp_mail;
$(testbed_settings_sql $db)
SQL
    psql -qX -d $db -v ON_ERROR_STOP=1 -f test/pgtap/helpers.sql >/dev/null
    # A LATIN1 database, for the encoding conversion tests (reached with dblink).
    psql -qX -d postgres -c "DROP DATABASE IF EXISTS ${db}_latin1" \
         -c "CREATE DATABASE ${db}_latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0" >/dev/null 2>&1
    psql -qX -d ${db}_latin1 -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION smtp_mail;
INSERT INTO smtp_mail.host_acl (host, principal) VALUES ('127.0.0.1', 'postgres');
$(testbed_settings_sql ${db}_latin1)
SQL
    psql -qX -d $db -c "ALTER DATABASE $db SET smtp_test.connstr_latin1 = 'host=$PGHOST port=$PGPORT user=postgres dbname=${db}_latin1'" >/dev/null
    # shellcheck disable=SC2086
    out=$(pg_prove -v -d $db ${PGTAP_FILES:-test/pgtap/[0-9]*.sql} 2>&1)
    echo "$out" | grep -vE '^\s*ok ' | grep -E 'not ok|^#|\.sql|Result|Files=|Failed|Dubious|Parse errors' | head -80
    p=$(echo "$out" | grep -cE '^\s*ok [0-9]')
    f=$(echo "$out" | grep -cE '^\s*not ok [0-9]')
    # A file that died before its plan finished counts as one failure.
    d=$(echo "$out" | grep -cE 'Dubious|Bad plan|No plan found')
    count "$p" $((f + d))
fi

if want load; then
    note "load: concurrent backends, faults, fd and memory leaks (test/load)"
    run_counted bash test/load/run.sh
fi

if want asan; then
    note "AddressSanitizer: pgTAP suites and load test on a sanitized build (test/asan)"
    run_counted bash test/asan/run.sh
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
