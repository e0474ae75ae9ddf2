#!/usr/bin/env bash
# Generates a development CA, a server certificate for 127.0.0.1/localhost and a client
# certificate into the folder given (default .dev/tls), once. For development and tests only.
set -euo pipefail
dir=${1:-.dev/tls}
mkdir -p "$dir"
cd "$dir"
[ -f server.crt ] && [ -f client.crt ] && exit 0
openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=fhir-risk-gateway dev CA" \
    -keyout ca.key -out ca.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" -keyout server.key -out server.csr 2>/dev/null
printf "subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n" > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile server.ext -out server.crt 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=interface-engine" -keyout client.key -out client.csr 2>/dev/null
printf "extendedKeyUsage=clientAuth\n" > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 365 -extfile client.ext -out client.crt 2>/dev/null
rm -f ./*.csr ./*.ext ./*.srl
echo "development certificates in $dir"
