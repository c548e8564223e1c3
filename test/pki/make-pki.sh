#!/bin/bash
# make-pki.sh OUTDIR -- generate the throw-away test PKI used by the smtp_mail
# test suite (test SMTP server, Postfix, wallets for the client).
#
# Idempotent: does nothing if OUTDIR/.done exists; otherwise (re)builds
# everything and touches OUTDIR/.done at the end.  Everything, private keys
# included, is made world-readable: this is test material only.
#
# Key algorithm: RSA 2048 by default; set PKI_KEYALG=ec for EC P-256.
#
# Layout (see also test/smtpd/README.md):
#   root-ca.{crt,key}   inter-ca.{crt,key}   other-ca.{crt,key}
#   server.{crt,key}    server-chain.pem     server-full.pem (key+cert+inter)
#   expired.{crt,key}   expired-chain.pem    (valid 2020-01-01..2021-01-01)
#   wrongname.{crt,key} wrongname-chain.pem  (SAN DNS:wrong.example.com)
#   selfsigned.{crt,key}                     (not from our CA)
#   client.{crt,key}                         (clientAuth, CN=smtp-client)
#   wallets/{pem,der,multi,p12-modern,p12-legacy,p12-nokey,sso,pin-leaf,
#            pin-selfsigned,inter-only,other,empty,garbage}/
set -euo pipefail

if [ $# -ne 1 ] || [ -z "$1" ]; then
    echo "usage: $0 OUTDIR" >&2
    exit 2
fi

OUT=$1
[ -e "$OUT/.done" ] && exit 0

mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# Serialise concurrent callers; the second one finds .done and leaves.
exec 9>"$OUT/.lock"
flock 9
[ -e "$OUT/.done" ] && exit 0

umask 022
cd "$OUT"
rm -rf wallets .work
mkdir -p .work wallets

KEYALG=${PKI_KEYALG:-rsa}
W=.work
CNF=$W/openssl.cnf

case "$KEYALG" in
    rsa) LEAF_KU="critical,digitalSignature,keyEncipherment" ;;
    ec)  LEAF_KU="critical,digitalSignature" ;;
    *)   echo "PKI_KEYALG must be rsa or ec" >&2; exit 2 ;;
esac

cat >"$CNF" <<EOF
[ req ]
distinguished_name = dn
prompt             = no
[ dn ]
CN = unused

[ v3_root ]
basicConstraints       = critical,CA:TRUE
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash

[ v3_inter ]
basicConstraints       = critical,CA:TRUE,pathlen:0
keyUsage               = critical,keyCertSign,cRLSign
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_server ]
basicConstraints       = critical,CA:FALSE
keyUsage               = $LEAF_KU
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:localhost,IP:127.0.0.1,IP:::1
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_wrongname ]
basicConstraints       = critical,CA:FALSE
keyUsage               = $LEAF_KU
extendedKeyUsage       = serverAuth
subjectAltName         = DNS:wrong.example.com
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_client ]
basicConstraints       = critical,CA:FALSE
keyUsage               = $LEAF_KU
extendedKeyUsage       = clientAuth
subjectAltName         = email:smtp-client@example.com
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid:always

[ v3_selfsigned ]
basicConstraints       = critical,CA:TRUE
subjectAltName         = DNS:localhost,IP:127.0.0.1
subjectKeyIdentifier   = hash

# Minimal throw-away CA, only used to backdate expired.crt
# (openssl x509 -req in 3.0 cannot set notBefore).
[ ca ]
default_ca = tca
[ tca ]
dir             = $OUT/$W/ca
database        = \$dir/index.txt
new_certs_dir   = \$dir/new
serial          = \$dir/serial
default_md      = sha256
policy          = pol_any
unique_subject  = no
copy_extensions = none
email_in_dn     = no
preserve        = yes
[ pol_any ]
organizationName = optional
commonName       = supplied
EOF

genkey() {  # genkey FILE
    if [ "$KEYALG" = rsa ]; then
        openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$1" 2>/dev/null
    else
        openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1"
    fi
}

SERIAL=1000
selfca() {  # selfca NAME SUBJECT
    genkey "$1.key"
    SERIAL=$((SERIAL + 1))
    openssl req -new -x509 -config "$CNF" -key "$1.key" -subj "$2" \
        -days 7300 -sha256 -set_serial "$SERIAL" -extensions v3_root \
        -out "$1.crt"
}

issue() {  # issue NAME SUBJECT ISSUER EXTSECTION
    genkey "$1.key"
    openssl req -new -config "$CNF" -key "$1.key" -subj "$2" -out "$W/$1.csr"
    SERIAL=$((SERIAL + 1))
    openssl x509 -req -in "$W/$1.csr" -CA "$3.crt" -CAkey "$3.key" \
        -set_serial "$SERIAL" -days 3650 -sha256 \
        -extfile "$CNF" -extensions "$4" -out "$1.crt" 2>/dev/null
}

# --- CAs ---------------------------------------------------------------
selfca root-ca  "/O=smtp_mail test/CN=smtp_mail Test Root CA"
selfca other-ca "/O=Unrelated Org/CN=Unrelated Test Root CA"
issue inter-ca  "/O=smtp_mail test/CN=smtp_mail Test Intermediate CA" root-ca v3_inter

# --- leaves ------------------------------------------------------------
issue server    "/O=smtp_mail test/CN=localhost"         inter-ca v3_server
issue wrongname "/O=smtp_mail test/CN=wrong.example.com" inter-ca v3_wrongname
issue client    "/O=smtp_mail test/CN=smtp-client"       inter-ca v3_client

# expired: signed by inter via `openssl ca` with explicit dates in the past
mkdir -p "$W/ca/new"
: >"$W/ca/index.txt"
echo 2000 >"$W/ca/serial"
genkey expired.key
openssl req -new -config "$CNF" -key expired.key \
    -subj "/O=smtp_mail test/CN=localhost" -out "$W/expired.csr"
openssl ca -batch -config "$CNF" -notext \
    -cert inter-ca.crt -keyfile inter-ca.key \
    -startdate 20200101000000Z -enddate 20210101000000Z \
    -extfile "$CNF" -extensions v3_server \
    -in "$W/expired.csr" -out expired.crt 2>/dev/null

# self-signed server certificate, not from our CA
genkey selfsigned.key
openssl req -new -x509 -config "$CNF" -key selfsigned.key \
    -subj "/O=Self Signed/CN=localhost" -days 3650 -sha256 \
    -set_serial 4242 -extensions v3_selfsigned -out selfsigned.crt

for n in server expired wrongname; do
    cat "$n.crt" inter-ca.crt >"$n-chain.pem"
done
cat server.key server.crt inter-ca.crt >server-full.pem

# --- wallets -----------------------------------------------------------
WL=wallets
mkdir -p $WL/pem $WL/der $WL/multi $WL/p12-modern $WL/p12-legacy \
         $WL/p12-nokey $WL/sso $WL/pin-leaf $WL/pin-selfsigned \
         $WL/inter-only $WL/other $WL/empty $WL/garbage

cp root-ca.crt $WL/pem/root-ca.pem
openssl x509 -in root-ca.crt  -outform DER -out $WL/der/root-ca.cer
openssl x509 -in inter-ca.crt -outform DER -out $WL/der/inter-ca.cer
cat other-ca.crt root-ca.crt inter-ca.crt >$WL/multi/bundle.pem
cat root-ca.crt inter-ca.crt >"$W/cas.pem"

# modern PKCS#12 (OpenSSL 3 defaults: PBES2/PBKDF2/AES-256-CBC, SHA-256 MAC)
openssl pkcs12 -export -name smtp-client \
    -inkey client.key -in client.crt -certfile "$W/cas.pem" \
    -passout pass:123 -out $WL/p12-modern/ewallet.p12
# legacy PKCS#12 (RC2-40 for certs, 3DES for the key, SHA-1 MAC)
openssl pkcs12 -export -legacy -name smtp-client \
    -inkey client.key -in client.crt -certfile "$W/cas.pem" \
    -passout pass:password -out $WL/p12-legacy/ewallet.p12
# CA certificates only, no key
openssl pkcs12 -export -nokeys -in "$W/cas.pem" \
    -passout pass:123 -out $WL/p12-nokey/ewallet.p12

# stands for Oracle's proprietary auto-login wallet: arbitrary bytes
{ printf '\xa1\xf8\x4e\x38'; openssl rand 512; } >$WL/sso/cwallet.sso

cp server.crt     $WL/pin-leaf/server.pem
cp selfsigned.crt $WL/pin-selfsigned/selfsigned.pem
cp inter-ca.crt   $WL/inter-only/inter-ca.pem
cp other-ca.crt   $WL/other/other-ca.pem
cat >$WL/garbage/junk.pem <<'EOF'
This is not a certificate.
-----BEGIN CERTIFICATE-----
bm90IGEgY2VydGlmaWNhdGUsIGp1c3QgZ2FyYmFnZQ==!!!***
-----END CERTIFICATE-----
EOF

# --- self-check (cheap) --------------------------------------------------
openssl verify -CAfile root-ca.crt -untrusted inter-ca.crt \
    server.crt client.crt wrongname.crt >/dev/null

rm -rf "$W"
chmod -R a+rX "$OUT"
touch .done
chmod a+r .done
echo "make-pki: test PKI ($KEYALG) ready in $OUT"
