#!/usr/bin/env bash
# Fails when a C++ file of the repository is not formatted as .clang-format says (Google style).
# Run by ctest (FormatCheck, release build only) and by hand:  scripts/format_check.sh
# Fix with:  clang-format -i <file>
set -euo pipefail
cd "$(dirname "$0")/.."
command -v clang-format >/dev/null || { echo "format_check: clang-format is not installed" >&2; exit 1; }
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  # A source tarball has no git: check every C++ file under the tree instead.
  mapfile -t files < <(find . -path ./build\* -prune -o \( -name '*.cc' -o -name '*.h' \) -print)
else
  mapfile -t files < <(git ls-files '*.cc' '*.h')
fi
# One clang-format per batch of files, two at a time: its warnings name each unformatted file.
report="$(printf '%s\0' "${files[@]}" | xargs -0 -P 2 -n 40 clang-format --dry-run 2>&1 || true)"
mapfile -t unformatted < <(sed -n -E 's/^(.*):[0-9]+:[0-9]+: warning: code should be clang-formatted.*/\1/p' \
  <<<"$report" | sort -u)
if [ ${#unformatted[@]} -gt 0 ]; then
  echo "format_check: ${#unformatted[@]} of ${#files[@]} files are not clang-formatted:" >&2
  printf '  %s\n' "${unformatted[@]}" >&2
  echo "fix with: clang-format -i <file>" >&2
  exit 1
fi
echo "format_check: ${#files[@]} files formatted"
