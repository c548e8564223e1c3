#!/usr/bin/env bash
# Run one SQL file against a fresh test bed (for trying things by hand):
#   bash test/lib/try-sql.sh file.sql
# The test database has pgtap, dblink, smtp_mail, the t.* helpers and the smtp_test.* settings.
cd "$(dirname "$0")/../.." || exit 1
source test/lib/testbed.sh
trap testbed_stop EXIT
testbed_start >/dev/null || exit 1
db=smtp_mail_test
psql -qX -d postgres -c "CREATE DATABASE $db" >/dev/null
psql -qX -d $db -v ON_ERROR_STOP=1 >/dev/null <<SQL
CREATE EXTENSION pgtap; CREATE EXTENSION dblink; CREATE EXTENSION smtp_mail;
$(testbed_settings_sql $db)
SQL
psql -qX -d $db -f test/pgtap/helpers.sql >/dev/null
psql -X -d $db -f "$1" 2>&1
grep -E "ERROR|PANIC|TRAP|terminated" $WORK/pg/postgres.log | head
