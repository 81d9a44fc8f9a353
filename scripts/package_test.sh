#!/usr/bin/env bash
# Builds the .deb, installs it with dpkg -i, checks what it installed, and removes it again.
# Needs root (CI runs as root); elsewhere it says so and exits 0 without testing.
#   scripts/package_test.sh [BUILD_DIR]     (default: build, the release build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
if [ "$(id -u)" -ne 0 ]; then
  echo "package_test: SKIPPED: dpkg -i needs root (CI runs as root)" >&2
  exit 0
fi
if dpkg-query -W -f='${Status}' switchyard 2>/dev/null | grep -q "install ok installed"; then
  echo "package_test: a switchyard package is already installed; not touching it" >&2
  exit 1
fi

cmake --build "$dir" --target package >/dev/null
deb="$(ls -t "$dir"/switchyard_*.deb | head -n1)"
echo "== package: $deb ($(du -k "$deb" | cut -f1) KiB)" >&2
grep -q 'libuv1' <<<"$(dpkg-deb -f "$deb" Depends)" || { echo "package_test: Depends lacks libuv1" >&2; exit 1; }

cleanup() { dpkg --purge switchyard >/dev/null 2>&1 || true; }
trap cleanup EXIT
dpkg -i "$deb" >/dev/null

fail() { echo "package_test: FAILED: $*" >&2; exit 1; }
/usr/bin/switchyard --version
/usr/bin/switchyard --check /etc/switchyard/switchyard.toml
getent passwd switchyard >/dev/null || fail "postinst did not create the switchyard user"
# Stripped, with its debug info linked, not shipped.
grep -q 'with debug_info' <<<"$(file -L /usr/bin/switchyard)" && fail "/usr/bin/switchyard is not stripped"
grep -q 'switchyard.debug' <<<"$(readelf --string-dump=.gnu_debuglink /usr/bin/switchyard)" ||
  fail "/usr/bin/switchyard has no .gnu_debuglink"
unit=/usr/lib/systemd/system/switchyard.service
[ -f "$unit" ] || fail "$unit missing"
# systemd-analyze verify reports problems on stderr and may exit 0: any output is a failure.
verify="$(systemd-analyze verify "$unit" 2>&1 || true)"
[ -z "$verify" ] || fail "systemd-analyze verify $unit: $verify"
[ -f /usr/share/doc/switchyard/REFERENCE.md ] || fail "REFERENCE.md not installed"
# logrotate parses the snippet and says what it would do, without rotating (-d).
mkdir -p /var/log/switchyard
: > /var/log/switchyard/access.log
chown -R switchyard:switchyard /var/log/switchyard
rotate_out="$(logrotate -d /etc/logrotate.d/switchyard 2>&1)" || fail "logrotate -d: $rotate_out"
echo "$rotate_out" | grep -qi 'error' && fail "logrotate -d: $rotate_out"
echo "$rotate_out" | grep -q '/var/log/switchyard/access.log' || fail "logrotate -d: $rotate_out"

dpkg -r switchyard >/dev/null
[ ! -e /usr/bin/switchyard ] || fail "dpkg -r left /usr/bin/switchyard"
[ -f /etc/switchyard/switchyard.toml ] || fail "dpkg -r removed the conffile (only purge may)"
dpkg --purge switchyard >/dev/null
[ ! -e /etc/switchyard/switchyard.toml ] || fail "dpkg --purge left the conffile"
trap - EXIT
echo "package_test: OK" >&2
