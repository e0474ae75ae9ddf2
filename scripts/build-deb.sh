#!/usr/bin/env bash
# Builds the Debian packages (`make deb`) from the shipped binary, with dpkg-deb and no debian/ tree:
#   OUTDIR/fhir-risk-gateway_<version>_<arch>.deb          everything `make install` installs (the
#        binary stripped, units, sysusers.d and tmpfiles.d files, gateway.yaml as a conffile, model,
#        Profiles, monitoring files, the static backtracer, man pages, README, OPERATIONS, copyright,
#        changelog) and the maintainer scripts of packaging/deb/
#   OUTDIR/fhir-risk-gateway-dbgsym_<version>_<arch>.deb   the binary's symbols under
#        /usr/lib/debug/.build-id, as Debian's automatic -dbgsym packages hold them: install it too
#        and a crash backtrace in the journal names its functions
#
# The version is the binary's own (`fhir-risk-gateway --version`, FHIRCore's GatewayVersion), so the
# package never claims another version than the program it holds; DEB_REVISION (default 1) is the
# Debian revision. Depends comes from the libraries the binary and the backtracer load
# (dpkg-shlibdeps), plus what the maintainer scripts run. Dates are the last commit's
# ($SOURCE_DATE_EPOCH), so the same commit and binary give the same packages.
#
# Usage: scripts/build-deb.sh BINARY OUTDIR
#   DEB_MAINTAINER  the Maintainer field (default: the fhir-risk-gateway maintainers' address below)
#   DEB_REVISION    the Debian revision (default 1)
#   SWIFT           the swift driver (default swift), for the backtracer and the man page tool
set -euo pipefail
binary=${1:?usage: build-deb.sh BINARY OUTDIR}
outdir=${2:?usage: build-deb.sh BINARY OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
SWIFT=${SWIFT:-swift}
maintainer=${DEB_MAINTAINER:-fhir-risk-gateway maintainers <fhir-risk-gateway@users.noreply.github.com>}
revision=${DEB_REVISION:-1}
name=fhir-risk-gateway
[ -x "$binary" ] || { echo "build-deb: $binary is not an executable file" >&2; exit 2; }
for tool in dpkg-deb dpkg-shlibdeps objcopy gzip; do
    command -v "$tool" >/dev/null || { echo "build-deb: $tool is missing (scripts/install-deps.sh installs it)" >&2; exit 2; }
done

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
upstream=$("$binary" --version | awk '{ print $2 }')
case $upstream in
    [0-9]*) ;;
    *) echo "build-deb: '$binary --version' gives no version ('$upstream')" >&2; exit 2 ;;
esac
version=$upstream-$revision
arch=$(dpkg --print-architecture)
commit=$(git -C "$root" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
if [ -n "$(git -C "$root" status --porcelain --untracked-files=no 2>/dev/null)" ]; then commit="$commit, with uncommitted changes"; fi

work=$(mktemp -d "${TMPDIR:-/tmp}/build-deb.XXXXXX")
trap 'rm -rf "$work"' EXIT
pkg=$work/$name
dbg=$work/$name-dbgsym
mkdir -p "$pkg" "$dbg"
chmod 755 "$pkg" "$dbg"

# 1. The files: exactly what `make install` installs.
DESTDIR="$pkg" PREFIX=/usr BINARY="$binary" SWIFT="$SWIFT" "$root/scripts/install.sh" >/dev/null
[ -x "$pkg/usr/libexec/$name/swift-backtrace-static" ] || { echo "build-deb: the static backtracer was not installed (see make install's warning)" >&2; exit 1; }
# /etc/fhir-risk-gateway/tls is made by tmpfiles.d at configure time (root, 0700); shipped empty,
# dpkg could not remove it on purge once it holds the site's key.
rmdir "$pkg/etc/$name/tls"
# The symbols go to the -dbgsym package.
mkdir -p "$dbg/usr/lib"
mv "$pkg/usr/lib/debug" "$dbg/usr/lib/debug"
build_ids=$(find "$dbg/usr/lib/debug/.build-id" -name '*.debug' | sed -E 's|.*/([0-9a-f]{2})/([0-9a-f]+)\.debug$|\1\2|' | sort | tr '\n' ' ')

# 2. Documentation: copyright (machine-readable), changelog.Debian.gz, lintian overrides.
doc=$pkg/usr/share/doc/$name
toolchain=$("$SWIFT" --version 2>/dev/null | head -1 || echo "Swift")
{
    sed "s|@TOOLCHAIN@|($toolchain)|" "$root/packaging/deb/copyright.in"
    # One paragraph per Swift package of the build, from its own licence file.
    for checkout in "$root"/.build/checkouts/*/; do
        package=$(basename "$checkout")
        licence_file=$(find "$checkout" -maxdepth 1 -type f \( -iname 'LICENSE*' -o -iname 'COPYING*' \) | sort | head -1)
        [ -n "$licence_file" ] || { echo "build-deb: $package has no licence file" >&2; exit 1; }
        if grep -q 'Apache License' "$licence_file" && grep -q 'Version 2.0' "$licence_file"; then
            licence=Apache-2.0
        elif grep -q 'Permission is hereby granted, free of charge' "$licence_file"; then
            licence=Expat
        else
            echo "build-deb: the licence of $package ($licence_file) is neither Apache-2.0 nor Expat: add it to packaging/deb/copyright.in" >&2; exit 1
        fi
        holder=$(cat "$checkout/NOTICE.txt" "$licence_file" 2>/dev/null | grep -m1 -E '^\s*Copyright (\(c\)|\(C\)|©)? ?[0-9]' | sed -E 's/^\s*Copyright (\(c\)|\(C\)|©)? ?//' || true)
        [ -n "$holder" ] || holder="the $package authors"
        tag=$(git -C "$checkout" describe --tags 2>/dev/null || echo "?")
        printf '\nFiles: %s/*\nCopyright: %s\nLicense: %s\nComment: %s %s, resolved by the build; linked into the executable as far as the gateway uses it.\n' \
            "$package" "$holder" "$licence" "$package" "$tag"
        if [ "$licence" = Apache-2.0 ]; then
            printf ' .\n On Debian systems, the full text of the Apache License 2.0 is in\n /usr/share/common-licenses/Apache-2.0.\n'
        fi
    done
    # The C libraries some of them vendor: after their packages' paragraphs, which they refine.
    printf '\n'
    cat "$root/packaging/deb/copyright-vendored.in"
    printf '\nLicense: Apache-2.0\n On Debian systems, the full text of the Apache License 2.0 is in\n /usr/share/common-licenses/Apache-2.0.\n'
    printf '\nLicense: Expat\n'
    sed -n '/^Permission is hereby granted/,$p' "$root/.build/checkouts/swift-nio/Sources/CNIOLLHTTP/LICENSE" \
        | sed -e 's/^$/./' -e 's/^/ /' -e 's/ *$//'
    printf '\nLicense: not-yet-chosen\n No licence is granted: the project has not chosen one yet. Ask the fhir-risk-gateway\n maintainers before you redistribute or modify this package.\n'
} > "$doc/copyright"
chmod 644 "$doc/copyright"
{
    printf '%s (%s) unstable; urgency=medium\n\n' "$name" "$version"
    printf '  * Built from the fhir-risk-gateway repository.\n    Commit: %s.\n    Toolchain: %s.\n\n' "$commit" "$toolchain"
    printf ' -- %s  %s\n' "$maintainer" "$(date -R -u -d "@$SOURCE_DATE_EPOCH")"
} | gzip -9n > "$doc/changelog.Debian.gz"
chmod 644 "$doc/changelog.Debian.gz"
install -D -m644 "$root/packaging/deb/lintian-overrides" "$pkg/usr/share/lintian/overrides/$name"
[ -s "$pkg/usr/share/lintian/overrides/$name" ] || rm -rf "$pkg/usr/share/lintian"
# The -dbgsym package's documentation is the main package's (as Debian's dbgsym packages do).
mkdir -p "$dbg/usr/share/doc"
ln -s "$name" "$dbg/usr/share/doc/$name-dbgsym"

# 3. Depends: the libraries the executables load (dpkg-shlibdeps wants a debian/control to read).
mkdir -p "$work/shlibs/debian"
printf 'Source: %s\n\nPackage: %s\nArchitecture: any\n' "$name" "$name" > "$work/shlibs/debian/control"
shlibs=$(cd "$work/shlibs" && dpkg-shlibdeps -O "-e$pkg/usr/bin/$name" "-e$pkg/usr/libexec/$name/swift-backtrace-static" 2>"$work/shlibs.log") \
    || { cat "$work/shlibs.log" >&2; exit 1; }
shlibs=${shlibs#shlibs:Depends=}
# postinst runs systemd-sysusers (as dh_installsysusers' snippet, with its dependency) and
# systemd-tmpfiles (only when present, as dh_installtmpfiles' snippet).
depends="$shlibs, systemd | systemd-standalone-sysusers | systemd-sysusers"

# 4. Control files.
install -d -m755 "$pkg/DEBIAN" "$dbg/DEBIAN"
install -m755 "$root/packaging/deb/postinst" "$root/packaging/deb/prerm" "$root/packaging/deb/postrm" "$pkg/DEBIAN/"
echo "/etc/$name/gateway.yaml" > "$pkg/DEBIAN/conffiles"
for dir in "$pkg" "$dbg"; do
    (cd "$dir" && find . -type f ! -path './DEBIAN/*' -printf '%P\0' | LC_ALL=C sort -z | xargs -0 -r md5sum) > "$dir/DEBIAN/md5sums"
done
installed_size() { du -s -k --apparent-size --exclude=DEBIAN "$1" | cut -f1; }
cat > "$pkg/DEBIAN/control" <<EOF
Package: $name
Version: $version
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(installed_size "$pkg")
Depends: $depends
Suggests: $name-dbgsym
Section: net
Priority: optional
Description: HL7 FHIR R4 gateway scoring the early-progression risk of iCCA
 A daemon for hospital integration engines: it takes FHIR R4 ImagingStudy,
 Observation and Condition resources over mutual TLS, validates them against
 its profiles, scores the risk of early progression of unresectable
 intrahepatic cholangiocarcinoma from the apparent diffusion coefficient (a
 research model), stores everything durably (SQLite, or PostgreSQL for
 several gateways) and delivers a FHIR RiskAssessment to an upstream FHIR
 server over HTTPS.
 .
 Runs under systemd, socket-activated on port 443, as its own system user in
 a sandbox. The package does not enable the service: put the TLS certificate
 and key in /etc/fhir-risk-gateway/tls first (see fhir-risk-gateway(8)).
EOF
cat > "$dbg/DEBIAN/control" <<EOF
Package: $name-dbgsym
Source: $name
Version: $version
Auto-Built-Package: debug-symbols
Architecture: $arch
Maintainer: $maintainer
Installed-Size: $(installed_size "$dbg")
Depends: $name (= $version)
Section: debug
Priority: optional
Description: debug symbols for $name
Build-Ids: ${build_ids% }
EOF

# 5. The archives: root-owned members, gzip: xz took 145 s of CPU for the 99 MB binary (gzip 37 s),
# and lintian (bookworm) refuses zstd members.
mkdir -p "$outdir"
deb=$outdir/${name}_${version}_${arch}.deb
ddeb=$outdir/${name}-dbgsym_${version}_${arch}.deb
nice -n 10 dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-gzip}" --build "$pkg" "$deb" >/dev/null
nice -n 10 dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-gzip}" --build "$dbg" "$ddeb" >/dev/null
echo "$deb"
echo "$ddeb"
