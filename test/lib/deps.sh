#!/usr/bin/env bash
# Install what building and testing smtp_mail needs, from Debian's archive.
# Idempotent: apt is only called when a package is missing.
set -euo pipefail

SMTP_MAIL_PACKAGES=(
    build-essential postgresql-15 postgresql-server-dev-15 postgresql-contrib
    libssl-dev openssl postgresql-15-pgtap pgtap python3 python3-aiosmtpd
    postfix sasl2-bin libsasl2-modules libcmocka-dev clang llvm
    libclang-rt-14-dev curl procps iproute2
)

missing=()
for p in "${SMTP_MAIL_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "installing: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    # Postfix must not start a system instance on port 25, nor ask questions.
    echo "postfix postfix/main_mailer_type select No configuration" | debconf-set-selections
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
