#!/usr/bin/env bash
# Checks the systemd units in systemd/ without running systemd (CI has no systemd as PID 1):
#   1. systemd-analyze verify: no warning or error at all for the service and the socket;
#   2. systemd-analyze security --offline: exposure at most 1.1 (--threshold=11);
#   3. systemd-sysusers --dry-run: the sysusers.d file creates the service's User=;
#      and a syntax check of the tmpfiles.d file (systemd-tmpfiles itself is never run);
#   4. the ip-allow.conf.example drop-in, installed in both units: still clean, exposure <= 1.0;
#   5. a self-check that the gates can fail: a weakened sandbox must score above the
#      threshold and a misspelled key must fail step 1.
# Everything happens in a temporary root (mktemp -d) that is removed on exit.
# It never starts systemd, dbus or systemd-tmpfiles: they act on the whole machine, not on the temporary root.
#
# Usage: scripts/check-units.sh BINARY      (e.g. .build/debug/fhir-risk-gateway)
set -euo pipefail

usage() { echo "usage: $0 BINARY   (the built fhir-risk-gateway executable)" >&2; exit 2; }
[ $# -eq 1 ] || usage
binary=$1
[ -f "$binary" ] && [ -x "$binary" ] || { echo "check-units: $binary is not an executable file (run make build first)" >&2; exit 2; }
for tool in systemd-analyze systemd-sysusers; do
    command -v "$tool" >/dev/null || { echo "check-units: $tool not found (Debian package systemd; scripts/install-deps.sh installs it)" >&2; exit 2; }
done

here=$(cd "$(dirname "$0")/.." && pwd)
units=$here/systemd
service=fhir-risk-gateway.service
socket=fhir-risk-gateway.socket
threshold=11          # tenths: 11 = exposure 1.1
threshold_ip_allow=10 # with the IP allow-list drop-in in both units

started=$(date +%s%N)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
failures=0
pass() { echo "PASS  $*"; }
indent() { sed -e "s|$tmp/[a-z]*/|/|g" -e 's/^/      /'; }   # details under a FAIL line, paths relative to the root
fail() { echo "FAIL  $*"; failures=$((failures + 1)); }

# make_root DIR [SERVICE_FILE]: the binary, /usr/bin/kill and the units under DIR, as installed.
make_root() {
    local root=$1 service_file=${2:-$units/$service}
    mkdir -p "$root/usr/bin" "$root/usr/lib/systemd/system" "$root/usr/lib/sysusers.d"
    if [ -e "$tmp/good/usr/bin/fhir-risk-gateway" ] && [ "$root" != "$tmp/good" ]; then
        ln "$tmp/good/usr/bin/fhir-risk-gateway" "$root/usr/bin/fhir-risk-gateway"   # same file system: no second copy
    else
        install -m755 "$binary" "$root/usr/bin/fhir-risk-gateway"   # ExecStart= must exist under the root
    fi
    install -m755 /usr/bin/kill "$root/usr/bin/kill"                  # ExecReload= too
    install -m644 "$service_file" "$root/usr/lib/systemd/system/$service"
    install -m644 "$units/$socket" "$root/usr/lib/systemd/system/$socket"
    install -m644 "$units/sysusers.d/fhir-risk-gateway.conf" "$root/usr/lib/sysusers.d/fhir-risk-gateway.conf"
}

# verify ROOT: succeeds only if verify exits 0 AND prints nothing. systemd 252 prints every
# problem (unknown key, unparsable value, missing executable) as a line on stderr; for the
# clean units it prints nothing at all, so any output is a finding. (the systemd documentation says
# verify exits 0 on such warnings; the 252.38 here exits 1, but we do not rely on either.)
verify_out=""
verify() {
    local rc=0
    verify_out=$(systemd-analyze verify --recursive-errors=no --man=no --root="$1" "$service" "$socket" 2>&1) || rc=$?
    [ "$rc" -eq 0 ] && [ -z "$verify_out" ]
}

# security ROOT THRESHOLD: succeeds if the exposure is at or below THRESHOLD tenths.
security_out=""
exposure_line=""
security() {
    local rc=0
    security_out=$(systemd-analyze security --offline=true --root="$1" --threshold="$2" "$service" 2>&1) || rc=$?
    exposure_line=$(printf '%s\n' "$security_out" | grep -m1 'Overall exposure level' | sed 's/^[^O]*//') || exposure_line="(no exposure line: $security_out)"
    return "$rc"
}

# 1. verify
make_root "$tmp/good"
if verify "$tmp/good"; then
    pass "systemd-analyze verify: $service and $socket clean (no output)"
else
    fail "systemd-analyze verify printed:"; printf '%s\n' "$verify_out" | indent
fi

# 2. exposure
if security "$tmp/good" "$threshold"; then
    pass "systemd-analyze security --threshold=$threshold: $exposure_line"
else
    fail "systemd-analyze security --threshold=$threshold: $exposure_line"
    printf '%s\n' "$security_out" | grep '✗' | indent || true
fi

# 3. sysusers: the user the service runs as would be created
user=$(sed -n 's/^User=//p' "$units/$service")
rc=0
sysusers_out=$(systemd-sysusers --dry-run --root="$tmp/good" 2>&1) || rc=$?
if [ "$rc" -eq 0 ] && printf '%s\n' "$sysusers_out" | grep -q "^Creating user '$user'"; then
    pass "systemd-sysusers --dry-run: $(printf '%s\n' "$sysusers_out" | grep "^Creating user '$user'")"
else
    fail "systemd-sysusers --dry-run does not create User=$user (exit $rc):"; printf '%s\n' "$sysusers_out" | indent
fi

# 3b. tmpfiles.d: systemd-tmpfiles must never run on a shared machine (not
# even with --root), so only a syntax check of the lines: type, absolute path, octal mode,
# owner and group either root or the user/group the sysusers.d file creates.
tmpfiles_problems=$(awk -v user="$user" '
    /^[[:space:]]*(#|$)/ { next }
    {
        bad = ""
        if (NF < 2 || NF > 7) bad = "expected 2 to 7 fields"
        else if ($1 !~ /^[fwdDevqQpLcbCxXrRzZtThHaA][-+!=~^]*$/) bad = "unknown type " $1
        else if ($2 !~ /^\//) bad = "path is not absolute"
        else if (NF >= 3 && $3 != "-" && $3 !~ /^[~:]?[0-7][0-7][0-7][0-7]?$/) bad = "bad mode " $3
        else if (NF >= 4 && $4 != "-" && $4 != "root" && $4 != user) bad = "unknown user " $4
        else if (NF >= 5 && $5 != "-" && $5 != "root" && $5 != user) bad = "unknown group " $5
        if (bad != "") printf "line %d: %s: %s\n", NR, bad, $0
        else n++
    }
    END { if (n == 0) print "no entries" }' "$units/tmpfiles.d/fhir-risk-gateway.conf")
if [ -z "$tmpfiles_problems" ]; then
    pass "tmpfiles.d/fhir-risk-gateway.conf: $(grep -cv '^[[:space:]]*\(#\|$\)' "$units/tmpfiles.d/fhir-risk-gateway.conf") entries well-formed (syntax only; systemd-tmpfiles is not run)"
else
    fail "tmpfiles.d/fhir-risk-gateway.conf:"; printf '%s\n' "$tmpfiles_problems" | indent
fi

# 4. the IP allow-list example, installed as the comments in it say
mkdir -p "$tmp/ip/etc/systemd/system/$service.d" "$tmp/ip/etc/systemd/system/$socket.d"
make_root "$tmp/ip"
install -m644 "$units/ip-allow.conf.example" "$tmp/ip/etc/systemd/system/$service.d/ip-allow.conf"
sed 's/^\[Service\]$/[Socket]/' "$units/ip-allow.conf.example" > "$tmp/ip/etc/systemd/system/$socket.d/ip-allow.conf"
if verify "$tmp/ip"; then
    if security "$tmp/ip" "$threshold_ip_allow"; then
        pass "ip-allow.conf.example in both units: verify clean, --threshold=$threshold_ip_allow: $exposure_line"
    else
        fail "ip-allow.conf.example in both units, --threshold=$threshold_ip_allow: $exposure_line"
    fi
else
    fail "ip-allow.conf.example in both units: systemd-analyze verify printed:"; printf '%s\n' "$verify_out" | indent
fi

# 5. self-check: each gate must reject a broken unit, or the gate itself is broken
sed -e '/^PrivateUsers=/d' -e '/^ProtectSystem=/d' "$units/$service" > "$tmp/weak.service"
make_root "$tmp/weak" "$tmp/weak.service"
if security "$tmp/weak" "$threshold"; then
    fail "self-check: the service without PrivateUsers= and ProtectSystem= passed the exposure gate ($exposure_line)"
else
    pass "self-check: without PrivateUsers= and ProtectSystem= the exposure gate fails ($exposure_line)"
fi

sed 's/^NoNewPrivileges=/NoNewPrivilege=/' "$units/$service" > "$tmp/typo.service"
make_root "$tmp/typo" "$tmp/typo.service"
if verify "$tmp/typo"; then
    fail "self-check: the service with the misspelled key NoNewPrivilege= passed verify"
elif printf '%s\n' "$verify_out" | grep -q "Unknown key 'NoNewPrivilege'"; then
    pass "self-check: a misspelled key fails verify ($(printf '%s\n' "$verify_out" | grep -m1 "Unknown key" | sed -e "s|$tmp/typo||"))"
else
    fail "self-check: verify did not report the misspelled key NoNewPrivilege=; it printed:"; printf '%s\n' "$verify_out" | indent
fi

elapsed_ms=$((($(date +%s%N) - started) / 1000000))
if [ "$failures" -eq 0 ]; then
    echo "check-units: all passed in ${elapsed_ms} ms"
else
    echo "check-units: $failures check(s) failed in ${elapsed_ms} ms"
    exit 1
fi
