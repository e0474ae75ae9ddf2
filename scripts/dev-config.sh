#!/usr/bin/env bash
# Writes .dev/gateway.yaml for `make run`: the development certificates, an SQLite file under
# .dev/state, the project's model and Profiles, mutual TLS on https://127.0.0.1:8443.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dev="$root/.dev"
"$root/scripts/dev-certificates.sh" "$dev/tls"
cat > "$dev/gateway.yaml" <<YAML
server: {host: 127.0.0.1, port: 8443}
tls:
  certificate: $dev/tls/server.crt
  privateKey: $dev/tls/server.key
  clientCA: $dev/tls/ca.crt
storage: {path: $dev/state/gateway.sqlite}
metrics: {host: 127.0.0.1, port: 9464}
model: {path: $root/Config/models/sheng2022.yaml}
profiles: {path: $root/Profiles}
YAML
echo "configuration in $dev/gateway.yaml"
