#!/usr/bin/env bash
# Writes the manual pages into OUTDIR, from their single sources:
#   fhir-risk-gateway.8       swift-argument-parser's generate-manual run on BINARY (it reads the
#                             binary's --experimental-dump-help, i.e. its command definitions),
#                             merged with docs/man/fhir-risk-gateway.8.mdoc (environment, files,
#                             exit status, see also)
#   fhir-risk-gateway.yaml.5  Config/gateway.yaml's sections, keys and comments, merged with
#                             docs/man/fhir-risk-gateway.yaml.5.mdoc
# generate-manual is built once (debug, about 30 s on two cores) from the swift-argument-parser
# checkout the package resolved, into .build/tools/argument-parser, and reused after that.
# The pages' date is the last commit's (or $SOURCE_DATE_EPOCH's), so a rebuild gives the same bytes.
# Usage: scripts/manpages.sh BINARY OUTDIR        (SWIFT: the swift driver, default swift)
set -euo pipefail
binary=${1:?usage: manpages.sh BINARY OUTDIR}
outdir=${2:?usage: manpages.sh BINARY OUTDIR}
root=$(cd "$(dirname "$0")/.." && pwd)
SWIFT=${SWIFT:-swift}
binary=$(readlink -f "$binary")

tool=$root/.build/tools/argument-parser/debug/generate-manual
checkout=$root/.build/checkouts/swift-argument-parser
if [ ! -x "$tool" ]; then
    [ -d "$checkout" ] || (cd "$root" && "$SWIFT" package resolve >/dev/null)
    echo "manpages: building swift-argument-parser's generate-manual ($(git -C "$checkout" describe --tags 2>/dev/null || echo '?'))" >&2
    nice -n 10 "$SWIFT" build --package-path "$checkout" --scratch-path "$root/.build/tools/argument-parser" \
        --product generate-manual >/dev/null
fi

if [ -z "${SOURCE_DATE_EPOCH:-}" ]; then
    SOURCE_DATE_EPOCH=$(git -C "$root" log -1 --format=%ct 2>/dev/null || date +%s)
fi
export SOURCE_DATE_EPOCH
version=$("$binary" --version | awk '{ print $2 }')
mkdir -p "$outdir"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$tool" "$binary" --section 8 -o "$work"
python3 "$root/Generator/generate_manpages.py" command "$work/fhir-risk-gateway.8" \
    "$root/docs/man/fhir-risk-gateway.8.mdoc" "$outdir/fhir-risk-gateway.8" --os "fhir-risk-gateway $version"
python3 "$root/Generator/generate_manpages.py" config "$root/Config/gateway.yaml" \
    "$root/docs/man/fhir-risk-gateway.yaml.5.mdoc" "$outdir/fhir-risk-gateway.yaml.5" --os "fhir-risk-gateway $version"
