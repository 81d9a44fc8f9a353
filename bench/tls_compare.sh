#!/usr/bin/env bash
# TLS side by side: Switchyard, nginx and HAProxy, one worker (thread) each, the same certificate,
# terminating TLS on 127.0.0.1 in front of the same demo backend.
#
#   bench/tls_compare.sh [SECONDS] [IDLE_CONNECTIONS] [ROUNDS]   (defaults: 10 per run, 2000, 1)
#
# Runs, for an ECDSA P-256 and an RSA-2048 certificate:
#   keepalive   wrk, 64 connections, small responses, keep-alive (TLS 1.3, AES-128-GCM)
#   handshake   wrk, a new connection and a full TLS 1.3 handshake per request (wrk keeps no
#               sessions)
#   resumed     openssl s_time -reuse: new connections that resume the first one's session
#               (one client process: a ceiling for all three alike)
#   idle KiB    resident memory per idle keep-alive TLS connection (bench/idle_conns.py --tls),
#               after - before, divided by the count
# and prints one table with the ratios. With ROUNDS > 1 each scenario runs ROUNDS times, the three
# proxies taking turns within a round, and the table shows each proxy's median: on a shared VM
# whose speed drifts by ±20 % within minutes, one round can favour whichever proxy ran first. The figures are only meaningful on a quiet machine: it
# prints the load average it started with. Needs wrk, nginx and haproxy (scripts/setup.sh --bench).
# As bench/harness.py does, on 2+ CPUs each proxy is pinned to the last CPU and the clients and
# the demo backend to the others, so a figure is what one proxy core does (SWITCHYARD_BENCH_PIN=none
# turns that off).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SWITCHYARD_BUILD_DIR:-$root/build}"
duration="${1:-10}"
idle_count="${2:-2000}"
rounds="${3:-1}"
run="$(mktemp -d /tmp/sy-tls-bench.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$run"
}
trap cleanup EXIT

backend_port=19081
sy_port=19443
nginx_port=19444
haproxy_port=19445
admin_port=19901

ncpu="$(nproc)"
proxy_pin=() client_pin=()
if [ "$ncpu" -ge 2 ] && [ "${SWITCHYARD_BENCH_PIN:-split}" != none ]; then
  proxy_pin=(taskset -c "$((ncpu - 1))")
  client_pin=(taskset -c "0-$((ncpu - 2))")
fi

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "proxy CPU: ${proxy_pin[*]:-not pinned}; clients and backend: ${client_pin[*]:-not pinned}"
"${client_pin[@]}" "$build/switchyard" backend --name blue --listen "127.0.0.1:$backend_port" --threads 1 \
  2>/dev/null &
pids+=($!)

for kind in ecdsa rsa; do
  if [ "$kind" = ecdsa ]; then key_opts=(-newkey ec -pkeyopt ec_paramgen_curve:P-256);
  else key_opts=(-newkey rsa:2048); fi
  openssl req -x509 "${key_opts[@]}" -nodes -days 30 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$run/$kind.key" -out "$run/$kind.pem" \
    2>/dev/null
done

run_wrk() {  # URL [wrk args...]: prints requests/second
  local url="$1"
  shift
  "${client_pin[@]}" wrk -t2 -c64 -d"${duration}s" "$@" "$url" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}

run_resumed() {  # PORT: prints connections/second, each resuming the first one's session
  "${client_pin[@]}" openssl s_time -connect "127.0.0.1:$1" -reuse -www / -time "$duration" 2>/dev/null \
    | awk '/connections in [0-9]+ real seconds/ {printf "%.0f", $1 / $4; exit}'
}

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }  # PID: utime + stime, in clock ticks

# PID SECONDS_OF_WORK_PER_SECOND_FIGURE FIGURE: the figure per second of the proxy's own CPU
# time, i.e. what one fully busy proxy core would do (the main harness's "per core").
per_core() {
  awk -v ticks="$2" -v hz="$(getconf CLK_TCK)" -v rate="$3" -v secs="$duration" \
    'BEGIN { if (ticks > 0) printf "%.0f", rate * secs / (ticks / hz); else printf "n/a" }'
}

rss_kib() { awk '/^VmRSS/ {print $2}' "/proc/$1/status"; }

idle_kib() {  # PID PORT: resident KiB per idle TLS connection
  local pid="$1" port="$2" before after ready
  before="$(rss_kib "$pid")"
  exec {to_idle}> >(exec "${client_pin[@]}" python3 "$root/bench/idle_conns.py" --target "127.0.0.1:$port" \
    --count "$idle_count" --tls --timeout 120 >"$run/idle.out" 2>>"$run/idle.err")
  for _ in $(seq 1 600); do
    ready="$(awk '/^READY/ {print $2}' "$run/idle.out" 2>/dev/null || true)"
    [ -n "$ready" ] && break
    sleep 0.2
  done
  after="$(rss_kib "$pid")"
  exec {to_idle}>&-
  wait 2>/dev/null || true
  : >"$run/idle.out"
  awk -v a="$after" -v b="$before" -v n="${ready:-0}" \
    'BEGIN { if (n > 0) printf "%.2f", (a - b) / n; else printf "n/a" }'
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR] = $1} END {print v[int((NR + 1) / 2)]}'; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else printf "n/a" }'; }

wait_port() {  # PORT: until something listens there (at most 10 s)
  for _ in $(seq 1 100); do
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
    sleep 0.1
  done
  echo "nothing listens on port $1" >&2
  cat "$run/haproxy.log" >&2 2>/dev/null || true
  return 1
}

ciphers="ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
printf '%-6s %-10s %11s %11s %11s %9s %9s\n' cert scenario switchyard nginx haproxy "sy/nginx" "sy/hap"
for kind in ecdsa rsa; do
  cat >"$run/sy.toml" <<TOML
[server]
workers = 1
[admin]
listen = "127.0.0.1:$admin_port"
[[listeners]]
name = "https"
listen = "127.0.0.1:$sy_port"
keepalive_timeout = "120s"
backlog = 4096
max_connections = 20000
tls = { certificates = [ { cert = "$run/$kind.pem", key = "$run/$kind.key" } ] }
[[pools]]
name = "blue"
keepalive_max_idle = 256
backends = ["127.0.0.1:$backend_port"]
[[routes]]
name = "default"
pool = "blue"
TOML
  mkdir -p "$run/nginx_tmp"
  cat >"$run/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile 19000;
daemon off;
master_process off;
pid $run/nginx.pid;
error_log $run/nginx_error.log warn;
events { worker_connections 9000; use epoll; }
http {
  access_log off;
  keepalive_timeout 120s;
  keepalive_requests 1000000;
  client_body_temp_path $run/nginx_tmp/client_body;
  proxy_temp_path $run/nginx_tmp/proxy;
  fastcgi_temp_path $run/nginx_tmp/fastcgi;
  uwsgi_temp_path $run/nginx_tmp/uwsgi;
  scgi_temp_path $run/nginx_tmp/scgi;
  upstream backend { server 127.0.0.1:$backend_port; keepalive 256; }
  server {
    listen 127.0.0.1:$nginx_port ssl backlog=4096;
    ssl_certificate $run/$kind.pem;
    ssl_certificate_key $run/$kind.key;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_ciphers $ciphers;
    ssl_prefer_server_ciphers on;
    location / {
      proxy_pass http://backend;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      proxy_set_header X-Forwarded-Proto \$scheme;
    }
  }
}
NGINX
  cat "$run/$kind.pem" "$run/$kind.key" >"$run/$kind.combined.pem"
  cat >"$run/haproxy.cfg" <<HAPROXY
global
  nbthread 1
  maxconn 9000
  ssl-default-bind-ciphers $ciphers
  ssl-default-bind-options ssl-min-ver TLSv1.2
defaults
  mode http
  timeout connect 5s
  timeout client 120s
  timeout server 120s
  timeout http-keep-alive 120s
  option http-keep-alive
frontend https
  bind 127.0.0.1:$haproxy_port ssl crt $run/$kind.combined.pem alpn http/1.1
  option forwardfor
  http-request set-header X-Forwarded-Proto https
  default_backend blue
backend blue
  http-reuse always
  server b1 127.0.0.1:$backend_port
HAPROXY
  ulimit -n 20000 2>/dev/null || true
  "${proxy_pin[@]}" "$build/switchyard" -c "$run/sy.toml" 2>/dev/null &
  sy_pid=$!
  pids+=("$sy_pid")
  "${proxy_pin[@]}" nginx -c "$run/nginx.conf" -e "$run/nginx_error.log" &
  nginx_pid=$!
  pids+=("$nginx_pid")
  "${proxy_pin[@]}" haproxy -db -f "$run/haproxy.cfg" >"$run/haproxy.log" 2>&1 &
  haproxy_pid=$!
  pids+=("$haproxy_pid")
  for port in "$sy_port" "$nginx_port" "$haproxy_port"; do wait_port "$port"; done
  proxy_pids=("$sy_pid" "$nginx_pid" "$haproxy_pid")
  proxy_ports=("$sy_port" "$nginx_port" "$haproxy_port")
  for scenario in keepalive handshake resumed; do
    declare -A raw=() core=()
    for _ in $(seq 1 "$rounds"); do
      for who in 0 1 2; do
        pid="${proxy_pids[$who]}" port="${proxy_ports[$who]}"
        ticks0="$(cpu_ticks "$pid")"
        case "$scenario" in
          keepalive) value="$(run_wrk "https://localhost:$port/")" ;;
          handshake) value="$(run_wrk "https://localhost:$port/" -H "Connection: close")" ;;
          resumed) value="$(run_resumed "$port")" ;;
        esac
        raw[$who]+=" $value"
        core[$who]+=" $(per_core "$pid" "$(($(cpu_ticks "$pid") - ticks0))" "$value")"
      done
    done
    values=() cores=()
    for who in 0 1 2; do
      # shellcheck disable=SC2086 # word splitting of the space-separated samples is wanted
      values+=("$(median ${raw[$who]})")
      # shellcheck disable=SC2086
      cores+=("$(median ${core[$who]})")
    done
    unset raw core
    printf '%-6s %-10s %11s %11s %11s %9s %9s\n' "$kind" "$scenario" "${values[@]}" \
      "$(ratio "${values[0]}" "${values[1]}")" "$(ratio "${values[0]}" "${values[2]}")"
    printf '%-6s %-10s %11s %11s %11s %9s %9s\n' "$kind" "  per core" "${cores[@]}" \
      "$(ratio "${cores[0]}" "${cores[1]}")" "$(ratio "${cores[0]}" "${cores[2]}")"
  done
  values=()
  for pair in "$sy_pid:$sy_port" "$nginx_pid:$nginx_port" "$haproxy_pid:$haproxy_port"; do
    values+=("$(idle_kib "${pair%%:*}" "${pair##*:}")")
  done
  # For memory lower is better: the ratios say how much of the other's memory we use.
  printf '%-6s %-10s %11s %11s %11s %9s %9s\n' "$kind" "idle KiB" "${values[@]}" \
    "$(ratio "${values[0]}" "${values[1]}")" "$(ratio "${values[0]}" "${values[2]}")"
  kill "$sy_pid" "$nginx_pid" "$haproxy_pid"
  wait "$sy_pid" "$nginx_pid" "$haproxy_pid" 2>/dev/null || true
done
