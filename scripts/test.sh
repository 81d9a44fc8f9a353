#!/usr/bin/env bash
# Installs what is missing, builds, and runs the whole test suite: first the release build,
# then again under ASan + UBSan, then the unit tests under ThreadSanitizer, then a short libFuzzer
# run of every fuzz target (clang, ASan + UBSan; fuzz/README.md). Exit status 0 only if every test
# passed and no fuzz finding was made.
#   scripts/test.sh            all four (what CI runs)
#   scripts/test.sh tsan       the unit tests under ThreadSanitizer only
#   scripts/test.sh release    release build only (quicker while developing)
#   scripts/test.sh fuzz       the fuzz smoke only
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh --test
flavours=("$@")
[ ${#flavours[@]} -eq 0 ] && flavours=(release asan tsan fuzz)
# Seconds each fuzz target runs for in the smoke (7 targets: about 2.5 minutes plus the build;
# longer runs are fuzz/run.sh's job, by hand).
fuzz_seconds="${SY_FUZZ_SMOKE_SECONDS:-20}"
fuzz_targets=(request_parser response_parser message_writer route_matcher config_loader admin_api proxy_protocol)
for flavour in "${flavours[@]}"; do
  if [ "$flavour" = fuzz ]; then
    echo "== fuzz smoke (${fuzz_seconds}s per target) ==" >&2
    # Fresh scratch corpora: the smoke starts from the seeds every time.
    scratch="$(mktemp -d)"
    findings=0
    for target in "${fuzz_targets[@]}"; do
      SY_FUZZ_WORK="$scratch" fuzz/run.sh "$target" "$fuzz_seconds" || findings=1
    done
    rm -rf "$scratch"
    [ "$findings" -eq 0 ] || { echo "fuzz smoke: findings in build-fuzz/findings/" >&2; exit 1; }
    continue
  fi
  scripts/build.sh "$flavour"
  # puppeteer-core for the browser test (tests/browser, release only), as package-lock.json pins it.
  if [ "$flavour" = release ]; then (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error); fi
  dir=build
  [ "$flavour" = asan ] && dir=build-asan
  echo "== tests ($flavour) ==" >&2
  if [ "$flavour" = tsan ]; then
    # The unit tests that run threads (tests/CMakeLists.txt, SY_THREADED_UNIT_TESTS), run
    # directly: the integration suite under TSan would not fit CI's time. A report fails them.
    for binary in unit_core unit_control unit_health unit_proxy; do
      TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1 "build-tsan/tests/$binary" --gtest_brief=1
    done
    continue
  fi
  # Sanitizer reports fail the run; leak checking stays on.
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    ctest --test-dir "$dir" --output-on-failure -j 2 --timeout 300
  # .deb, container image and Kubernetes manifests: once, on the release build only.
  if [ "$flavour" = release ]; then scripts/deploy_checks.sh "$dir"; fi
done
