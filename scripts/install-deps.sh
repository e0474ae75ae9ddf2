#!/usr/bin/env bash
# Installs the Debian packages the build and the tests need, only those missing.
# Idempotent: on a machine that has them all it does nothing and needs no root.
set -euo pipefail

# python3-venv: the venv of the tests' authorization server (below).
# systemd: only its tools (systemd-analyze, systemd-sysusers, systemd-socket-activate) for
# make check-units; installing the package does not start it.
# postgresql: the server binaries (/usr/lib/postgresql/<version>/bin) and psql for the PostgreSQL
# tests, which start their own cluster with initdb and pg_ctl; the cluster the package may create
# and its service are not used.
# prometheus: only promtool, for make check-monitoring (the alert rules and their unit tests).
# Its postinst starts the Prometheus server through systemd (when systemd runs as PID 1) or
# invoke-rc.d (when the runlevel is known): in a container or CI runner without an init it starts
# nothing; on a machine with systemd the server installed here is stopped and disabled below.
packages=(pkg-config libxml2-dev libssl-dev libsqlite3-dev libxml2-utils python3 python3-venv openssl curl zlib1g-dev systemd jq binutils util-linux postgresql prometheus)
# The Debian package and the man pages (make deb, check-deb): dpkg-dev (dpkg-shlibdeps), lintian,
# man-db and groff-base (man --warnings -l).
packages+=(dpkg-dev lintian man-db groff-base)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
    echo "Installing Debian packages: ${missing[*]}"
    $sudo apt-get update -qq || true
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
    if [[ " ${missing[*]} " == *" prometheus "* ]] && [ -d /run/systemd/system ]; then
        echo "Stopping and disabling the Prometheus server just installed (only promtool is used)"
        $sudo systemctl disable --now prometheus.service || true
    fi
fi

# The tests check the RiskAssessments against the R4 JSON schema with Python's jsonschema.
if ! python3 -c 'import jsonschema' 2>/dev/null; then
    echo "Installing the Python package jsonschema"
    python3 -m pip install --quiet jsonschema 2>/dev/null \
        || python3 -m pip install --quiet --user jsonschema 2>/dev/null \
        || $sudo apt-get install -y -qq --no-install-recommends python3-jsonschema
fi

# The tests' SMART authorization server (Tests/Tools/smart_auth_server.py) runs on authlib, in a
# venv of its own inside .build (the system's joserfc is too old for it).
venv="$(cd "$(dirname "$0")/.." && pwd)/.build/test-python"
if ! "$venv/bin/python" -c 'import authlib' 2>/dev/null; then
    echo "Installing the Python package authlib into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check authlib==1.9.10
fi
