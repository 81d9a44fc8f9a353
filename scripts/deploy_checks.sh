#!/usr/bin/env bash
# The deployment checks of the release flavour (issue 16), run by scripts/test.sh after ctest:
# the .deb (install, check, remove), the container image, the Kubernetes manifests. Each says
# SKIPPED, with the reason, when its tool cannot run here; a failure fails the run.
#   scripts/deploy_checks.sh [BUILD_DIR]     (default: build)
set -euo pipefail
cd "$(dirname "$0")/.."
dir="${1:-build}"
echo "== deploy checks ==" >&2
timeout 600 scripts/package_test.sh "$dir"
timeout 600 scripts/image_test.sh "$dir"
timeout 300 scripts/kubernetes_test.sh "$dir"
