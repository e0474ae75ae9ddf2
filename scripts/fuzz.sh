#!/usr/bin/env bash
# Builds the libFuzzer executables (Fuzz/, with the address sanitizer), assembles the seed corpora
# from Tests/Fixtures, runs each target for FUZZ_SECONDS (one after the other, at nice 19) and
# prints a table: executions, exec/s, corpus units added, crashes. Run through `make fuzz
# [SECONDS=…] [TARGETS="strict-json gzip"]`; see README.md, "Fuzzing".
#
# A crash stops its target and leaves the input in .build-fuzz/crashes/<target>/; the log of the
# run is .build-fuzz/logs/<target>.log. To keep a crash as a regression test:
#   scripts/fuzz-keep.sh <target> .build-fuzz/crashes/<target>/crash-…
set -euo pipefail
cd "$(dirname "$0")/.."

SECONDS_PER_TARGET="${FUZZ_SECONDS:-60}"
# With FUZZ_RUNS, each target runs until it has made that many executions (and FUZZ_SECONDS, if
# not given, no longer bounds it): a paused fuzzer (kill -STOP) then loses nothing of its count.
RUNS="${FUZZ_RUNS:-}"
if [ -n "$RUNS" ] && [ -z "${FUZZ_SECONDS:-}" ]; then SECONDS_PER_TARGET=0; fi
ALL_TARGETS="strict-json xml-document narrative-xhtml fhir-json fhir-xml gzip fhirpath"
TARGETS="${FUZZ_TARGETS:-$ALL_TARGETS}"
SWIFT="${SWIFT:-swift}"
SCRATCH=.build-fuzz
WORK="$SCRATCH/work"
EXAMPLES=Tests/Fixtures/fhir-examples/R4

# The executable of each target (Fuzz/Package.swift) and the largest input it gets.
executable() {
  case "$1" in
    strict-json) echo FuzzStrictJSON ;; xml-document) echo FuzzXMLDocument ;;
    narrative-xhtml) echo FuzzNarrativeXHTML ;; fhir-json) echo FuzzFHIRJSON ;;
    fhir-xml) echo FuzzFHIRXML ;; gzip) echo FuzzGzip ;; fhirpath) echo FuzzFHIRPath ;;
    *) echo "unknown fuzz target '$1' (known: $ALL_TARGETS)" >&2; exit 2 ;;
  esac
}
max_len() {
  case "$1" in
    fhirpath) echo 4096 ;; narrative-xhtml) echo 8192 ;; gzip) echo 16384 ;; *) echo 32768 ;;
  esac
}
# Options of one target. fhirpath: no leak detection (per input, and LeakSanitizer's at exit), since
# Swift's own Regex leaks part of every compiled pattern (_RegexParser's AST boxes, in the
# toolchain's libswift_StringProcessing); the engine compiles each distinct pattern once
# (RegexCache), so the gateway's patterns, which come from its profiles, cost a bounded amount.
extra_options() {
  case "$1" in
    fhirpath) echo -detect_leaks=0 ;;
  esac
}
asan_options() {
  case "$1" in
    fhirpath) echo detect_leaks=0 ;;
  esac
}
for target in $TARGETS; do executable "$target" >/dev/null; done

echo "building the fuzzers (release, -sanitize=fuzzer,address) into $SCRATCH" >&2
nice -n 10 "$SWIFT" build --package-path Fuzz --scratch-path "$SCRATCH" -c release \
  -Xswiftc -sanitize=fuzzer,address >&2
BIN="$SCRATCH/release"

# Seeds, rebuilt on every run (cheap); the growing corpus in $WORK/<target>/corpus is kept.
seed() {
  local target="$1" dir="$WORK/$1/seeds"
  rm -rf "$dir" && mkdir -p "$dir" "$WORK/$1/corpus"
  case "$target" in
    strict-json | fhir-json) cp "$EXAMPLES"/*.json "$EXAMPLES"/invalid/*.json "$dir"/ 2>/dev/null || true ;;
    xml-document | fhir-xml) cp "$EXAMPLES"/*.xml "$EXAMPLES"/invalid/*.xml "$dir"/ 2>/dev/null || true ;;
    narrative-xhtml) python3 scripts/fuzz-seeds.py narratives "$EXAMPLES" "$dir" ;;
    fhirpath) python3 scripts/fuzz-seeds.py fhirpath Tests/Fixtures/fhirpath-tests/tests-fhir-r4.xml "$dir" ;;
    gzip)
      for file in "$EXAMPLES"/*.json "$EXAMPLES"/*.xml; do
        [ "$(stat -c %s "$file")" -le 65536 ] && gzip -9 -c "$file" >"$dir/$(basename "$file").gz"
      done
      # A stream that inflates to more than the fuzzing cap (64 KiB): 1 MiB of zeros.
      head -c 1048576 /dev/zero | gzip -9 -c >"$dir/zeros-1MiB.gz" ;;
  esac
  # Regression inputs are seeds too: the fuzzer starts where a crash once was.
  if [ -d "Tests/Fixtures/fuzz-regressions/$target" ]; then
    cp "Tests/Fixtures/fuzz-regressions/$target"/* "$dir"/ 2>/dev/null || true
  fi
}

stat_of() { sed -n "s/^stat::$1: *//p" "$2" | tail -1; }

rows=()
status=0
for target in $TARGETS; do
  seed "$target"
  crashes="$SCRATCH/crashes/$target"
  mkdir -p "$crashes" "$SCRATCH/logs"
  log="$SCRATCH/logs/$target.log"
  before=$(find "$crashes" -type f | wc -l)
  if [ -n "$RUNS" ]; then
    echo "fuzzing $target for $RUNS executions (log: $log)" >&2
  else
    echo "fuzzing $target for ${SECONDS_PER_TARGET}s (log: $log)" >&2
  fi
  # SWIFT_BACKTRACE off: libFuzzer and the sanitizer report the crash and write its input.
  # -malloc_limit_mb / -rss_limit_mb: one allocation over 256 MiB, or 2 GiB in all, is a crash
  # (the no-unbounded-allocation invariant).
  set +e
  ASAN_OPTIONS="$(asan_options "$target")" SWIFT_BACKTRACE=enable=no nice -n 19 "$BIN/$(executable "$target")" \
    "$WORK/$target/corpus" "$WORK/$target/seeds" \
    -max_total_time="$SECONDS_PER_TARGET" -max_len="$(max_len "$target")" -timeout=30 \
    -rss_limit_mb=2048 -malloc_limit_mb=256 -print_final_stats=1 \
    ${RUNS:+-runs="$RUNS"} -artifact_prefix="$crashes/" $(extra_options "$target") >"$log" 2>&1
  code=$?
  set -e
  after=$(find "$crashes" -type f | wc -l)
  found=$((after - before))
  result=ok
  if [ "$code" -ne 0 ] || [ "$found" -gt 0 ]; then
    result="CRASH (exit $code; input in $crashes/)"
    status=1
  fi
  rows+=("$(printf '%-16s %14s %10s %12s %8s  %s' "$target" \
    "$(stat_of number_of_executed_units "$log")" "$(stat_of average_exec_per_sec "$log")" \
    "$(stat_of new_units_added "$log")" "$found" "$result")")
done

printf '\n%-16s %14s %10s %12s %8s  %s\n' target executions exec/s new-units crashes result
for row in "${rows[@]}"; do echo "$row"; done
if [ "$status" -ne 0 ]; then
  echo
  echo "A crash's input is in .build-fuzz/crashes/<target>/ and its report in .build-fuzz/logs/<target>.log."
  echo "Keep it as a regression test once fixed: scripts/fuzz-keep.sh <target> <input file>"
fi
exit "$status"
