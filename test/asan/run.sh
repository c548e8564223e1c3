#!/usr/bin/env bash
# make check-asan: the pgTAP suites and the load test against an smtp_mail
# built with AddressSanitizer + UndefinedBehaviorSanitizer (clang-14), in a
# stock PostgreSQL 15 started with the sanitizer runtime preloaded and
# LeakSanitizer on.  The system installation is not touched: the cluster
# runs from a private copy of the PostgreSQL tree (see README.md).
#
#   SANITIZER=asan (default) | valgrind   valgrind runs memcheck instead
#   PGTAP_FILES="test/pgtap/01_send_plain.sql ..."   a subset of suites
#   ASAN_SUITES="pgtap load" (the default): "pgtap" runs the pgTAP suites
#       through test/run-all.sh, "load" runs test/load/run.sh
#       (LOAD_BACKENDS=8, LOAD_MESSAGES=25 unless set)
#   SRC_DIR=dir   take the C sources from dir instead of src/ (to check that
#       a planted bug is caught)
#   KEEP_WORK=1   keep the build, logs, cluster and captured mail
#
# Ends with "N passed, N failed"; exit status 0 only if nothing failed.
set -uo pipefail
cd "$(dirname "$0")/../.."
MODE=${SANITIZER:-asan}
CLANG=${CLANG:-clang-14}

note() { printf '\n== %s\n' "$*"; }
die() { echo "$*"; echo "0 passed, 1 failed"; exit 1; }

case "$MODE" in asan | valgrind) ;; *) die "SANITIZER must be asan or valgrind" ;; esac
command -v pg_config >/dev/null || die "pg_config not found (postgresql-server-dev-15)"
command -v "$CLANG" >/dev/null || [ "$MODE" = valgrind ] || die "$CLANG not found"
[ "$MODE" != valgrind ] || command -v valgrind >/dev/null || die "valgrind not found"

REAL_PG_CONFIG=$(command -v pg_config)
BIN=$(pg_config --bindir)
LIB=$(pg_config --pkglibdir)
SHARE=$(pg_config --sharedir)

D=$(mktemp -d /tmp/sm_asan.XXXXXX)
D=$(realpath "$D")
chmod 755 "$D"
cleanup() {
    if [ -n "${KEEP_WORK:-}" ]; then echo "kept $D"; else rm -rf "$D"; fi
}
trap cleanup EXIT
LOG=$D/log
mkdir -p "$LOG" "$D/build/src" "$D/path"
chmod 1777 "$LOG"

# --------------------------------------------------------------------------
note "build ($MODE) from a snapshot of the working tree"
SRC_DIR=${SRC_DIR:-src}
cp "$SRC_DIR"/*.c "$SRC_DIR"/*.h "$D/build/src/"
cp Makefile smtp_mail.control smtp_mail--*.sql "$D/build/"
if [ "$MODE" = asan ]; then
    # PostgreSQL needs -fwrapv and -fno-strict-aliasing; alignment and
    # signed-overflow checks would contradict them.
    SANFLAGS="-fsanitize=address,undefined -fno-sanitize=alignment,signed-integer-overflow -fno-sanitize-recover=address"
    BUILD_ARGS=(CC="$CLANG" with_llvm=no
        CFLAGS="-O1 -g -fno-omit-frame-pointer -fno-strict-aliasing -fwrapv -Wno-ignored-attributes $SANFLAGS")
else
    BUILD_ARGS=(with_llvm=no CFLAGS="-O0 -g -fno-omit-frame-pointer -fno-strict-aliasing -fwrapv")
fi
# The test scripts too: others may edit the working tree during the run.
mkdir -p "$D/tree/test"
cp -r test/run-all.sh test/lib test/pgtap test/pki test/smtpd test/postfix test/load "$D/tree/test/"
if ! make -C "$D/build" "${BUILD_ARGS[@]}" >"$D/build.log" 2>&1; then
    tail -40 "$D/build.log"; die "sanitized build failed"
fi
echo "built $D/build/smtp_mail.so"

# --------------------------------------------------------------------------
note "private PostgreSQL tree with the sanitized smtp_mail.so as \$libdir/smtp_mail"
# PostgreSQL finds \$libdir and the share directory relative to the real
# path of its own executable, so copies of the programs under $D/root with
# the same layout make a private installation whose $LIB holds our library
# (and whose share/extension holds the snapshot's control and script).
P=$D/root
mkdir -p "$P$BIN" "$P$LIB" "$P$SHARE/extension"
cp "$BIN/postgres" "$P$BIN/postgres.bin"
cp "$BIN/initdb" "$BIN/pg_ctl" "$P$BIN/"
for f in "$LIB"/*; do
    case "$(basename "$f")" in
        smtp_mail.so | llvmjit*) ;;      # no JIT under the sanitizer
        *) ln -s "$f" "$P$LIB/" ;;
    esac
done
cp "$D/build/smtp_mail.so" "$P$LIB/smtp_mail.so"
for f in "$SHARE"/*; do
    [ "$(basename "$f")" = extension ] || ln -s "$f" "$P$SHARE/"
done
for f in "$SHARE"/extension/*; do
    case "$(basename "$f")" in smtp_mail*) ;; *) ln -s "$f" "$P$SHARE/extension/" ;; esac
done
cp "$D/build/smtp_mail.control" "$D"/build/smtp_mail--*.sql "$P$SHARE/extension/"

if [ "$MODE" = asan ]; then
    RT=$("$CLANG" -print-file-name=libclang_rt.asan-x86_64.so)
    [ -f "$RT" ] || die "ASan runtime not found (libclang-rt-14-dev): $RT"
    gcc -shared -fPIC -O2 -o "$D/swift_demangle_stub.so" test/asan/swift_demangle_stub.c \
        || die "cannot build the start-up stub"
    SYMBOLIZER=$(command -v llvm-symbolizer-14 || echo /usr/lib/llvm-14/bin/llvm-symbolizer)
    cp test/asan/lsan.supp "$D/lsan.supp"
    # exitcode=0: a leak report must not change a process's exit status
    # (pg_ctl reads "postgres -V"; the postmaster watches its children);
    # abort_on_error=1: a memory error kills the process with SIGABRT, which
    # the postmaster logs as a crash.
    cat >"$P$BIN/postgres" <<EOF
#!/bin/sh
export LD_PRELOAD="$RT $D/swift_demangle_stub.so"
export ASAN_OPTIONS="detect_leaks=1:exitcode=0:abort_on_error=1:log_path=$LOG/san:log_exe_name=1:malloc_context_size=40:fast_unwind_on_malloc=0:detect_odr_violation=0:external_symbolizer_path=$SYMBOLIZER"
export LSAN_OPTIONS="suppressions=$D/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=0:log_path=$LOG/san:external_symbolizer_path=$SYMBOLIZER"
exec "$P$BIN/postgres.bin" "\$@"
EOF
else
    cp test/asan/valgrind.supp "$D/valgrind.supp"
    cat >"$P$BIN/postgres" <<EOF
#!/bin/sh
# Only the server runs under valgrind; initdb's bootstrap and -V do not.
case "\$1" in
    -V | --version | -C | --describe-config | --boot | --single) exec "$P$BIN/postgres.bin" "\$@" ;;
esac
exec valgrind --quiet --tool=memcheck --leak-check=full --show-leak-kinds=definite,indirect \\
    --errors-for-leak-kinds=definite,indirect --track-origins=yes --num-callers=30 \\
    --trace-children=no --fullpath-after= --suppressions="$D/valgrind.supp" --log-file="$LOG/vg.%p" \\
    "$P$BIN/postgres.bin" "\$@"
EOF
fi
chmod 755 "$P$BIN/postgres"
# testbed.sh takes its programs from "pg_config --bindir".
cat >"$D/path/pg_config" <<EOF
#!/bin/sh
[ "\$1" = --bindir ] && [ \$# -eq 1 ] && { echo "$P$BIN"; exit 0; }
exec "$REAL_PG_CONFIG" "\$@"
EOF
chmod 755 "$D/path/pg_config"
chmod -R a+rX "$D"

SUITES_WANTED=${ASAN_SUITES:-pgtap load}
passed=0
failed=0
count_line() {      # add the "N passed, N failed" line of a log file
    local line
    line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$1" | tail -1)
    if [ -z "$line" ]; then echo "$2 did not finish"; failed=$((failed + 1)); return; fi
    passed=$((passed + $(echo "$line" | awk '{print $1}')))
    failed=$((failed + $(echo "$line" | awk '{print $3}')))
}
want() { case " $SUITES_WANTED " in *" $1 "*) return 0 ;; esac; return 1; }

# --------------------------------------------------------------------------
if want pgtap; then
    note "pgTAP suites via test/run-all.sh (cluster under $MODE)"
    # Under valgrind a backend is ~20 times slower: 13_interrupts, which
    # looks at another session after fixed sleeps, cannot pass there.
    if [ "$MODE" = valgrind ] && [ -z "${PGTAP_FILES:-}" ]; then
        PGTAP_FILES=$(cd "$D/tree" && ls test/pgtap/[0-9]*.sql | grep -v 13_interrupts | tr '\n' ' ')
        export PGTAP_FILES
        echo "(13_interrupts.sql left out under valgrind: its checks are timed)"
    fi
    mkdir -p "$D/work"
    t0=$(date +%s)
    WORK=$D/work KEEP_WORK=1 SUITES=pgtap SKIP_BUILD=1 PATH="$D/path:$PATH" \
        bash "$D/tree/test/run-all.sh" 2>&1 | tee "$D/run-all.out" | grep -vE '^kept '
    echo "(run-all took $(( $(date +%s) - t0 )) s)"
    count_line "$D/run-all.out" test/run-all.sh
fi

if want load; then
    note "load test (test/load/run.sh) on a cluster under $MODE"
    mkdir -p "$D/work-load"
    t0=$(date +%s)
    WORK=$D/work-load KEEP_WORK=1 LOAD_BACKENDS=${LOAD_BACKENDS:-8} \
        LOAD_MESSAGES=${LOAD_MESSAGES:-25} PATH="$D/path:$PATH" \
        bash "$D/tree/test/load/run.sh" 2>&1 | tee "$D/load.out" | grep -vE '^kept '
    echo "(load test took $(( $(date +%s) - t0 )) s)"
    count_line "$D/load.out" test/load/run.sh
fi

# --------------------------------------------------------------------------
note "the clusters ran the sanitized library"
# Start a kept cluster once more and look at a backend's memory map.
for w in "$D/work" "$D/work-load"; do
    [ -f "$w/env" ] || continue
    PGHOST=$w/pg/sock
    PGPORT=$(sed -n 's/^PGPORT=//p' "$w/env")
    maps=""
    if runuser -u postgres -- "$P$BIN/pg_ctl" -D "$w/pg/data" -l "$w/pg/postgres.log" -w start \
            -o "-p $PGPORT -k $PGHOST -c listen_addresses=''" >/dev/null 2>&1; then
        maps=$(psql -X -At -h "$PGHOST" -p "$PGPORT" -U postgres -d postgres \
            -c "LOAD 'smtp_mail'" \
            -c "SELECT pg_read_file('/proc/' || pg_backend_pid() || '/maps')" 2>&1)
        runuser -u postgres -- "$P$BIN/pg_ctl" -D "$w/pg/data" -m fast stop >/dev/null 2>&1
    fi
    if echo "$maps" | grep -q "$P$LIB/smtp_mail.so" &&
        { [ "$MODE" = valgrind ] || echo "$maps" | grep -q libclang_rt.asan; }; then
        echo "ok: a backend of $w maps $P$LIB/smtp_mail.so${RT:+ and the ASan runtime}"
        passed=$((passed + 1))
    else
        echo "$maps" | grep -E "smtp_mail|asan|ERROR" | head -5
        echo "FAIL: a backend of $w did not map the sanitized library"
        failed=$((failed + 1))
    fi
done

# --------------------------------------------------------------------------
note "crashes"
for w in "$D/work" "$D/work-load"; do
    [ -d "$w" ] || continue
    PGLOG=$w/pg/postgres.log
    crashes=$(grep -E 'terminated by signal|was terminated by|exited with exit code [2-9]' "$PGLOG" 2>/dev/null || true)
    if [ ! -f "$PGLOG" ]; then
        echo "FAIL: no server log at $PGLOG"; failed=$((failed + 1))
    elif [ -n "$crashes" ]; then
        echo "$crashes" | head -20; echo "FAIL: a server process crashed ($PGLOG)"; failed=$((failed + 1))
    else
        echo "ok: no server process crashed ($PGLOG)"; passed=$((passed + 1))
    fi
done

note "sanitizer reports"
# Stop anything left over from an aborted run.
for w in "$D/work" "$D/work-load"; do
    if [ -f "$w/pg/data/postmaster.pid" ]; then
        runuser -u postgres -- "$P$BIN/pg_ctl" -D "$w/pg/data" -m fast stop >/dev/null 2>&1 || true
    fi
done
# Exiting processes finish writing their leak reports.
sleep 2
if /usr/bin/python3 test/asan/scan-logs.py "$LOG" "$P$LIB/smtp_mail.so"; then
    echo "ok: no sanitizer report involves smtp_mail"; passed=$((passed + 1))
else
    echo "FAIL: sanitizer reports involve smtp_mail (above)"; failed=$((failed + 1))
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
