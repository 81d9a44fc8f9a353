#!/usr/bin/env bash
# Installs, builds and runs the demo: four built-in backends (blue on :8081 :8082, green on
# :8083 :8084) and Switchyard on :8080 with conf/demo.toml. Ctrl-C stops all of them.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh release

pids=()
stop() {
  trap - INT TERM EXIT
  for pid in "${pids[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap stop INT TERM EXIT

build/switchyard backend --name blue --listen 127.0.0.1:8081 & pids+=($!)
build/switchyard backend --name blue --listen 127.0.0.1:8082 & pids+=($!)
build/switchyard backend --name green --listen 127.0.0.1:8083 & pids+=($!)
build/switchyard backend --name green --listen 127.0.0.1:8084 & pids+=($!)
build/switchyard --log-format text & pids+=($!)   # the embedded conf/demo.toml

# Ready when the proxy answers; then say how to use it.
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null http://127.0.0.1:8080/ 2>/dev/null; then break; fi
  sleep 0.05
done
echo "demo: curl localhost:8080/  ->  $(curl -fsS http://127.0.0.1:8080/ || echo '(not answering)')" >&2
echo "demo: Ctrl-C stops the proxy and the four backends" >&2
wait -n "${pids[@]}" || true
