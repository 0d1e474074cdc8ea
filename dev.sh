#!/usr/bin/env bash
# dev.sh -- the two commands of the quick start.
#
#   ./dev.sh run [NEWSFEEDD FLAGS...]   install what is missing, build, start newsfeedd
#   ./dev.sh test                       install what is missing, build, run every test
#
# `test` builds twice -- a normal build and an ASan+UBSan build -- runs the
# whole suite (unit and integration) in both, runs every libFuzzer target for
# NF_FUZZ_SECONDS (default 15) under ASan+UBSan (each target counts as one
# test), and ends with the line "N passed, N failed".
set -euo pipefail
cd "$(dirname "$0")"

PACKAGES=(meson ninja-build pkg-config gcc libuv1-dev libnng-dev nng-utils libmsgpack-dev
          libyaml-dev libjansson-dev libcmocka-dev libsystemd-dev python3 python3-msgpack
          systemd coreutils openssl valgrind clang clang-format libclang-rt-14-dev
          nats-server libnats-dev mosquitto libmosquitto-dev)

install_missing() {
  local missing=()
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  echo "dev.sh: installing ${missing[*]}" >&2
  local sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
}

build() { # build DIR [meson options...]
  local dir=$1; shift
  if [ ! -f "$dir/build.ninja" ]; then
    meson setup "$dir" -Dwerror=true "$@" >/dev/null
  fi
  ninja -C "$dir" >/dev/null
}

PASSED=0
FAILED=0

# Prints the log (command, output) of each test that did not pass, so a CI
# failure can be understood from the CI output alone.
failed_logs() { # failed_logs TESTLOG
  awk '/^=+ [0-9]+\/[0-9]+ =+$/ { if (bad) printf "%s", blk; blk = ""; bad = 0; n = 0 }
       /^result: / && !/exit status 0/ { bad = 1 }
       { if (n++ < 80) blk = blk $0 "\n" }
       END { if (bad) printf "%s", blk }' "$1"
}
run_suite() { # run_suite DIR LABEL
  local dir=$1 label=$2 log rc=0
  log=$(mktemp)
  meson test -C "$dir" --print-errorlogs --num-processes 2 >"$log" 2>&1 || rc=$?
  grep -E '^ *[0-9]+/[0-9]+ ' "$log" | sed "s/^/[$label] /"
  local ok fail
  ok=$(awk '/^Ok:/ {print $2}' "$log")
  fail=$(awk '/^(Fail|Timeout|Unexpected Pass):/ {s += $NF} END {print s+0}' "$log")
  if [ "$rc" -ne 0 ]; then
    sed -n '/Summary of Failures/,$p' "$log"
    failed_logs "$dir/meson-logs/testlog.txt" || true
    [ "${fail:-0}" -eq 0 ] && fail=1
  fi
  PASSED=$((PASSED + ${ok:-0}))
  FAILED=$((FAILED + ${fail:-0}))
  rm -f "$log"
}

run_fuzz() { # run_fuzz SECONDS: each fuzz target is one test
  local log rc=0
  log=$(mktemp)
  scripts/fuzz.sh "$1" >"$log" 2>&1 || rc=$?
  grep -E '^fuzz-' "$log" | sed 's/^/[fuzz] /'
  local ok bad
  ok=$(grep -cE '^fuzz-.* ok$' "$log" || true)
  bad=$(grep -E '^fuzz-' "$log" | grep -vcE ' ok$' || true)
  if [ "$rc" -ne 0 ]; then
    cat "$log" | tail -40
    [ "${bad:-0}" -eq 0 ] && bad=1
  fi
  PASSED=$((PASSED + ${ok:-0}))
  FAILED=$((FAILED + ${bad:-0}))
  rm -f "$log"
}

case "${1:-}" in
  run)
    shift
    install_missing
    build build
    echo "dev.sh: starting build/src/newsfeedd $* (Ctrl-C to stop)" >&2
    exec build/src/newsfeedd "$@"
    ;;
  test)
    install_missing
    build build
    build build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dbuildtype=debug
    export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
    export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
    run_suite build default
    run_suite build-asan asan+ubsan
    run_fuzz "${NF_FUZZ_SECONDS:-15}"
    echo "$PASSED passed, $FAILED failed"
    [ "$FAILED" -eq 0 ]
    ;;
  *)
    echo "usage: ./dev.sh run [NEWSFEEDD FLAGS...] | ./dev.sh test" >&2
    exit 2
    ;;
esac
