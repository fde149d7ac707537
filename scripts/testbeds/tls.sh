#!/usr/bin/env bash
# Makes throwaway TLS material for tests and the demo, in DIR (nothing here is ever committed
# or trusted by a real fleet):
#   ca.pem / ca.key              a private test CA
#   registry.pem / registry.key  registryd's certificate from that CA, for 127.0.0.1, ::1 and localhost
#   other-ca.pem / other-ca.key  an unrelated CA
#   impostor.pem / impostor.key  a certificate for the same names from the unrelated CA
# Usage: tls.sh DIR
set -euo pipefail
dir=${1:?usage: tls.sh DIR}
mkdir -p "$dir"
cd "$dir"
umask 077
ec() { openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "$@" 2>/dev/null; }
for ca in ca other-ca; do
  ec -x509 -days 30 -keyout "$ca.key" -out "$ca.pem" -subj "/CN=Yitiji test $ca" \
     -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
done
cat > leaf.ext <<'EXT'
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost
EXT
issue() {  # NAME CA
  ec -keyout "$1.key" -out "$1.csr" -subj "/CN=127.0.0.1"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2.key" -CAcreateserial -days 30 -out "$1.pem" -extfile leaf.ext 2>/dev/null
  rm -f "$1.csr"
}
issue registry ca
issue impostor other-ca
chmod 644 ./*.pem
echo "tls: test CA and registry certificate in $dir"
