#!/usr/bin/env bash
# check-format.sh [--fix] -- every C file of the tree, tracked or new (not
# ignored), is as clang-format (the repo's .clang-format) would write it.
# --fix rewrites them in place.
set -euo pipefail
cd "$(dirname "$0")/.."
mapfile -t files < <(git ls-files --cached --others --exclude-standard '*.c' '*.h' 2>/dev/null || find src include tools tests -name '*.[ch]')
if [ "${1:-}" = "--fix" ]; then
  clang-format -i "${files[@]}"
  exit 0
fi
if ! clang-format --dry-run -Werror "${files[@]}" 2>/tmp/check-format.$$; then
  grep -E '^[^ ].*: (error|warning):' /tmp/check-format.$$ | cut -d: -f1 | sort -u |
    sed 's/^/not formatted: /'
  echo "run scripts/check-format.sh --fix"
  rm -f /tmp/check-format.$$
  exit 1
fi
rm -f /tmp/check-format.$$
