#!/usr/bin/env bash
# The Debian package, end to end (`make check-deb`):
#   1. builds it from BINARY (scripts/build-deb.sh) and checks both packages with lintian: no error
#      (the overrides, each with its reason, are in packaging/deb/lintian-overrides);
#   2. installs them with `dpkg --root` into an empty temporary root, the maintainer scripts run
#      chrootless (DPKG_ROOT set): the system user exists in that root's /etc/passwd, tmpfiles.d made
#      /etc/fhir-risk-gateway/tls (0700) and gave gateway.yaml the service's group, the units are
#      registered but not enabled, gateway.yaml is a conffile, the man pages render without a
#      warning, and the installed binary accepts the installed configuration (check-config
#      --no-network, TLS from a credentials folder as systemd passes it);
#   3. installs it again over itself (an upgrade): a changed gateway.yaml is kept;
#   4. removes it (the configuration and the store stay), then purges it: nothing of the package
#      is left, nor /etc/fhir-risk-gateway (with the TLS key put there) or the store.
# The machine itself must not change: steps 2-4 run in a private mount namespace in which /etc,
# /var, /usr, /run, /tmp, /opt, /home and /root are read-only (a maintainer script that missed
# DPKG_ROOT fails there instead of touching the machine); and /etc/passwd, /etc/group, /etc/shadow,
# /etc/gshadow and the machine's unit links are compared before and after.
# Usage: scripts/check-deb.sh BINARY
set -euo pipefail
binary=$(readlink -f "${1:?usage: check-deb.sh BINARY}")
root=$(cd "$(dirname "$0")/.." && pwd)
name=fhir-risk-gateway
started=$(date +%s.%N)
fail() { echo "FAIL  $*"; exit 1; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.0f}')" "$1" "$(date +%s.%N)"; }

[ "$(id -u)" -eq 0 ] || { echo "SKIP  check-deb: dpkg --root installs files owned by root and needs root (run make test as root, as CI does)"; exit 0; }
for tool in dpkg lintian unshare systemd-sysusers systemd-tmpfiles deb-systemd-helper; do
    command -v "$tool" >/dev/null || fail "$tool is missing (scripts/install-deps.sh installs it)"
done

# The work folder is inside the repository's .build, not /tmp: /tmp is read-only for the install.
mkdir -p "$root/.build"
work=$(mktemp -d "$root/.build/check-deb.XXXXXX")
cleanup() { [ -n "${KEEP_WORK:-}" ] || rm -rf "$work"; }
trap cleanup EXIT
mkdir -p "$work/tmp"
export TMPDIR=$work/tmp

# 1. Build and lint.
t=$(date +%s.%N)
mapfile -t debs < <("$root/scripts/build-deb.sh" "$binary" "$work/out")
[ ${#debs[@]} -eq 2 ] && [ -f "${debs[0]}" ] && [ -f "${debs[1]}" ] || fail "build-deb.sh made no packages: ${debs[*]}"
deb=${debs[0]}
ddeb=${debs[1]}
build_seconds=$(elapsed "$t")
t=$(date +%s.%N)
lintian_output=$(lintian --no-cfg --fail-on error --display-level '>=warning' "$deb" "$ddeb" 2>&1) \
    || fail "lintian finds errors in the package:
$(grep -v 'root privileges' <<<"$lintian_output")"
lintian_seconds=$(elapsed "$t")
lintian_warnings=$(grep -c '^W:' <<<"$lintian_output" || true)
grep '^W:' <<<"$lintian_output" || true

# 2-4 run in a script of their own, in a private mount namespace with the machine read-only.
R=$work/root
mkdir -p "$R/etc" "$R/var/lib/dpkg/info" "$R/var/lib/dpkg/updates" "$R/var/lib/dpkg/triggers" "$R/var/log" "$R/tmp"
touch "$R/var/lib/dpkg/status" "$R/var/lib/dpkg/available"
"$root/scripts/dev-certificates.sh" "$work/credentials" >/dev/null
cp "$work/credentials/server.crt" "$work/credentials/tls.crt"
cp "$work/credentials/server.key" "$work/credentials/tls.key"

machine_state() {
    sha256sum /etc/passwd /etc/group /etc/shadow /etc/gshadow 2>/dev/null
    ls -d /etc/$name /var/lib/$name /run/$name /etc/systemd/system/*.wants/$name.* \
        /var/lib/systemd/deb-systemd-helper-enabled/$name.* /var/lib/systemd/deb-systemd-helper-enabled/*.wants/$name.* 2>/dev/null || true
    dpkg-query -W -f='${Status}\n' $name 2>/dev/null || true
}
before=$(machine_state)

cat > "$work/inside.sh" <<'INSIDE'
#!/usr/bin/env bash
# Runs in the private mount namespace: $R is the temporary root, $deb/$ddeb the packages.
set -euo pipefail
fail() { echo "FAIL  $*"; exit 1; }
for dir in /etc /var /usr /run /tmp /opt /home /root /srv; do
    [ -d "$dir" ] && [ ! -L "$dir" ] || continue
    case $work/ in "$dir"/*) continue ;; esac
    mount --bind "$dir" "$dir"
    mount -o remount,bind,ro "$dir"
done
touch /etc/.check-deb-probe 2>/dev/null && { rm -f /etc/.check-deb-probe; fail "/etc is still writable in the namespace"; }
dpkg_root() { dpkg --root="$R" --force-script-chrootless --log="$work/dpkg.log" "$@"; }

# 2. Install (the empty root has none of the dependencies).
dpkg_root --force-depends -i "$deb" "$ddeb" > "$work/install.log" 2>&1 || fail "dpkg -i into the temporary root failed: $(tail -20 "$work/install.log")"
grep -q 'installed but not enabled' "$work/install.log" || fail "the postinst did not say what to do next: $(cat "$work/install.log")"
grep -q "^$name:x:[0-9]*:[0-9]*:.*:/var/lib/$name:/usr/sbin/nologin\$" "$R/etc/passwd" || fail "no $name user in the root's /etc/passwd: $(cat "$R/etc/passwd" 2>/dev/null)"
gid=$(awk -F: -v n="$name" '$1 == n { print $3 }' "$R/etc/group")
[ -n "$gid" ] || fail "no $name group in the root's /etc/group"
[ "$(stat -c '%a %u' "$R/etc/$name/tls")" = "700 0" ] || fail "tmpfiles.d did not make /etc/$name/tls root-only: $(stat -c '%a %U' "$R/etc/$name/tls" 2>&1)"
[ "$(stat -c '%a %u %g' "$R/etc/$name/gateway.yaml")" = "640 0 $gid" ] || fail "gateway.yaml is not 0640 root:$name: $(stat -c '%a %u %g' "$R/etc/$name/gateway.yaml")"
dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Conffiles}' $name | grep -q " /etc/$name/gateway.yaml " || fail "gateway.yaml is not a conffile"
[ -e "$R/var/lib/systemd/deb-systemd-helper-enabled/$name.service.dsh-also" ] || fail "deb-systemd-helper did not register $name.service in the root"
if ls "$R"/etc/systemd/system/*.wants/$name.* >/dev/null 2>&1; then fail "the package enabled a unit on a first install: $(ls "$R"/etc/systemd/system/*.wants/)"; fi
"$root/scripts/check-manpages.sh" "$R/usr/share/man/man8/$name.8.gz" "$R/usr/share/man/man5/$name.yaml.5.gz" > "$work/man.log" || fail "$(cat "$work/man.log")"
mkdir -p "$work/state"
CREDENTIALS_DIRECTORY="$work/credentials" STATE_DIRECTORY="$work/state" STORAGE_PATH="$work/state/gateway.sqlite" \
    MODEL_PATH="$R/usr/share/$name/models/sheng2022.yaml" PROFILES_PATH="$R/usr/share/$name/Profiles" LD_LIBRARY_PATH= \
    "$R/usr/bin/$name" check-config --no-network --config "$R/etc/$name/gateway.yaml" > "$work/check-config.log" 2>&1 \
    || fail "the installed binary refuses the installed configuration: $(tail -10 "$work/check-config.log")"

# 3. Over itself, as an upgrade: the site's change to the conffile stays.
echo "# changed by the site" >> "$R/etc/$name/gateway.yaml"
dpkg_root --force-depends --force-confold -i "$deb" > "$work/upgrade.log" 2>&1 || fail "dpkg -i over the installed package failed: $(tail -20 "$work/upgrade.log")"
grep -q 'changed by the site' "$R/etc/$name/gateway.yaml" || fail "an upgrade replaced the site's gateway.yaml"

# 4. Remove keeps configuration and store; purge deletes them and everything of the package.
mkdir -p "$R/var/lib/$name"
echo store > "$R/var/lib/$name/gateway.sqlite"
cp "$work/credentials/server.key" "$R/etc/$name/tls/server.key"
dpkg_root -r $name-dbgsym $name > "$work/remove.log" 2>&1 || fail "dpkg -r failed: $(tail -20 "$work/remove.log")"
[ ! -e "$R/usr/bin/$name" ] || fail "dpkg -r left /usr/bin/$name"
[ -f "$R/etc/$name/gateway.yaml" ] && [ -f "$R/var/lib/$name/gateway.sqlite" ] || fail "dpkg -r removed the configuration or the store (only purge may)"
dpkg_root --purge $name > "$work/purge.log" 2>&1 || fail "dpkg --purge failed: $(tail -20 "$work/purge.log")"
left=$(cd "$R" && { find . -path "*$name*"; find ./var/lib/systemd -name "$name*" 2>/dev/null || true; } | { grep -v '^./var/lib/dpkg/' || true; } | sort -u)
[ -z "$left" ] || fail "the purge left files of the package: $left"
if dpkg-query --admindir="$R/var/lib/dpkg" -W -f='${Status}' $name 2>/dev/null | grep -q 'ok installed\|config-files'; then fail "dpkg still lists $name as installed"; fi
echo ok
INSIDE
chmod +x "$work/inside.sh"
t=$(date +%s.%N)
if ! result=$(R=$R deb=$deb ddeb=$ddeb work=$work root=$root name=$name unshare --mount --propagation private "$work/inside.sh" 2>&1); then
    after=$(machine_state)
    [ "$before" = "$after" ] || echo "FAIL  the machine changed: $(diff <(echo "$before") <(echo "$after"))"
    fail "${result#FAIL  }"
fi
install_seconds=$(elapsed "$t")
after=$(machine_state)
[ "$before" = "$after" ] || fail "installing into the temporary root changed the machine: $(diff <(echo "$before") <(echo "$after"))"

echo "PASS  make deb: $(basename "$deb") ($(du -m "$deb" | cut -f1) MB) and $(basename "$ddeb") ($(du -m "$ddeb" | cut -f1) MB) built in ${build_seconds} s; lintian: no error, ${lintian_warnings} warnings (${lintian_seconds} s); dpkg --root install (user, tmpfiles, units registered not enabled, conffile, man pages, check-config of the installed configuration), upgrade keeping the site's gateway.yaml, remove, purge leaving nothing: ${install_seconds} s; the machine's /etc/passwd, group, shadow and unit links unchanged; $(elapsed "$started") s in all"
