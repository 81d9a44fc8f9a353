#!/usr/bin/env bash
# TLS side by side: Switchyard and nginx, one worker each, the same certificate, terminating
# TLS on 127.0.0.1 in front of the same demo backend, measured with wrk.
#
#   bench/tls_compare.sh [SECONDS]      (default 10 per run)
#
# Runs, for an ECDSA P-256 and an RSA-2048 certificate:
#   keepalive   64 connections, small responses, keep-alive (TLS 1.3, AES-128-GCM)
#   handshake   a new connection (and a full TLS 1.3 handshake) per request
# and prints one table. Not part of bench/run.sh yet (issue 12 asks for it there). The figures
# are only meaningful on a quiet machine: it prints the load average it started with.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SWITCHYARD_BUILD_DIR:-$root/build}"
duration="${1:-10}"
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
admin_port=19901

echo "load average at start: $(cut -d' ' -f1-3 /proc/loadavg)"
"$build/switchyard" backend --name blue --listen "127.0.0.1:$backend_port" --threads 1 \
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
  wrk -t2 -c64 -d"${duration}s" "$@" "$url" 2>/dev/null | awk '/Requests\/sec/ {print $2}'
}

printf '%-8s %-10s %12s %12s %8s\n' cert scenario switchyard nginx ratio
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
daemon off;
master_process off;
pid $run/nginx.pid;
error_log $run/nginx_error.log warn;
events { worker_connections 4096; use epoll; }
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
    ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305;
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
  "$build/switchyard" -c "$run/sy.toml" 2>/dev/null &
  sy_pid=$!
  nginx -c "$run/nginx.conf" -e "$run/nginx_error.log" &
  nginx_pid=$!
  sleep 1
  for scenario in keepalive handshake; do
    extra=()
    [ "$scenario" = handshake ] && extra=(-H "Connection: close")
    sy_rps="$(run_wrk "https://localhost:$sy_port/" "${extra[@]}")"
    nginx_rps="$(run_wrk "https://localhost:$nginx_port/" "${extra[@]}")"
    ratio="$(awk -v a="$sy_rps" -v b="$nginx_rps" 'BEGIN { if (b > 0) printf "%.2f", a / b }')"
    printf '%-8s %-10s %12s %12s %8s\n' "$kind" "$scenario" "$sy_rps" "$nginx_rps" "$ratio"
  done
  kill "$sy_pid" "$nginx_pid"
  wait "$sy_pid" "$nginx_pid" 2>/dev/null || true
done
