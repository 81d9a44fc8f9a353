#!/usr/bin/env bash
# Configures and builds. Usage: scripts/build.sh [release|asan|tsan]   (default: release)
#   release -> build/        (RelWithDebInfo, -O2 -g; the binary is build/switchyard)
#   asan    -> build-asan/   (Debug + ASan/UBSan)
#   tsan    -> build-tsan/   (ThreadSanitizer, -O1 -g1; only the unit tests that run threads:
#                             target tsan_unit_tests)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
jobs="$(nproc)"
case "$flavour" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSY_SANITIZE=ON) ;;
  # -O1 -g1: quicker to build than -O2 -g, and line numbers are all a report needs.
  tsan) dir=build-tsan; flags=(-DCMAKE_BUILD_TYPE=None "-DCMAKE_CXX_FLAGS=-O1 -g1" -DSY_TSAN=ON) ;;
  *) echo "build.sh: unknown flavour $flavour (release|asan|tsan)" >&2; exit 2 ;;
esac
targets=()
[ "$flavour" = tsan ] && targets=(--target tsan_unit_tests)
# SY_UNITY_BUILD: library sources in batches too (CMakeLists.txt says why); CI builds three times.
cmake -S . -B "$dir" -G Ninja -DSY_UNITY_BUILD=ON "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs" "${targets[@]}"
