#!/usr/bin/env bash
# Checks deploy/kubernetes/: yamllint, the Kubernetes API schemas (kubernetes-models, installed
# with npm ci from the lock file), the grace period against preStop + shutdown_timeout, and
# `switchyard --check` on the switchyard.toml of every ConfigMap.
#   scripts/kubernetes_test.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
k8s=deploy/kubernetes
for tool in yamllint node npm; do
  command -v "$tool" >/dev/null || {
    echo "kubernetes_test: SKIPPED: $tool is not installed (scripts/setup.sh --test)" >&2
    exit 0
  }
done

yamllint -c "$k8s/.yamllint" "$k8s"/*.yaml
(cd "$k8s/validate" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
node "$k8s/validate/validate.mjs" "$out"
# The edge ConfigMap takes its backends from the variables Kubernetes sets for Services, and its
# admin token from the Secret the Deployment maps to SWITCHYARD_ADMIN_TOKEN (--check, like the
# start, refuses a token_env whose variable is unset).
for toml in "$out"/*.toml; do
  APP_BLUE_SERVICE_HOST=10.96.0.11 APP_BLUE_SERVICE_PORT=80 \
  APP_GREEN_SERVICE_HOST=10.96.0.12 APP_GREEN_SERVICE_PORT=80 \
  SWITCHYARD_ADMIN_TOKEN=kubernetes-test-placeholder \
    "$dir/switchyard" --check "$toml"
done
echo "kubernetes_test: OK" >&2
