#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan + UBSan) in build-fuzz/ and runs them.
#   fuzz/run.sh <target|all> [seconds]     default: 60 seconds per target
# Targets: request_parser response_parser message_writer route_matcher config_loader admin_api
# Each run starts from the seed corpus fuzz/corpus/<target>/ (never modified) and keeps the new
# inputs it finds in $SY_FUZZ_WORK/<target>/ (default build-fuzz/corpus/), so that later runs
# go on from there. A finding (crash, sanitizer report, broken invariant, timeout) is saved as
# build-fuzz/findings/<target>/crash-* (or timeout-*, oom-*) and the script exits non-zero;
# reproduce it with build-fuzz/fuzz/fuzz_<target> <that file>.
# Extra libFuzzer flags can be passed in SY_FUZZ_FLAGS (e.g. "-jobs=2 -workers=2").
set -euo pipefail
cd "$(dirname "$0")/.."

all_targets=(request_parser response_parser message_writer route_matcher config_loader admin_api proxy_protocol)
if [ $# -lt 1 ] || [ $# -gt 2 ]; then
  echo "usage: fuzz/run.sh <target|all> [seconds]   (targets: ${all_targets[*]})" >&2
  exit 2
fi
targets=("$1")
[ "$1" = all ] && targets=("${all_targets[@]}")
seconds="${2:-60}"
for target in "${targets[@]}"; do
  if [ ! -d "fuzz/corpus/$target" ]; then
    echo "fuzz/run.sh: unknown target $target (targets: ${all_targets[*]})" >&2
    exit 2
  fi
done

dir=build-fuzz
work="${SY_FUZZ_WORK:-$dir/corpus}"
launcher=()
if command -v ccache >/dev/null; then
  launcher=(-DCMAKE_C_COMPILER_LAUNCHER=ccache -DCMAKE_CXX_COMPILER_LAUNCHER=ccache)
fi
# The whole project is configured with clang; only the libraries the targets link are built.
CC=clang CXX=clang++ cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DSY_FUZZ=ON \
  "${launcher[@]}" >/dev/null
cmake --build "$dir" -j "$(nproc)" --target $(printf 'fuzz_%s ' "${targets[@]}") >/dev/null

export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1:symbolize=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"
status=0
summary=()
for target in "${targets[@]}"; do
  mkdir -p "$work/$target" "$dir/findings/$target"
  log="$dir/findings/$target/last-run.log"
  echo "== fuzz $target for ${seconds}s ==" >&2
  # The first corpus directory receives the new inputs; the seeds stay as they are.
  # shellcheck disable=SC2086
  if ! "$dir/fuzz/fuzz_$target" -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 \
      -max_len=8192 -print_final_stats=1 -artifact_prefix="$dir/findings/$target/" \
      ${SY_FUZZ_FLAGS:-} "$work/$target" "fuzz/corpus/$target" >"$log" 2>&1; then
    status=1
    tail -n 60 "$log" >&2
    echo "fuzz $target: FINDING, input saved in $dir/findings/$target/ (log: $log)" >&2
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+' "$log" | tail -n 1 || true)
  cov=$(sed -n 's/.* cov: \([0-9]*\).*/\1/p' <<<"$last")
  ft=$(sed -n 's/.* ft: \([0-9]*\).*/\1/p' <<<"$last")
  corpus=$(sed -n 's/.* corp: \([0-9]*\/[0-9]*[a-zA-Z]*\).*/\1/p' <<<"$last")
  summary+=("$(printf '%-16s execs: %-10s cov: %-6s ft: %-7s corpus: %s' "$target" "${execs:-?}" \
    "${cov:-?}" "${ft:-?}" "${corpus:-?}")")
done
printf '%s\n' "${summary[@]}"
exit "$status"
