#!/usr/bin/env bash
# The end-to-end benchmark in one command: Switchyard against nginx and HAProxy on 127.0.0.1.
#
#   bench/run.sh            full set (~10 minutes): writes bench/RESULTS.md and bench/RESULTS.json
#   bench/run.sh --quick    short runs (~3 minutes), report in the run directory only
#   bench/run.sh --help     every option (scenarios, rounds, durations, pinning, ...)
#
# Installs what is missing from Debian (wrk, nginx, haproxy: scripts/setup.sh --bench), builds
# build/ (RelWithDebInfo), then runs bench/harness.py. Everything it starts is stopped on exit,
# Ctrl-C or failure. Run it on a quiet machine: it prints the load average it started with.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SWITCHYARD_BUILD_DIR:-$root/build}"

for arg in "$@"; do
  if [ "$arg" = "--help" ] || [ "$arg" = "-h" ]; then
    exec python3 "$root/bench/harness.py" --help
  fi
done

"$root/scripts/setup.sh" --bench
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target switchyard flip_load >/dev/null

# Room for 10,000 idle client connections in the client and in each proxy.
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

exec python3 "$root/bench/harness.py" --build-dir "$build" "$@"
