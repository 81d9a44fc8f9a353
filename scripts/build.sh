#!/usr/bin/env bash
# Configures and builds. Usage: scripts/build.sh [release|asan]   (default: release)
#   release -> build/        (RelWithDebInfo, -O2 -g; the binary is build/switchyard)
#   asan    -> build-asan/   (Debug + ASan/UBSan)
set -euo pipefail
cd "$(dirname "$0")/.."
flavour="${1:-release}"
jobs="$(nproc)"
case "$flavour" in
  release) dir=build; flags=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan) dir=build-asan; flags=(-DCMAKE_BUILD_TYPE=Debug -DSY_SANITIZE=ON) ;;
  *) echo "build.sh: unknown flavour $flavour (release|asan)" >&2; exit 2 ;;
esac
cmake -S . -B "$dir" -G Ninja "${flags[@]}" >/dev/null
cmake --build "$dir" -j "$jobs"
