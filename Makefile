# smtp_mail: Oracle UTL_SMTP for PostgreSQL (PGXS)

EXTENSION = smtp_mail
EXTVERSION = 1.0

MODULE_big = smtp_mail
OBJS = \
	src/module.o \
	src/proto.o \
	src/sasl.o \
	src/transport.o \
	src/tls.o \
	src/wallet.o \
	src/conn.o \
	src/auth.o \
	src/acl_match.o \
	src/acl.o \
	src/utl_smtp.o \
	src/diagnostics.o

DATA = $(EXTENSION)--$(EXTVERSION).sql
PGFILEDESC = "smtp_mail - Oracle UTL_SMTP over OpenSSL"

REGRESS = $(patsubst sql/%.sql,%,$(sort $(wildcard sql/*.sql)))
REGRESS_OPTS = --inputdir=. --load-extension=$(EXTENSION)

SHLIB_LINK = -lssl -lcrypto
PG_CFLAGS = -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers $(if $(CI),-Werror) $(EXTRA_CFLAGS)

PG_CONFIG ?= pg_config
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Every object sees the shared headers: rebuild all when one changes.
$(OBJS): src/smtp_mail.h src/proto.h src/sasl.h src/acl_match.h

.PHONY: unit fuzz
unit:
	$(MAKE) -C test/unit check

fuzz:
	$(MAKE) -C test/fuzz run FUZZ_SECONDS=$(or $(FUZZ_SECONDS),10)

# --- robustness targets (test/load, test/asan) ---
.PHONY: check-asan check-valgrind check-load
# pgTAP suites and the load test (ASAN_SUITES selects) against a
# sanitized build in a private copy of the PostgreSQL tree; see test/asan/README.md.
check-asan:
	bash test/asan/run.sh

check-valgrind:
	SANITIZER=valgrind bash test/asan/run.sh

# 20 backends x 100 messages to Postfix and to the test server with faults,
# against the installed extension (make install first); see test/load/README.md.
check-load:
	bash test/load/run.sh
