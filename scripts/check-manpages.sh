#!/usr/bin/env bash
# Renders each manual page (mdoc, plain or gzipped) the way man(1) shows it at 80 columns and fails
# on any warning groff or man prints (a broken macro, a line that cannot be set, an unknown
# escape): `man --warnings -l` must write nothing to stderr. Also checks that the page says what
# it must (its NAME line, and for section 8 the exit status 78).
# Usage: scripts/check-manpages.sh PAGE...
set -euo pipefail
[ $# -gt 0 ] || { echo "usage: check-manpages.sh PAGE..." >&2; exit 2; }
command -v man >/dev/null || { echo "FAIL  man is not installed (man-db, groff-base: scripts/install-deps.sh)"; exit 1; }
status=0
for page in "$@"; do
    name=$(basename "$page")
    warnings=$(MANWIDTH=80 LC_ALL=C.UTF-8 man --warnings -l "$page" 2>&1 >/dev/null) || { echo "FAIL  man -l $name exits non-zero: $warnings"; status=1; continue; }
    if [ -n "$warnings" ]; then
        echo "FAIL  man -l $name warns:"; echo "$warnings" | head -20; status=1; continue
    fi
    text=$(MANWIDTH=80 LC_ALL=C.UTF-8 man -l "$page" 2>/dev/null)
    grep -q '^NAME' <<<"$text" || { echo "FAIL  $name has no NAME section"; status=1; continue; }
    case $name in
        *.8|*.8.gz) grep -q '78' <<<"$text" || { echo "FAIL  $name does not name exit status 78"; status=1; continue; } ;;
    esac
    echo "PASS  man -l $name: $(wc -l <<<"$text") lines, no warnings"
done
exit $status
