#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: first the release build,
# then again under ASan + UBSan. Exit status 0 only if every test passed in both.
#   scripts/test.sh            both builds
#   scripts/test.sh release    release build only (quicker while developing)
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
flavours=("$@")
[ ${#flavours[@]} -eq 0 ] && flavours=(release asan)
for flavour in "${flavours[@]}"; do
  scripts/build.sh "$flavour"
  dir=build
  [ "$flavour" = asan ] && dir=build-asan
  echo "== tests ($flavour) ==" >&2
  # Sanitizer reports fail the run; leak checking stays on.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 300
  # .deb, container image and Kubernetes manifests: once, on the release build only.
  if [ "$flavour" = release ]; then scripts/deploy_checks.sh "$dir"; fi
done
