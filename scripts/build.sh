#!/usr/bin/env bash
# Configures and builds. Usage: scripts/build.sh [release|asan|tsan]   (default: release)
#   release -> build/        (RelWithDebInfo, -O2 -g; the binary is build/switchyard)
#   asan    -> build-asan/   (Debug + ASan/UBSan)
#   tsan    -> build-tsan/   (ThreadSanitizer, -O2 -g; only the unit tests: target unit_tests)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
jobs="$(nproc)"
case "$flavour" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSY_SANITIZE=ON) ;;
  tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DSY_TSAN=ON) ;;
  *) echo "build.sh: unknown flavour $flavour (release|asan|tsan)" >&2; exit 2 ;;
esac
targets=()
[ "$flavour" = tsan ] && targets=(--target unit_tests)
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" "${targets[@]}"
