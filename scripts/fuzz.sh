#!/usr/bin/env bash
# scripts/fuzz.sh [SECONDS] -- build the libFuzzer targets and run each one.
#
# Configures build-fuzz (clang, -Dfuzz=true: every object built with ASan,
# UBSan and coverage instrumentation), builds it, then runs every
# build-fuzz/tests/fuzz/fuzz-* for SECONDS (default 30) on a copy of its seed
# corpus, tests/fuzz/corpus/<target>/, plus the saved reproducers
# tests/fuzz/crashes/*-<target> (so a bug that comes back fails at once).
# Prints per target: runs executed, coverage (cov: of libFuzzer's last
# stats line), features, corpus size; exits non-zero if any target crashed,
# leaked, timed out or ran out of memory.  Takes about SECONDS x targets,
# plus the build.
#
# Environment:
#   FUZZ_TARGETS="json-item rules"  run only these targets
#   FUZZ_TIMEOUT=10                 seconds one input may take (libFuzzer -timeout)
#   NF_FUZZ_KNOWN=meta-nul,...      look past known, reported bugs (docs/fuzzing.md);
#                                   also applies tests/fuzz/known-ubsan.supp
#   FUZZ_KEEP_CORPUS=1              keep what each run found in build-fuzz/fuzz-out/<target>/corpus
# Logs and crash inputs: build-fuzz/fuzz-out/<target>/.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

SECONDS_PER_TARGET=${1:-30}
case "$SECONDS_PER_TARGET" in
  ''|*[!0-9]*) echo "usage: scripts/fuzz.sh [SECONDS]" >&2; exit 2 ;;
esac
BUILD=build-fuzz
TIMEOUT=${FUZZ_TIMEOUT:-10}

if ! command -v clang >/dev/null; then
  echo "fuzz.sh: clang is needed (apt-get install clang libclang-rt-dev)" >&2
  exit 2
fi

if [ ! -f "$BUILD/build.ninja" ]; then
  CC=clang meson setup "$BUILD" -Dfuzz=true -Db_lundef=false >"$BUILD.setup.log" 2>&1 || {
    cat "$BUILD.setup.log" >&2
    exit 2
  }
  rm -f "$BUILD.setup.log"
fi
if ! ninja -C "$BUILD" >"$BUILD/fuzz-build.log" 2>&1; then
  tail -40 "$BUILD/fuzz-build.log" >&2
  echo "fuzz.sh: build failed" >&2
  exit 2
fi

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
if [ -n "${NF_FUZZ_KNOWN:-}" ]; then
  export NF_FUZZ_KNOWN
  export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1:suppressions=$ROOT/tests/fuzz/known-ubsan.supp"
fi

dict_for() {
  case "$1" in
    config|rules|yaml-items) echo "$ROOT/tests/fuzz/yaml.dict" ;;
    *) echo "$ROOT/tests/fuzz/items.dict" ;;
  esac
}

targets=()
for exe in "$BUILD"/tests/fuzz/fuzz-*; do
  [ -f "$exe" ] && [ -x "$exe" ] || continue
  name=${exe##*/fuzz-}
  if [ -n "${FUZZ_TARGETS:-}" ] && ! [[ " $FUZZ_TARGETS " == *" $name "* ]]; then continue; fi
  targets+=("$name")
done
if [ ${#targets[@]} -eq 0 ]; then
  echo "fuzz.sh: no fuzz-* targets in $BUILD/tests/fuzz" >&2
  exit 2
fi

echo "fuzz.sh: ${#targets[@]} targets, ${SECONDS_PER_TARGET}s each, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
printf '%-18s %10s %7s %7s %16s  %s\n' target runs cov ft corpus result
failed=0
for name in "${targets[@]}"; do
  out="$BUILD/fuzz-out/$name"
  rm -rf "$out"
  mkdir -p "$out/corpus"
  cp "tests/fuzz/corpus/fuzz-$name"/* "$out/corpus/" 2>/dev/null
  for c in tests/fuzz/crashes/*-fuzz-"$name"; do
    [ -f "$c" ] && cp "$c" "$out/corpus/regression-${c##*/}"
  done
  log="$out/fuzz.log"
  ( cd "$out" && exec "$ROOT/$BUILD/tests/fuzz/fuzz-$name" \
      -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -max_len=65536 \
      -timeout="$TIMEOUT" -dict="$(dict_for "$name")" -artifact_prefix="./" \
      -print_final_stats=1 corpus ) >"$log" 2>&1
  rc=$?
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  [ -n "$runs" ] || runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -1)
  last=$(grep -E '^#[0-9]+.*cov: ' "$log" | tail -1)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corp=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  artifacts=$(cd "$out" && ls crash-* leak-* timeout-* oom-* slow-unit-* 2>/dev/null | grep -v '^slow-unit-' || true)
  if [ "$rc" -ne 0 ] || [ -n "$artifacts" ]; then
    result="FAILED (exit $rc)"
    failed=$((failed + 1))
  else
    result=ok
  fi
  printf '%-18s %10s %7s %7s %16s  %s\n' "fuzz-$name" "${runs:-?}" "${cov:-?}" "${ft:-?}" \
    "${corp:-?}" "$result"
  if [ "$result" != ok ]; then
    if grep -aq 'fuzz check failed' "$log"; then
      grep -a -m1 -A2 'fuzz check failed' "$log"
    elif grep -aq 'runtime error' "$log"; then
      grep -a -m1 -A4 'runtime error' "$log"
    elif grep -aq 'ERROR: [A-Za-z]*Sanitizer' "$log"; then
      grep -a -m1 -A8 'ERROR: [A-Za-z]*Sanitizer' "$log"
    else
      grep -a -m1 -A3 'ERROR: libFuzzer' "$log"
    fi | cut -c1-300 | sed 's/^/    /'
    for a in $artifacts; do echo "    input: $out/$a"; done
    grep -q 'Running: corpus/regression-' "$log" && [ -z "$artifacts" ] &&
      echo "    (a saved reproducer in tests/fuzz/crashes failed again)"
    echo "    log: $log"
  fi
  [ -n "${FUZZ_KEEP_CORPUS:-}" ] || rm -rf "$out/corpus"
done
if [ "$failed" -ne 0 ]; then
  echo "fuzz.sh: $failed of ${#targets[@]} targets FAILED"
  exit 1
fi
echo "fuzz.sh: all ${#targets[@]} targets ran ${SECONDS_PER_TARGET}s without a crash"
