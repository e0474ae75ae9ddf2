#!/usr/bin/env bash
# Installs the shipped binary into a temporary DESTDIR and checks the result:
#   1. every file where the units and the README say it is;
#   2. the installed binary is stripped and needs no library of the Swift toolchain (readelf:
#      no libswift*, no RUNPATH into the toolchain);
#   3. with the toolchain hidden (a tmpfs over its folder in a private mount namespace, and
#      LD_LIBRARY_PATH empty), the installed binary accepts the shipped configuration the way
#      systemd runs it (TLS from $CREDENTIALS_DIRECTORY, the store in $STATE_DIRECTORY), starts
#      serving (answers /livez), and a crash leaves a backtrace that names its functions, from
#      the symbols installed under /usr/lib/debug/.build-id.
# Usage: scripts/check-install.sh BINARY
set -euo pipefail
binary=${1:?usage: check-install.sh BINARY}
root=$(cd "$(dirname "$0")/.." && pwd)
D=$(mktemp -d)
pid=""
cleanup() {
    [ -z "$pid" ] || kill "$pid" 2>/dev/null || true
    rm -rf "$D"
}
trap cleanup EXIT
fail() { echo "FAIL  $*"; exit 1; }

DESTDIR="$D" PREFIX=/usr BINARY="$binary" "$root/scripts/install.sh" >/dev/null
installed=$D/usr/bin/fhir-risk-gateway
for file in usr/bin/fhir-risk-gateway usr/lib/systemd/system/fhir-risk-gateway.service usr/lib/systemd/system/fhir-risk-gateway.socket \
    usr/lib/sysusers.d/fhir-risk-gateway.conf usr/lib/tmpfiles.d/fhir-risk-gateway.conf etc/fhir-risk-gateway/gateway.yaml \
    usr/share/fhir-risk-gateway/models/sheng2022.yaml usr/share/fhir-risk-gateway/Profiles/package.json \
    usr/share/doc/fhir-risk-gateway/README.md usr/share/doc/fhir-risk-gateway/OPERATIONS.md \
    usr/libexec/fhir-risk-gateway/swift-backtrace-static \
    usr/share/man/man8/fhir-risk-gateway.8.gz usr/share/man/man5/fhir-risk-gateway.yaml.5.gz; do
    [ -e "$D/$file" ] || fail "make install did not install /$file"
done
# Every path the shipped configuration names lies under what make install installs.
for path in $(grep -oE '/usr/share/fhir-risk-gateway/[^ ]+' "$D/etc/fhir-risk-gateway/gateway.yaml"); do
    [ -e "$D$path" ] || fail "gateway.yaml names $path, which make install does not install"
done

# Every file of Config/monitoring/ (when it exists) is installed.
if [ -d "$root/Config/monitoring" ]; then
    for file in "$root"/Config/monitoring/*; do
        [ ! -f "$file" ] || [ -e "$D/usr/share/fhir-risk-gateway/monitoring/$(basename "$file")" ] \
            || fail "make install did not install Config/monitoring/$(basename "$file")"
    done
fi
# The manual pages render without a warning.
man_check=$("$root/scripts/check-manpages.sh" "$D/usr/share/man/man8/fhir-risk-gateway.8.gz" "$D/usr/share/man/man5/fhir-risk-gateway.yaml.5.gz") \
    || fail "the installed manual pages: $(grep -v '^PASS' <<<"$man_check")"

# 2. Self-contained and stripped.
toolchain=$(dirname "$(dirname "$(readlink -f "$(command -v "${SWIFT:-swift}")")")")   # /opt/swift/usr -> /opt/swift
toolchain=$(dirname "$toolchain")
dynamic=$(readelf -d "$installed")
if grep -q 'NEEDED.*libswift\|NEEDED.*libFoundation\|NEEDED.*libdispatch' <<<"$dynamic"; then
    fail "the installed binary loads the Swift runtime: $(grep NEEDED <<<"$dynamic" | grep -o '\[.*\]' | tr '\n' ' ')"
fi
if grep -E 'RUNPATH|RPATH' <<<"$dynamic" | grep -q "$toolchain"; then
    fail "the installed binary's RUNPATH points into the toolchain ($toolchain)"
fi
readelf -S "$installed" | grep -q '\.symtab' && fail "the installed binary is not stripped"
build_id=$(readelf -n "$installed" | awk '/Build ID:/ { print $3; exit }')
[ -f "$D/usr/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug" ] || fail "the binary's symbols are not installed under /usr/lib/debug/.build-id"

# 3. Run with the toolchain hidden, as the unit runs it.
"$root/scripts/dev-certificates.sh" "$D/credentials" >/dev/null
cp "$D/credentials/server.crt" "$D/credentials/tls.crt"
cp "$D/credentials/server.key" "$D/credentials/tls.key"
unset TLS_CERTIFICATE TLS_PRIVATE_KEY
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
metrics=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat > "$D/run.sh" <<SCRIPT
#!/usr/bin/env bash
set -euo pipefail
if [ "\${HIDE:-}" = yes ]; then
    mount -t tmpfs none "$toolchain"
    mount --bind "$D/usr/lib/debug" /usr/lib/debug
fi
export LD_LIBRARY_PATH= CREDENTIALS_DIRECTORY="$D/credentials" STATE_DIRECTORY="$D/state" \
    MODEL_PATH="$D/usr/share/fhir-risk-gateway/models/sheng2022.yaml" PROFILES_PATH="$D/usr/share/fhir-risk-gateway/Profiles" \
    STORAGE_PATH="$D/state/gateway.sqlite" SERVER_PORT=$port METRICS_PORT=$metrics \
    SWIFT_BACKTRACE=enable=yes,interactive=no,swift-backtrace=$D/usr/libexec/fhir-risk-gateway/swift-backtrace-static
[ ! -e "$toolchain/usr/lib/swift/linux/libswiftCore.so" ] || [ "\${HIDE:-}" != yes ] || { echo "the toolchain is still visible"; exit 3; }
"$installed" --version >/dev/null
"$installed" check-config --no-network --config "$D/etc/fhir-risk-gateway/gateway.yaml" >/dev/null
exec "$installed" serve --config "$D/etc/fhir-risk-gateway/gateway.yaml" 2>"$D/serve.log"
SCRIPT
chmod +x "$D/run.sh"
mkdir -p "$D/state"
hidden="with the toolchain ($toolchain) hidden in a private mount namespace"
if unshare --mount --propagation private true 2>/dev/null && [ -d /usr/lib/debug ]; then
    HIDE=yes unshare --mount --propagation private "$D/run.sh" &
else
    hidden="with LD_LIBRARY_PATH empty (no mount namespace here: the RUNPATH check above stands for the rest)"
    "$D/run.sh" &
fi
pid=$!
for _ in $(seq 1 100); do
    if curl -sf "http://127.0.0.1:$metrics/livez" >/dev/null; then break; fi
    kill -0 "$pid" 2>/dev/null || fail "the installed binary did not start $hidden: $(cat "$D/serve.log" 2>/dev/null | tail -5)"
    sleep 0.2
done
curl -sf "http://127.0.0.1:$metrics/livez" >/dev/null || fail "the installed binary does not answer /livez $hidden"
# A crash: the backtracer of the unit (static, installed beside the binary) writes the backtrace
# with the function names from the installed symbols. (A SIGSEGV sent with kill is reported like a
# fault; the process then goes on, as no instruction faults, and is killed here.)
kill -SEGV "$pid"
for _ in $(seq 1 300); do grep -q '^Registers:' "$D/serve.log" 2>/dev/null && break; sleep 0.2; done
kill -KILL "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
pid=""
grep -q 'Program crashed' "$D/serve.log" || fail "a crash left no backtrace: $(tail -5 "$D/serve.log")"
grep -qE 'in fhir-risk-gateway$' "$D/serve.log" || fail "the backtrace names no frame of the binary: $(grep -m5 '^ *[0-9]' "$D/serve.log")"
grep -E ' in fhir-risk-gateway$' "$D/serve.log" | grep -qv '<unknown>' || fail "the backtrace has no function names: $(grep -m5 '^ *[0-9]' "$D/serve.log")"
echo "PASS  make install: every file in place, the manual pages render without a warning; the binary is stripped ($(du -m "$installed" | cut -f1) MB) and self-contained; $hidden it accepts the shipped configuration under the unit's environment, serves, and a crash backtrace names its functions"
