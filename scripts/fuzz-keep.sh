#!/usr/bin/env bash
# Keeps a fuzzer's crash input as a regression test: copies it to
# Tests/Fixtures/fuzz-regressions/<target>/<sha1-prefix>, which FuzzRegressionTests (make test) runs
# through the same checks as the fuzzer. Usage: scripts/fuzz-keep.sh <target> <input file> [name]
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -ge 2 ] || { echo "usage: $0 <target> <input file> [name]" >&2; exit 2; }
target="$1" input="$2"
case "$target" in
  strict-json | xml-document | narrative-xhtml | fhir-json | fhir-xml | gzip | fhirpath) ;;
  *) echo "unknown fuzz target '$target'" >&2; exit 2 ;;
esac
name="${3:-$(sha1sum "$input" | cut -c1-16)}"
mkdir -p "Tests/Fixtures/fuzz-regressions/$target"
cp "$input" "Tests/Fixtures/fuzz-regressions/$target/$name"
echo "kept as Tests/Fixtures/fuzz-regressions/$target/$name; run: swift test --filter FuzzRegressionTests"
