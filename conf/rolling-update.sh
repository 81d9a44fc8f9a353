#!/usr/bin/env bash
# Rolling update of one Switchyard pool through the admin API: one backend at a time, drain it
# (waiting until its in-flight requests are done), run an update command, enable it, and wait
# until fresh health checks say it is healthy and it takes traffic again. See --help.
set -euo pipefail

readonly PROG="${0##*/}"

usage() {
  cat <<EOF
usage: $PROG --pool NAME --update-cmd 'CMD' [options]

Updates the backends of pool NAME one at a time, so that the others keep serving:

  1. drain the backend, waiting until its in-flight requests finished and its connections
     closed (POST /admin/pools/NAME/backends/ADDRESS/drain?wait=SECONDS);
  2. run the update command (restart, deploy, reboot ... whatever updates that backend);
  3. enable it (POST .../enable);
  4. wait until /admin/status shows it "healthy" with the latest check, run after the update,
     passed, and eligible for traffic; then go on with the next backend.

Options:
  --pool NAME              pool to update (required)
  --update-cmd 'CMD'       command run by bash for each backend (required); these placeholders
                           are replaced: {address} (as configured, e.g. 10.0.0.5:8080),
                           {host} (10.0.0.5) and {port} (8080). A non-zero exit stops the update.
  --admin URL              admin API base URL (default: http://127.0.0.1:9901)
  --token TOKEN            bearer token of the admin API (default: \$SWITCHYARD_ADMIN_TOKEN)
  --drain-timeout SECONDS  how long a backend may take to drain (default: 60, at most 3600)
  --health-timeout SECONDS how long an updated backend may take to become healthy (default: 60)
  --allow-empty-pool       drain a backend even when no other backend of the pool is eligible
                           (a one-backend pool; its clients get 503 meanwhile)
  -h, --help               this text

Any failure (backend not drained in time, update command failed, backend not healthy in time,
admin API error) stops the script with exit status 1 and a message saying which backend and
why; the backend being updated is left drained, so it gets no traffic until an operator enables
it. Exit status 2: bad usage. Backends already updated stay enabled.

Pools without health_check have no health verdict ("unchecked"): step 4 then only waits for the
backend to be eligible.

Needs bash, python3 (HTTP and JSON; no curl or jq needed).

Example:
  $PROG --pool app --drain-timeout 120 \\
    --update-cmd 'ssh deploy@{host} "sudo systemctl restart myapp"'
EOF
}

ADMIN="http://127.0.0.1:9901"
TOKEN="${SWITCHYARD_ADMIN_TOKEN:-}"
POOL=""
UPDATE_CMD=""
DRAIN_TIMEOUT=60
HEALTH_TIMEOUT=60
ALLOW_EMPTY=0
CURRENT=""        # the backend being updated, for the interrupt message

die_usage() {
  echo "$PROG: $*" >&2
  echo "try '$PROG --help'" >&2
  exit 2
}

fail() {
  echo "$PROG: FAILED: $*" >&2
  exit 1
}

log() { echo "$PROG: $*"; }

is_seconds() { [[ "$1" =~ ^[0-9]+(\.[0-9]+)?$ ]]; }

# Milliseconds since the epoch (bash 5's EPOCHREALTIME, no subprocess).
now_ms() {
  local t="${EPOCHREALTIME/[.,]/}"
  echo $((t / 1000))
}

while [ $# -gt 0 ]; do
  arg="$1"
  value=""
  case "$arg" in
    --*=*)
      value="${arg#*=}"
      arg="${arg%%=*}"
      ;;
    --pool | --update-cmd | --admin | --token | --drain-timeout | --health-timeout)
      [ $# -ge 2 ] || die_usage "$arg needs a value"
      value="$2"
      shift
      ;;
  esac
  case "$arg" in
    -h | --help)
      usage
      exit 0
      ;;
    --pool) POOL="$value" ;;
    --update-cmd) UPDATE_CMD="$value" ;;
    --admin) ADMIN="${value%/}" ;;
    --token) TOKEN="$value" ;;
    --drain-timeout) DRAIN_TIMEOUT="$value" ;;
    --health-timeout) HEALTH_TIMEOUT="$value" ;;
    --allow-empty-pool) ALLOW_EMPTY=1 ;;
    *) die_usage "unknown argument: $arg" ;;
  esac
  shift
done

[ -n "$POOL" ] || die_usage "--pool is required"
[ -n "$UPDATE_CMD" ] || die_usage "--update-cmd is required"
is_seconds "$DRAIN_TIMEOUT" || die_usage "--drain-timeout must be a number of seconds"
is_seconds "$HEALTH_TIMEOUT" || die_usage "--health-timeout must be a number of seconds"
command -v python3 > /dev/null || fail "python3 is needed"
# Resolved once: a version manager's shim (pyenv) costs half a second a call.
PY="$(python3 -c 'import sys; print(sys.executable)')"
[ -x "$PY" ] || PY=python3
HEALTH_TIMEOUT_MS="$("$PY" -c "print(int($HEALTH_TIMEOUT * 1000))")"
"$PY" -c "import sys; sys.exit(0 if $DRAIN_TIMEOUT <= 3600 else 1)" ||
  die_usage "--drain-timeout must be at most 3600 seconds"

# One admin call and what the script needs from its JSON answer, in one python3 process (each
# start costs ~0.1 s):  admin MODE METHOD PATH [ARGS...]
# Sets API_STATUS (the HTTP status; 0 when there was no answer) and API_OUT (by MODE):
#   pools POOL            the pool's backend addresses, one a line (else the pools that exist)
#   backend POOL ADDRESS  health, eligible, admin_state, last_check, last_error of the backend
#                         and how many other backends of the pool are eligible, tab-separated
#   drain                 "drained" flag and in-flight count of the first backend, or the error
#   plain                 the error of an error answer
# The token travels in the environment, not on a command line.
readonly ADMIN_HELPER='
import json, os, sys, urllib.request, urllib.error
mode, method, url, timeout = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
args = sys.argv[5:]
request = urllib.request.Request(url, method=method, data=b"" if method == "POST" else None)
if os.environ.get("SY_TOKEN"):
    request.add_header("Authorization", "Bearer " + os.environ["SY_TOKEN"])
try:
    with urllib.request.urlopen(request, timeout=timeout) as response:
        status, body = response.status, response.read()
except urllib.error.HTTPError as error:
    status, body = error.code, error.read()
except Exception as error:  # refused, timeout, bad URL
    print(0)
    print(error)
    sys.exit(0)
print(status)
try:
    d = json.loads(body)
except ValueError:
    print("not JSON: " + body[:200].decode("utf-8", "replace"))
    sys.exit(0)
if status >= 400 or not isinstance(d, dict):
    print(d.get("error", json.dumps(d)) if isinstance(d, dict) else d)
elif mode == "pools":
    for p in d.get("pools", []):
        if p.get("name") == args[0]:
            print("\n".join(b["address"] for b in p.get("backends", [])))
            sys.exit(0)
    print("no pool \"%s\" (pools: %s)" % (args[0], ", ".join(p.get("name", "?") for p in d.get("pools", [])) or "none"))
    sys.exit(4)
elif mode == "backend":
    for p in d.get("pools", []):
        if p.get("name") == args[0]:
            backends = p.get("backends", [])
            others = sum(1 for b in backends if b.get("address") != args[1] and b.get("eligible"))
            for b in backends:
                if b.get("address") == args[1]:
                    print("\t".join(str(b.get(k)) for k in
                          ("health", "eligible", "admin_state", "last_check", "last_error")) +
                          "\t%d" % others)
                    sys.exit(0)
    print("backend %s is no longer in pool %s" % (args[1], args[0]))
    sys.exit(4)
elif mode == "drain":
    first = (d.get("backends") or [{}])[0]
    print("%s\t%s" % (d.get("drained"), first.get("in_flight")))
'

admin() {
  local mode="$1" method="$2" path="$3" out rc=0
  shift 3
  local timeout=30
  [ "$mode" = drain ] && timeout=$(("${DRAIN_TIMEOUT%.*}" + 30))
  out="$(SY_TOKEN="$TOKEN" "$PY" -c "$ADMIN_HELPER" "$mode" "$method" "$ADMIN$path" "$timeout" \
    "$@")" || rc=$?
  API_STATUS="${out%%$'\n'*}"
  API_OUT="${out#*$'\n'}"
  [ "$out" != "$API_STATUS" ] || API_OUT=""
  [[ "$API_STATUS" =~ ^[0-9]+$ ]] || {
    API_STATUS=0
    API_OUT="$out"
  }
  return $rc
}

# Fails unless the last answer had status $1.
expect_status() {
  [ "$API_STATUS" = "$1" ] && return 0
  local what="answered $API_STATUS"
  [ "$API_STATUS" = 0 ] && what="did not answer"
  fail "$2: $ADMIN $what: $API_OUT"
}

# Backend addresses and pool names as path segments: only these characters need escaping.
segment() {
  local s="${1//%/%25}"
  s="${s//:/%3A}"
  s="${s//\[/%5B}"
  s="${s//\]/%5D}"
  s="${s//\//%2F}"
  s="${s//\?/%3F}"
  s="${s//#/%23}"
  printf '%s' "${s// /%20}"
}

on_interrupt() {
  if [ -n "$CURRENT" ]; then
    echo "$PROG: interrupted while updating $CURRENT; check its state in /admin/status and" \
      "enable it with POST /admin/pools/$POOL/backends/$CURRENT/enable when it is ready" >&2
  fi
  exit 130
}
trap on_interrupt INT TERM

# --- The backends of the pool ------------------------------------------------------------------

rc=0
admin pools GET /admin/status "$POOL" || rc=$?
expect_status 200 "GET /admin/status"
[ $rc -ne 4 ] || fail "$API_OUT"
mapfile -t BACKENDS <<< "$API_OUT"
if [ ${#BACKENDS[@]} -eq 0 ] || [ -z "${BACKENDS[0]}" ]; then
  fail "pool \"$POOL\" has no backends"
fi
log "pool $POOL: ${#BACKENDS[@]} backend(s): ${BACKENDS[*]}"

index=0
for address in "${BACKENDS[@]}"; do
  index=$((index + 1))
  step="[$index/${#BACKENDS[@]}] $address"
  path="/admin/pools/$(segment "$POOL")/backends/$(segment "$address")"
  CURRENT="$address"

  admin backend GET /admin/status "$POOL" "$address" || fail "$step: $API_OUT"
  expect_status 200 "GET /admin/status"
  IFS=$'\t' read -r _ _ _ _ _ others <<< "$API_OUT"
  # Never take the last server of a pool out by accident.
  if [ "$ALLOW_EMPTY" = 0 ] && [ "$others" = 0 ]; then
    fail "$step: no other backend of pool $POOL is eligible for traffic; draining this one" \
      "would leave the pool empty (use --allow-empty-pool to do it anyway)"
  fi

  log "$step: draining (waiting up to ${DRAIN_TIMEOUT}s)"
  admin drain POST "$path/drain?wait=$DRAIN_TIMEOUT"
  if [ "$API_STATUS" = 504 ]; then
    fail "$step: not drained within ${DRAIN_TIMEOUT}s; it stays draining (no new requests," \
      "in-flight ones go on)"
  fi
  expect_status 200 "$step: drain"
  [ "${API_OUT%%$'\t'*}" = True ] || fail "$step: the drain answer does not say drained: $API_OUT"

  host="${address%:*}"
  port="${address##*:}"
  host="${host#[}"
  host="${host%]}"
  command="${UPDATE_CMD//\{address\}/$address}"
  command="${command//\{host\}/$host}"
  command="${command//\{port\}/$port}"
  log "$step: drained; running: $command"
  rc=0
  bash -c "$command" || rc=$?
  [ $rc -eq 0 ] || fail "$step: the update command exited with status $rc; the backend is" \
    "left drained"

  # A check that completes after this point saw the updated backend.
  admin backend GET /admin/status "$POOL" "$address" || fail "$step: $API_OUT"
  expect_status 200 "GET /admin/status"
  IFS=$'\t' read -r _ _ _ check_before _ <<< "$API_OUT"

  log "$step: enabling"
  admin plain POST "$path/enable"
  expect_status 200 "$step: enable"

  log "$step: waiting up to ${HEALTH_TIMEOUT}s for it to be healthy and eligible"
  deadline=$(($(now_ms) + HEALTH_TIMEOUT_MS))
  while :; do
    admin backend GET /admin/status "$POOL" "$address" || fail "$step: $API_OUT"
    expect_status 200 "GET /admin/status"
    IFS=$'\t' read -r health eligible admin_state last_check last_error _ <<< "$API_OUT"
    if [ "$eligible" = True ] && [ "$admin_state" = ready ]; then
      if [ "$health" = unchecked ]; then
        break
      elif [ "$health" = healthy ] && [ "$last_check" != "$check_before" ] &&
        [ "$last_error" = None ]; then
        # A check after the update, and the latest one passed: "healthy" alone may be the
        # verdict from before the update while fewer than unhealthy_threshold checks failed.
        break
      fi
    fi
    if [ "$(now_ms)" -gt "$deadline" ]; then
      # Safe state: no traffic to a backend that did not come back.
      admin plain POST "$path/drain" || true
      fail "$step: not healthy within ${HEALTH_TIMEOUT}s (health $health, eligible" \
        "$eligible, last error: $last_error); drained it again"
    fi
    sleep 0.1
  done
  CURRENT=""
  log "$step: healthy and back in rotation"
done
log "pool $POOL: all ${#BACKENDS[@]} backend(s) updated"
