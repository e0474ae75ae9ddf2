#!/usr/bin/env bash
# Installs the gateway, its systemd units, its data files and its manual pages (`make install`).
#
#   DESTDIR  staging root for packaging (default: empty, i.e. the live system)
#   PREFIX   default /usr; the units' paths to the binary, the backtracer and the
#            documentation are rewritten when it is not /usr
#   BINARY   the executable to install (default .build/release/fhir-risk-gateway, built
#            with `swift build -c release --static-swift-stdlib` if it does not exist yet); it
#            is installed stripped, its symbols kept in $PREFIX/lib/debug/.build-id/ where the
#            crash backtracer (and gdb) find them
#   SWIFT    the swift driver (default swift), used to build and to find the toolchain's
#            static crash backtracer
#
# Only copies files: it creates no user and starts nothing; the next steps are printed at
# the end. An existing /etc/fhir-risk-gateway/gateway.yaml is never overwritten.
set -euo pipefail
cd "$(dirname "$0")/.."

DESTDIR=${DESTDIR:-}
PREFIX=${PREFIX:-/usr}
SWIFT=${SWIFT:-swift}
PREFIX=${PREFIX%/}
case $PREFIX in
    /*) ;;
    *) echo "install: PREFIX must be an absolute path, not '$PREFIX'" >&2; exit 2 ;;
esac
case $PREFIX in
    *[[:space:]\|\&\\]*) echo "install: PREFIX must not contain blanks, |, & or \\" >&2; exit 2 ;;
esac

if [ -n "${BINARY:-}" ]; then
    [ -x "$BINARY" ] || { echo "install: BINARY=$BINARY is not an executable file" >&2; exit 2; }
else
    BINARY=.build/release/fhir-risk-gateway
    if [ ! -x "$BINARY" ]; then
        echo "install: building $BINARY"
        "$SWIFT" build -c release --static-swift-stdlib --product fhir-risk-gateway
    fi
fi
if readelf -d "$BINARY" | grep -q 'NEEDED.*libswiftCore'; then
    echo "install: WARNING: $BINARY loads the Swift runtime from the toolchain; a server without the toolchain cannot run it (build it with --static-swift-stdlib, as make install does)" >&2
fi

bindir=$PREFIX/bin
unitdir=$PREFIX/lib/systemd/system
libexecdir=$PREFIX/libexec/fhir-risk-gateway
datadir=$PREFIX/share/fhir-risk-gateway
docdir=$PREFIX/share/doc/fhir-risk-gateway
confdir=/etc/fhir-risk-gateway
D=$DESTDIR

# The binary, stripped; its symbols go to the build-id folder of the debug files, where the
# crash backtracer and gdb look for them, so a crash in the journal still names its functions.
install -d -m755 "$D$bindir"
build_id=$(readelf -n "$BINARY" | awk '/Build ID:/ { print $3; exit }')
debug_file=""
if [ -n "$build_id" ]; then
    debug_file=$PREFIX/lib/debug/.build-id/${build_id:0:2}/${build_id:2}.debug
    install -d -m755 "$(dirname "$D$debug_file")"
    objcopy --only-keep-debug "$BINARY" "$D$debug_file"
    chmod 644 "$D$debug_file"
    objcopy --strip-all --remove-section=.comment --add-gnu-debuglink="$D$debug_file" "$BINARY" "$D$bindir/fhir-risk-gateway.tmp"
else
    strip --strip-all --remove-section=.comment -o "$D$bindir/fhir-risk-gateway.tmp" "$BINARY"
fi
chmod 755 "$D$bindir/fhir-risk-gateway.tmp"
mv "$D$bindir/fhir-risk-gateway.tmp" "$D$bindir/fhir-risk-gateway"

# The units. /usr/bin/kill (ExecReload=) is the system's and stays as it is.
install -d -m755 "$D$unitdir"
for unit in fhir-risk-gateway.service fhir-risk-gateway.socket; do
    if [ "$PREFIX" = /usr ]; then
        install -m644 "systemd/$unit" "$D$unitdir/$unit"
    else
        sed -e "s|/usr/bin/fhir-risk-gateway|$bindir/fhir-risk-gateway|g" \
            -e "s|/usr/libexec/fhir-risk-gateway/|$libexecdir/|g" \
            -e "s|/usr/share/doc/fhir-risk-gateway/|$docdir/|g" \
            -e "s|^# /usr/lib/systemd/system/|# $unitdir/|" \
            "systemd/$unit" > "$D$unitdir/$unit"
        chmod 644 "$D$unitdir/$unit"
    fi
done
install -D -m644 systemd/sysusers.d/fhir-risk-gateway.conf "$D$PREFIX/lib/sysusers.d/fhir-risk-gateway.conf"
install -D -m644 systemd/tmpfiles.d/fhir-risk-gateway.conf "$D$PREFIX/lib/tmpfiles.d/fhir-risk-gateway.conf"

# Models and Profiles (read-only data), and the monitoring files (Grafana dashboard, Prometheus
# alert rules) when Config/monitoring/ exists
install -d -m755 "$D$datadir/models"
install -m644 Config/models/*.yaml "$D$datadir/models/"
rm -rf "$D$datadir/Profiles"
cp -R Profiles "$D$datadir/Profiles"
chmod -R u=rwX,go=rX "$D$datadir/Profiles"
if [ -d Config/monitoring ]; then
    install -d -m755 "$D$datadir/monitoring"
    find Config/monitoring -maxdepth 1 -type f -exec install -m644 {} "$D$datadir/monitoring/" \;
fi

# The configuration. The installed copy points at the models and Profiles installed above
install -d -m755 "$D$confdir"
install -d -m700 "$D$confdir/tls"   # for server.crt and server.key (see tmpfiles.d/fhir-risk-gateway.conf)
config_target=$D$confdir/gateway.yaml
config_note=""
if [ -e "$config_target" ]; then
    config_target=$D$confdir/gateway.yaml.new
    config_note="$confdir/gateway.yaml exists and was left alone; the shipped one is $confdir/gateway.yaml.new: compare them"
fi
sed -e "s|/usr/share/fhir-risk-gateway/|$datadir/|g" \
    Config/gateway.yaml > "$config_target.tmp"
chmod 640 "$config_target.tmp"
mv "$config_target.tmp" "$config_target"

# Documentation
install -D -m644 README.md "$D$docdir/README.md"
install -m644 docs/OPERATIONS.md "$D$docdir/OPERATIONS.md"
install -m644 systemd/ip-allow.conf.example "$D$docdir/ip-allow.conf.example"

# The manual pages, generated from the binary's command definitions and from Config/gateway.yaml
# (scripts/manpages.sh), compressed as Debian ships them.
mandir=$PREFIX/share/man
pages=$(mktemp -d)
trap 'rm -rf "$pages"' EXIT
SWIFT="$SWIFT" scripts/manpages.sh "$BINARY" "$pages"
install -d -m755 "$D$mandir/man8" "$D$mandir/man5"
gzip -9n -c "$pages/fhir-risk-gateway.8" > "$D$mandir/man8/fhir-risk-gateway.8.gz"
gzip -9n -c "$pages/fhir-risk-gateway.yaml.5" > "$D$mandir/man5/fhir-risk-gateway.yaml.5.gz"
chmod 644 "$D$mandir/man8/fhir-risk-gateway.8.gz" "$D$mandir/man5/fhir-risk-gateway.yaml.5.gz"

# The static crash backtracer from the toolchain (SWIFT_BACKTRACE= in the service). The
# dynamically linked one cannot start under MemoryDenyWriteExecute=yes.
backtracer_note=""
backtracer=""
if swift_path=$(command -v "$SWIFT" 2>/dev/null); then
    backtracer=$(dirname "$(readlink -f "$swift_path")")/../libexec/swift/linux/swift-backtrace-static
fi
if [ -n "$backtracer" ] && [ -x "$backtracer" ]; then
    # Stripped too (its symbol table is the toolchain's build, of no use to a backtrace of the gateway).
    install -d -m755 "$D$libexecdir"
    strip --strip-all --remove-section=.comment -o "$D$libexecdir/swift-backtrace-static" "$backtracer"
    chmod 755 "$D$libexecdir/swift-backtrace-static"
else
    backtracer_note="WARNING: swift-backtrace-static not found next to '$SWIFT' (expected <toolchain>/usr/libexec/swift/linux/); without $libexecdir/swift-backtrace-static a crash leaves no backtrace in the journal"
fi

echo "installed into ${DESTDIR:-/}:"
for f in "$bindir/fhir-risk-gateway" "$unitdir/fhir-risk-gateway.service" "$unitdir/fhir-risk-gateway.socket" \
         "$PREFIX/lib/sysusers.d/fhir-risk-gateway.conf" "$PREFIX/lib/tmpfiles.d/fhir-risk-gateway.conf" \
         "${config_target#"$D"}" "$datadir/models/" "$datadir/Profiles/" "$datadir/monitoring/" "$docdir/" \
         "$mandir/man8/fhir-risk-gateway.8.gz" "$mandir/man5/fhir-risk-gateway.yaml.5.gz" "$libexecdir/swift-backtrace-static" "$debug_file"; do
    if [ -e "$D$f" ]; then echo "  $f"; fi
done
[ -z "$config_note" ] || echo "NOTE: $config_note"
[ -z "$backtracer_note" ] || echo "$backtracer_note" >&2
if [ -z "$DESTDIR" ]; then
    cat <<EOF
Next steps (as root):
  systemd-sysusers fhir-risk-gateway.conf                 # the user and group
  systemd-tmpfiles --create fhir-risk-gateway.conf        # $confdir/tls (0700) and gateway.yaml's group
  cp server.crt server.key $confdir/tls/ && chmod 600 $confdir/tls/server.key
  systemd-run --wait --pipe --collect -p User=fhir-risk-gateway -p StateDirectory=fhir-risk-gateway \\
    -p LoadCredential=tls.crt:$confdir/tls/server.crt -p LoadCredential=tls.key:$confdir/tls/server.key \\
    $bindir/fhir-risk-gateway check-config --config $confdir/gateway.yaml   # as the service sees it
  systemctl daemon-reload
  systemctl enable --now fhir-risk-gateway.socket fhir-risk-gateway.service
EOF
fi
