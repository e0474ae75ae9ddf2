#!/usr/bin/env bash
# Installs into a temporary DESTDIR with the given binary and checks the result: every file
# where the units and the README say it is, and the shipped configuration accepted by the
# installed binary the way systemd runs it (TLS from $CREDENTIALS_DIRECTORY, the store in
# $STATE_DIRECTORY; the model and Profiles paths redirected into the DESTDIR).
# Usage: scripts/check-install.sh BINARY
set -euo pipefail
binary=${1:?usage: check-install.sh BINARY}
root=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d)
trap 'rm -rf "$D"' EXIT
DESTDIR="$D" PREFIX=/usr BINARY="$binary" "$root/scripts/install.sh" >/dev/null
for file in usr/bin/fhir-risk-gateway usr/lib/systemd/system/fhir-risk-gateway.service usr/lib/systemd/system/fhir-risk-gateway.socket \
    usr/lib/sysusers.d/fhir-risk-gateway.conf usr/lib/tmpfiles.d/fhir-risk-gateway.conf etc/fhir-risk-gateway/gateway.yaml \
    usr/share/fhir-risk-gateway/models/sheng2022.yaml usr/share/fhir-risk-gateway/Profiles/package.json \
    usr/share/doc/fhir-risk-gateway/README.md; do
    [ -e "$D/$file" ] || { echo "FAIL  make install did not install /$file"; exit 1; }
done
# Every path the shipped configuration names lies under what make install installs.
for path in $(grep -oE '/usr/share/fhir-risk-gateway/[^ ]+' "$D/etc/fhir-risk-gateway/gateway.yaml"); do
    [ -e "$D$path" ] || { echo "FAIL  gateway.yaml names $path, which make install does not install"; exit 1; }
done
"$root/scripts/dev-certificates.sh" "$D/credentials" >/dev/null
cp "$D/credentials/server.crt" "$D/credentials/tls.crt"
cp "$D/credentials/server.key" "$D/credentials/tls.key"
unset TLS_CERTIFICATE TLS_PRIVATE_KEY
CREDENTIALS_DIRECTORY="$D/credentials" STATE_DIRECTORY="$D/state" \
    MODEL_PATH="$D/usr/share/fhir-risk-gateway/models/sheng2022.yaml" PROFILES_PATH="$D/usr/share/fhir-risk-gateway/Profiles" \
    STORAGE_PATH="$D/state/gateway.sqlite" \
    "$D/usr/bin/fhir-risk-gateway" check-config --config "$D/etc/fhir-risk-gateway/gateway.yaml" >/dev/null \
    || { echo "FAIL  the shipped gateway.yaml is refused under systemd's environment"; exit 1; }
echo "PASS  make install: every file in place; the shipped configuration is valid with the credentials and state directory of the unit"
