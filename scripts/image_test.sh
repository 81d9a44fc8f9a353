#!/usr/bin/env bash
# Builds the container image (scripts/image.sh) and runs it as the release CI does: on the host
# network, proxying to a demo backend on loopback; checks the HEALTHCHECK, the JSON logs, the
# non-root user, and that SIGTERM (podman stop) ends it with status 0 within shutdown_timeout.
#   scripts/image_test.sh [BUILD_DIR]     (default: build)
# Skips, saying so, when podman cannot run containers here (no root, no runc).
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
if [ "$(id -u)" -ne 0 ]; then
  echo "image_test: SKIPPED: needs root for podman with runc (CI runs as root)" >&2
  exit 0
fi
for tool in podman buildah runc curl python3; do
  command -v "$tool" >/dev/null || { echo "image_test: SKIPPED: $tool is not installed" >&2; exit 0; }
done

fail() {
  echo "image_test: FAILED: $*" >&2
  podman logs "$name" 2>&1 | tail -n 30 >&2 || true
  exit 1
}
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

image="$(scripts/image.sh "$dir" "localhost/switchyard-test:$$")"
name="switchyard-test-$$"
work="$(mktemp -d)"
backend_pid=""
cleanup() {
  podman rm -f -t 0 "$name" >/dev/null 2>&1 || true
  podman rmi -f "$image" >/dev/null 2>&1 || true
  [ -n "$backend_pid" ] && kill "$backend_pid" 2>/dev/null && wait "$backend_pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

backend_port="$(free_port)"
proxy_port="$(free_port)"
admin_port="$(free_port)"
"$dir/switchyard" backend --name app --listen "127.0.0.1:$backend_port" >"$work/backend.log" 2>&1 &
backend_pid=$!
chmod 755 "$work"
cat > "$work/switchyard.toml" <<TOML
[server]
shutdown_timeout = "5s"
accept_grace = "0s"  # as deploy/container/switchyard.toml: the stop timeout counts from SIGTERM
[admin]
listen = "127.0.0.1:$admin_port"
[[listeners]]
name = "http"
listen = "127.0.0.1:$proxy_port"
[[pools]]
name = "app"
backends = ["127.0.0.1:$backend_port"]
[[routes]]
name = "default"
pool = "app"
[access_log]
path = "-"
flush_interval = "100ms"
TOML
chmod 644 "$work/switchyard.toml"

podman --runtime runc run -d --name "$name" --network=host \
  --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 \
  -e SWITCHYARD_ADMIN="127.0.0.1:$admin_port" \
  -v "$work/switchyard.toml:/etc/switchyard/switchyard.toml:ro" "$image" >/dev/null \
  2>"$work/podman-run.log" || fail "podman run: $(cat "$work/podman-run.log")"
# Without systemd as init, podman says it cannot schedule the healthcheck timer; that is all
# it says here, and `podman healthcheck run` below runs the check itself.

# Proxied: the answer comes from the demo backend, through the container.
answer=""
for _ in $(seq 1 150); do
  answer="$(curl -s -m 2 -D - -o /dev/null "http://127.0.0.1:$proxy_port/through-the-image" || true)"
  case "$answer" in *"X-Backend: app"*) break ;; esac
  sleep 0.2
done
case "$answer" in *"HTTP/1.1 200"*"X-Backend: app"*) ;; *) fail "no 200 from the backend through the container: $answer" ;; esac

# HEALTHCHECK (switchyard healthcheck, inside the container; SWITCHYARD_ADMIN names the port).
podman healthcheck run "$name" >/dev/null ||
  fail "podman healthcheck run: unhealthy; $(podman exec "$name" /usr/bin/switchyard healthcheck 2>&1)"
[ "$(podman image inspect --format '{{.Config.Healthcheck.Test}}' "$image")" != "[]" ] ||
  fail "the image has no HEALTHCHECK"
# Not root.
pid="$(podman inspect --format '{{.State.Pid}}' "$name")"
uid="$(awk '/^Uid:/{print $2}' "/proc/$pid/status")"
[ "$uid" = 10001 ] || fail "the proxy runs as uid $uid, not 10001"

# Logs: the event log (stderr) and the access log (stdout) are JSON lines.
# The logs are read whole into a variable before grep looks at them: with pipefail, `podman logs |
# grep -q` fails when grep stops at its match and podman's next write gets EPIPE (CI saw this).
for _ in $(seq 1 50); do
  access_log="$(podman logs "$name" 2>/dev/null)"
  grep -q '"path":"/through-the-image"' <<<"$access_log" && break
  sleep 0.2
done
grep -q '"path":"/through-the-image"' <<<"$access_log" || fail "no access log line on stdout"
podman logs "$name" 2>&1 | python3 -c '
import json, sys
lines = [l for l in sys.stdin if l.strip()]
for l in lines: json.loads(l)
events = {json.loads(l).get("event") for l in lines}
assert "ready" in events, events
' || fail "the container logs are not all JSON lines with a ready event"

# SIGTERM (STOPSIGNAL, podman stop): a clean exit within shutdown_timeout (5s) plus slack (no
# accept_grace, which would otherwise add its default 5s before the drain).
start=$(date +%s)
podman stop -t 30 "$name" >/dev/null 2>>"$work/podman-run.log" || fail "podman stop: $(cat "$work/podman-run.log")"
elapsed=$(( $(date +%s) - start ))
code="$(podman inspect --format '{{.State.ExitCode}}' "$name")"
[ "$code" = 0 ] || fail "exit status $code after SIGTERM"
[ "$elapsed" -le 10 ] || fail "SIGTERM took ${elapsed}s (shutdown_timeout is 5s)"
all_logs="$(podman logs "$name" 2>&1)"
grep -q '"event":"shutdown_started".*"reason":"SIGTERM"' <<<"$all_logs" ||
  fail "no shutdown_started event for SIGTERM"

size="$(podman image inspect --format '{{.Size}}' "$image")"
echo "image_test: OK (image $((size / 1024 / 1024)) MiB, stopped in ${elapsed}s)" >&2
