#!/usr/bin/env bash
# Runs the Google Benchmark micro benchmarks (build/bench/switchyard_bench) and prints the table
# of bench/README.md: median of 5 repetitions, CPU time per operation.
#
#   bench/micro.sh             print the table
#   bench/micro.sh --update    also replace the table in bench/README.md
#   bench/micro.sh --filter 'Parse|Route'   only some benchmarks (no --update then)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SWITCHYARD_BUILD_DIR:-$root/build}"
update=0
filter="."
while [ $# -gt 0 ]; do
  case "$1" in
    --update) update=1 ;;
    --filter) filter="$2"; shift ;;
    *) echo "micro.sh: unknown option $1" >&2; exit 2 ;;
  esac
  shift
done

"$root/scripts/setup.sh"
if [ ! -f "$build/build.ninja" ]; then
  cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
fi
cmake --build "$build" -j"$(nproc)" --target switchyard_bench >/dev/null

out="$(mktemp /tmp/switchyard-micro.XXXXXX.json)"
trap 'rm -f "$out"' EXIT
echo "micro.sh: load average $(cut -d' ' -f1 /proc/loadavg) before the run" >&2
"$build/bench/switchyard_bench" --benchmark_filter="$filter" --benchmark_min_time=0.2 \
  --benchmark_repetitions=5 --benchmark_report_aggregates_only=true \
  --benchmark_format=json --benchmark_out="$out" --benchmark_out_format=json >/dev/null
args=("$out")
if [ "$update" = 1 ] && [ "$filter" = "." ]; then args+=(--update "$root/bench/README.md"); fi
python3 "$root/bench/micro_table.py" "${args[@]}"
