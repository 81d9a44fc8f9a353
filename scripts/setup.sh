#!/usr/bin/env bash
# Installs what Switchyard needs from Debian packages, only what is missing (idempotent).
#   scripts/setup.sh           build and run
#   scripts/setup.sh --test    + tools the test suite drives (curl, python3, nginx, promtool, wrk,
#                                testssl.sh, chromium for the console test, clang + libFuzzer + ccache for the fuzz smoke of
#                                scripts/test.sh, clang-format for the format check)
#   scripts/setup.sh --bench   + the benchmark harness tools (wrk, nginx, haproxy)
set -euo pipefail

packages=(
  cmake ninja-build g++ pkg-config git
  libuv1-dev libssl-dev libabsl-dev libtomlplusplus-dev prometheus-cpp-dev nlohmann-json3-dev
  libgtest-dev libgmock-dev libbenchmark-dev node-llhttp libre2-dev libnghttp2-dev
  libsystemd-dev libc-ares-dev libcurl4-openssl-dev
)
for arg in "$@"; do
  case "$arg" in
    --test) packages+=(curl python3 nginx-light prometheus procps wrk clang libfuzzer-14-dev ccache clang-format)
            packages+=(dpkg-dev file logrotate systemd podman runc buildah yamllint nodejs)
            packages+=(testssl.sh chromium nghttp2-client python3-h2)
            # Fleet mode's tests start a real etcd.
            packages+=(etcd-server etcd-client)
            # Debian's npm, unless node came with its own (nodesource's nodejs has it).
            command -v npm >/dev/null || packages+=(npm) ;;
    --bench) packages+=(curl python3 wrk nginx-light haproxy procps) ;;
    *) echo "setup.sh: unknown option $arg (use --test or --bench)" >&2; exit 2 ;;
  esac
done

missing=()
for pkg in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$pkg")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "setup.sh: installing ${missing[*]}" >&2
sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
