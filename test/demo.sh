#!/usr/bin/env bash
# The demo: install what is missing, build and install smtp_mail, start a
# throwaway PostgreSQL 15 cluster and the local test mail server on
# loopback, send one message from PL/pgSQL over STARTTLS with the Oracle
# UTL_SMTP call sequence, print the message exactly as the server received
# it, and stop everything again.  Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== installing dependencies (Debian packages, only if missing)"
bash test/lib/deps.sh
echo "== building and installing the extension"
make -s && make -s install
echo "== starting PostgreSQL, the test SMTP server and Postfix on loopback"
# shellcheck source=lib/testbed.sh
source test/lib/testbed.sh
trap testbed_stop EXIT
testbed_start
echo "   PostgreSQL on port $PGPORT, SMTP STARTTLS on 127.0.0.1:$P_STARTTLS"

PGOPTIONS="-c demo.port=$P_STARTTLS -c demo.wallet=file:$WORK/pki/wallets/pem" \
psql -qX -d postgres -v ON_ERROR_STOP=1 \
     -v port="$P_STARTTLS" -v wallet="file:$WORK/pki/wallets/pem" <<'SQL'
CREATE EXTENSION smtp_mail;
-- Default deny: let this role reach the local test server.
INSERT INTO smtp_mail.host_acl (host, lower_port, principal)
VALUES ('localhost', :port, current_user);
\echo == sending a message with utl_smtp (STARTTLS, wallet with the test CA)
DO $$
DECLARE
    c utl_smtp.connection;
BEGIN
    c := utl_smtp.open_connection(host => 'localhost', port => current_setting('demo.port')::int,
                                  tx_timeout => 30,
                                  wallet_path => current_setting('demo.wallet'));
    PERFORM utl_smtp.ehlo(c, 'demo.example.com');
    PERFORM utl_smtp.starttls(c);
    PERFORM utl_smtp.ehlo(c, 'demo.example.com');
    PERFORM utl_smtp.mail(c, 'reports@example.com');
    PERFORM utl_smtp.rcpt(c, 'dba@example.com');
    PERFORM utl_smtp.open_data(c);
    PERFORM utl_smtp.write_data(c, 'From: reports@example.com' || chr(13) || chr(10));
    PERFORM utl_smtp.write_data(c, 'To: dba@example.com' || chr(13) || chr(10));
    PERFORM utl_smtp.write_data(c, 'Subject: nightly report' || chr(13) || chr(10) || chr(13) || chr(10));
    PERFORM utl_smtp.write_data(c, 'Rows loaded: ' || (SELECT count(*) FROM pg_class) || chr(10));
    PERFORM utl_smtp.write_data(c, '.a line that starts with a dot arrives intact' || chr(10));
    PERFORM utl_smtp.close_data(c);
    PERFORM utl_smtp.quit(c);
END $$;
SQL
echo "== the message as the server received it ($WORK/smtpd/by-rcpt/dba@example.com.eml):"
cat -A "$WORK/smtpd/by-rcpt/dba@example.com.eml" | sed 's/^/   /'
echo "== envelope:"
/usr/bin/python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print("   from", m["mail_from"], "to", m["rcpt_tos"], "tls", m["tls"], m.get("tls_version"))' "$WORK/smtpd/by-rcpt/dba@example.com.json"
