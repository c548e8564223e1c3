#!/bin/bash
# postfix-ctl.sh - run a private, throwaway Postfix instance for the smtp_mail tests.
#
#   postfix-ctl.sh start DIR --pki PKIDIR --smtp-port N --submission-port N \
#                            --smtps-port N --relay-port N [--discard]
#   postfix-ctl.sh stop DIR
#   postfix-ctl.sh status DIR
#
# Everything lives inside DIR (config, queue, data, pid, sasldb, maillog).
# The system Postfix instance (/etc/postfix) is neither used nor modified.
# Must run as root (the Postfix master runs as root, daemons as "postfix").
#
# Listeners (127.0.0.1 only):
#   smtp-port        plain SMTP, STARTTLS offered, AUTH only after STARTTLS
#   submission-port  plain SMTP, STARTTLS offered, AUTH only after STARTTLS
#   smtps-port       implicit TLS (wrapper mode), AUTH offered
# SASL: Cyrus SASL, sasldb DIR/sasldb2, user@example.com / secret,
#       mechanisms PLAIN LOGIN CRAM-MD5.
# Delivery: everything is relayed to [127.0.0.1]:RELAY-PORT (plain SMTP), or with
#       --discard everything goes to the discard: transport (benchmark sink).
# Log: DIR/maillog.

set -u
umask 022

PROG=${0##*/}
SASL_USER=user
SASL_REALM=example.com
SASL_PASS=secret
SASL_MECHS="PLAIN LOGIN CRAM-MD5"
START_TIMEOUT=20

die() { echo "$PROG: $*" >&2; exit 1; }
usage() {
    cat >&2 <<EOF
usage: $PROG start DIR --pki PKIDIR --smtp-port N --submission-port N --smtps-port N --relay-port N [--discard]
       $PROG stop DIR
       $PROG status DIR
EOF
    exit 2
}

[ $# -ge 2 ] || usage
CMD=$1
DIR=$2
shift 2

[ "$(id -u)" = 0 ] || die "must run as root"
command -v postfix >/dev/null 2>&1 || PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
command -v postfix >/dev/null 2>&1 || die "postfix not installed"

case $DIR in
    /*) ;;
    *) DIR=$(pwd)/$DIR ;;
esac
DIR=${DIR%/}
case $DIR in
    *[[:space:],=\;:\'\"\\\$]*) die "DIR must not contain whitespace or any of , = ; : ' \" \\ \$ ($DIR)" ;;
esac
if [ -z "$DIR" ] || [ "$DIR" = / ]; then die "refusing DIR=/"; fi

CONF=$DIR/conf
QUEUE=$DIR/queue
DATA=$DIR/data
MAILLOG=$DIR/maillog
SASLDB=$DIR/sasldb2

# ---------------------------------------------------------------- helpers

master_pid() {
    # prints the pid of this instance's master if it is alive
    local f=$QUEUE/pid/master.pid pid
    [ -f "$f" ] || return 1
    pid=$(sed -n '1{s/[^0-9]//g;p}' "$f")
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 1
    # make sure this pid really is a postfix master of this instance
    grep -qzxF "MAIL_CONFIG=$CONF" "/proc/$pid/environ" 2>/dev/null || return 1
    echo "$pid"
}

instance_pids() {
    # all live postfix processes that belong to this instance: the master
    # exports MAIL_CONFIG=DIR/conf to every daemon it starts. Uses only bash
    # builtins per process (a /proc scan with grep per pid is slow).
    local d p env exe
    for d in /proc/[0-9]*; do
        p=${d#/proc/}
        [ "$p" = "$$" ] && continue
        env=()
        mapfile -d '' env 2>/dev/null <"$d/environ" || continue
        case " ${env[*]} " in
            *" MAIL_CONFIG=$CONF "*) ;;
            *) continue ;;
        esac
        exe=$(readlink "$d/exe" 2>/dev/null) || continue
        case $exe in
            /usr/lib/postfix/*) echo "$p" ;;
        esac
    done
}

port_open() {
    # true if something accepts TCP connections on 127.0.0.1:$1
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

log_tail() {
    if [ -f "$MAILLOG" ]; then
        echo "---- tail of $MAILLOG ----" >&2
        tail -n 40 "$MAILLOG" >&2
    fi
}

do_stop() {
    [ -d "$DIR" ] || return 0
    if [ -f "$CONF/main.cf" ] && master_pid >/dev/null; then
        postfix -c "$CONF" stop >/dev/null 2>&1 || true
    fi
    # wait for the master and its children to go away
    local pids
    for _ in $(seq 1 50); do
        pids=$(instance_pids)
        [ -z "$pids" ] && break
        sleep 0.1
    done
    pids=$(instance_pids)
    if [ -n "$pids" ]; then
        # shellcheck disable=SC2086
        kill -TERM $pids 2>/dev/null || true
        sleep 0.5
        pids=$(instance_pids)
        # shellcheck disable=SC2086
        if [ -n "$pids" ]; then kill -KILL $pids 2>/dev/null || true; fi
        sleep 0.2
    fi
    rm -f "$QUEUE/pid/master.pid"
    [ -z "$(instance_pids)" ] || die "could not stop postfix instance in $DIR"
    return 0
}

# ---------------------------------------------------------------- stop / status

if [ "$CMD" = stop ]; then
    [ $# -eq 0 ] || usage
    do_stop
    exit 0
fi

if [ "$CMD" = status ]; then
    [ $# -eq 0 ] || usage
    if pid=$(master_pid); then
        echo "running (master pid $pid)"
        [ -f "$DIR/instance.env" ] && cat "$DIR/instance.env"
        exit 0
    fi
    echo "not running"
    exit 1
fi

[ "$CMD" = start ] || usage

# ---------------------------------------------------------------- start: options

PKI='' SMTP_PORT='' SUB_PORT='' SMTPS_PORT='' RELAY_PORT='' DISCARD=0
while [ $# -gt 0 ]; do
    case $1 in
        --pki) PKI=${2:-}; shift 2 || usage ;;
        --smtp-port) SMTP_PORT=${2:-}; shift 2 || usage ;;
        --submission-port) SUB_PORT=${2:-}; shift 2 || usage ;;
        --smtps-port) SMTPS_PORT=${2:-}; shift 2 || usage ;;
        --relay-port) RELAY_PORT=${2:-}; shift 2 || usage ;;
        --discard) DISCARD=1; shift ;;
        *) echo "$PROG: unknown option $1" >&2; usage ;;
    esac
done
[ -n "$PKI" ] || die "--pki is required"
for v in SMTP_PORT SUB_PORT SMTPS_PORT RELAY_PORT; do
    val=${!v}
    case $val in
        ''|*[!0-9]*) die "missing or bad port for $v: '$val'" ;;
    esac
    if [ "$val" -lt 1 ] || [ "$val" -gt 65535 ]; then die "bad port for $v: $val"; fi
done
[ -r "$PKI/server.key" ] || die "$PKI/server.key not readable"
[ -r "$PKI/server-chain.pem" ] || die "$PKI/server-chain.pem not readable"
PKI=$(cd "$PKI" && pwd)

# ---------------------------------------------------------------- start: (re)build

# idempotent: a running instance is stopped and rebuilt with the new settings
do_stop

for p in "$SMTP_PORT" "$SUB_PORT" "$SMTPS_PORT"; do
    port_open "$p" && die "port 127.0.0.1:$p is already in use"
done

# safety: only ever rebuild a DIR that is empty or was made by this script
if [ -d "$DIR" ] && [ ! -e "$DIR/.postfix-ctl" ] && [ -n "$(ls -A "$DIR")" ]; then
    die "$DIR is not empty and was not created by $PROG; refusing to use it"
fi
mkdir -p "$DIR" || die "cannot create $DIR"
touch "$DIR/.postfix-ctl"
chmod 755 "$DIR"
# a fresh queue every time: no stale mail from an earlier run
rm -rf "$QUEUE" "$CONF"
mkdir -p "$CONF/sasl" "$CONF/tls" "$QUEUE" "$DATA"
chown root:root "$DIR" "$CONF" "$QUEUE"
chmod 755 "$CONF" "$QUEUE"
chown postfix:postfix "$DATA"
chmod 700 "$DATA"

# daemons run as "postfix" and need to reach DIR (sasldb, maillog is opened by root)
runuser -u postfix -- test -x "$DIR" ||
    die "user postfix cannot traverse $DIR (check the permissions of its parent directories)"

# TLS material (copied, so the PKI dir may be regenerated without affecting us)
install -m 600 -o root -g root "$PKI/server.key" "$CONF/tls/server.key"
install -m 644 -o root -g root "$PKI/server-chain.pem" "$CONF/tls/server-chain.pem"

# SASL database (Cyrus sasldb, Berkeley DB); readable by the postfix user
rm -f "$SASLDB"
printf '%s' "$SASL_PASS" | saslpasswd2 -p -f "$SASLDB" -c -u "$SASL_REALM" "$SASL_USER" ||
    die "saslpasswd2 failed"
chown root:postfix "$SASLDB"
chmod 640 "$SASLDB"

cat >"$CONF/sasl/smtpd.conf" <<EOF
pwcheck_method: auxprop
auxprop_plugin: sasldb
sasldb_path: $SASLDB
mech_list: $SASL_MECHS
EOF
chmod 644 "$CONF/sasl/smtpd.conf"

if [ "$DISCARD" = 1 ]; then
    DELIVERY="default_transport = discard:benchmark-sink
relay_transport = discard:benchmark-sink"
else
    DELIVERY="default_transport = smtp
relay_transport = relay"
fi

NAME=$(basename "$DIR" | tr -c 'A-Za-z0-9_.\n-' '_')

cat >"$CONF/main.cf" <<EOF
# Generated by $PROG - private throwaway instance for smtp_mail tests.
compatibility_level = 3.6

queue_directory = $QUEUE
data_directory = $DATA
meta_directory = /etc/postfix
mail_owner = postfix
setgid_group = postdrop

syslog_name = postfix-$NAME
maillog_file = $MAILLOG
maillog_file_prefixes = $DIR

myhostname = postfix.test
mydomain = postfix.test
myorigin = \$myhostname
smtpd_banner = \$myhostname ESMTP Postfix (smtp_mail test)
biff = no
append_dot_mydomain = no

inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8 [::1]/128

# nothing is delivered locally: every domain is "remote"
mydestination =
relay_domains =
local_recipient_maps =
local_transport = error:5.1.1 local delivery disabled
alias_maps =
alias_database =
smtpd_relay_restrictions = permit_mynetworks, permit_sasl_authenticated, reject_unauth_destination
smtpd_recipient_restrictions =

# delivery
relayhost = [127.0.0.1]:$RELAY_PORT
$DELIVERY
smtp_tls_security_level = none
smtp_dns_support_level = disabled
smtp_host_lookup = native
smtp_connection_cache_on_demand = no
smtp_connect_timeout = 5s
smtp_line_length_limit = 0
disable_mime_output_conversion = yes

# keep the message as the client sent it (only a Received: header is added)
local_header_rewrite_clients =
remote_header_rewrite_domain =
always_add_missing_headers = no

# fast queue
queue_run_delay = 1s
minimal_backoff_time = 1s
maximal_backoff_time = 2s
transport_retry_time = 1s
maximal_queue_lifetime = 10m
bounce_queue_lifetime = 10m
delay_warning_time = 0

# limits
message_size_limit = 104857600
mailbox_size_limit = 0
queue_minfree = 0
default_process_limit = 256
smtpd_error_sleep_time = 0s
smtpd_peername_lookup = no

# TLS (server side)
smtpd_tls_chain_files = $CONF/tls/server.key, $CONF/tls/server-chain.pem
smtpd_tls_security_level = may
smtpd_tls_auth_only = yes
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_session_cache_database =
smtpd_tls_loglevel = 1
tls_random_source = dev:/dev/urandom

# SASL (Cyrus, sasldb)
smtpd_sasl_auth_enable = yes
smtpd_sasl_type = cyrus
smtpd_sasl_path = smtpd
cyrus_sasl_config_path = $CONF/sasl
smtpd_sasl_security_options = noanonymous
smtpd_sasl_tls_security_options = noanonymous
smtpd_sasl_local_domain =
broken_sasl_auth_clients = no
EOF

cat >"$CONF/master.cf" <<EOF
# Generated by $PROG. Nothing is chrooted.
# service type  private unpriv  chroot  wakeup  maxproc command + args
127.0.0.1:$SMTP_PORT inet n - n - - smtpd
  -o syslog_name=postfix-$NAME/smtp
127.0.0.1:$SUB_PORT inet n - n - - smtpd
  -o syslog_name=postfix-$NAME/submission
  -o smtpd_tls_security_level=may
  -o smtpd_tls_auth_only=yes
  -o smtpd_sasl_auth_enable=yes
127.0.0.1:$SMTPS_PORT inet n - n - - smtpd
  -o syslog_name=postfix-$NAME/smtps
  -o smtpd_tls_wrappermode=yes
  -o smtpd_tls_security_level=encrypt
  -o smtpd_sasl_auth_enable=yes
pickup     unix  n - n 60 1 pickup
cleanup    unix  n - n - 0 cleanup
qmgr       unix  n - n 300 1 qmgr
tlsmgr     unix  - - n 1000? 1 tlsmgr
rewrite    unix  - - n - - trivial-rewrite
bounce     unix  - - n - 0 bounce
defer      unix  - - n - 0 bounce
trace      unix  - - n - 0 bounce
verify     unix  - - n - 1 verify
flush      unix  n - n 1000? 0 flush
proxymap   unix  - - n - - proxymap
proxywrite unix  - - n - 1 proxymap
smtp       unix  - - n - - smtp
relay      unix  - - n - - smtp
  -o syslog_name=postfix-$NAME/relay
showq      unix  n - n - - showq
error      unix  - - n - - error
retry      unix  - - n - - error
discard    unix  - - n - - discard
anvil      unix  - - n - 1 anvil
scache     unix  - - n - 1 scache
postlog    unix-dgram n - n - 1 postlogd
EOF

cat >"$DIR/instance.env" <<EOF
POSTFIX_DIR=$DIR
POSTFIX_SMTP_PORT=$SMTP_PORT
POSTFIX_SUBMISSION_PORT=$SUB_PORT
POSTFIX_SMTPS_PORT=$SMTPS_PORT
POSTFIX_RELAY_PORT=$RELAY_PORT
POSTFIX_DISCARD=$DISCARD
POSTFIX_MAILLOG=$MAILLOG
EOF

touch "$MAILLOG"

# Postfix re-reads main.cf until it is at least ~2 s old (it assumes a file
# that was modified "just now" may still be being edited); back-date the
# generated files so start does not stall for ~2 s.
old=$(( $(date +%s) - 60 ))
touch -d "@$old" "$CONF/main.cf" "$CONF/master.cf" "$CONF/sasl/smtpd.conf"

# ---------------------------------------------------------------- start: run

out=$(postfix -c "$CONF" check 2>&1) || { echo "$out" >&2; log_tail; die "postfix check failed"; }
[ -n "$out" ] && echo "$out" >&2
out=$(postfix -c "$CONF" start 2>&1) || { echo "$out" >&2; log_tail; do_stop; die "postfix start failed"; }

deadline=$((SECONDS + START_TIMEOUT))
while :; do
    ok=1
    for p in "$SMTP_PORT" "$SUB_PORT" "$SMTPS_PORT"; do
        port_open "$p" || { ok=0; break; }
    done
    [ $ok = 1 ] && master_pid >/dev/null && break
    if [ $SECONDS -ge $deadline ]; then
        log_tail
        do_stop
        die "postfix did not come up within ${START_TIMEOUT}s"
    fi
    sleep 0.1
done

echo "postfix instance $DIR running (master pid $(master_pid)): smtp=$SMTP_PORT submission=$SUB_PORT smtps=$SMTPS_PORT $([ "$DISCARD" = 1 ] && echo 'delivery=discard' || echo "relay=[127.0.0.1]:$RELAY_PORT")"
exit 0
