#!/usr/bin/env bash
# Builds the container image from the local release build, with no registry and no base image:
# the stripped binary, exactly the shared libraries it links (ldd), and a few /etc files, as a
# root filesystem tarball, committed with buildah with the configuration of the Dockerfile
# (user 10001, entrypoint, SWITCHYARD_CONFIG, ports, SIGTERM, HEALTHCHECK, version label).
#   scripts/image.sh [BUILD_DIR] [TAG]     (defaults: build, switchyard:VERSION)
# Prints the image reference on stdout; the size goes to stderr.
set -euo pipefail
# Docker format: the OCI image config has no HEALTHCHECK field.
export BUILDAH_FORMAT=docker
cd "$(dirname "$0")/.."
dir="${1:-build}"
binary="$dir/switchyard"
[ -x "$binary" ] || { echo "image.sh: $binary missing: run scripts/build.sh release" >&2; exit 1; }
version="$("$binary" --version | awk '{print $2}')"
tag="${2:-switchyard:$version}"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
root="$work/root"
mkdir -p "$root"/{usr/bin,etc/switchyard,tmp,var/lib/switchyard}
chmod 1777 "$root/tmp"

# The same stripping as the install step (deploy/CMakeLists.txt).
objcopy --strip-debug "$binary" "$root/usr/bin/switchyard"
# Each library at the path the dynamic loader looks it up by, as a file (not a symlink).
ldd "$binary" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\/.*ld-linux/ {print $1}' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
cp deploy/container/switchyard.toml "$root/etc/switchyard/switchyard.toml"
cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
switchyard:x:10001:10001:Switchyard:/var/lib/switchyard:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
cat > "$root/etc/group" <<'GROUP'
root:x:0:
switchyard:x:10001:
nogroup:x:65534:
GROUP
# Names resolve from /etc/hosts first, then DNS (the runtime mounts both files).
echo "hosts: files dns" > "$root/etc/nsswitch.conf"
chown 10001:10001 "$root/var/lib/switchyard"
tar --numeric-owner -C "$root" -cf "$work/rootfs.tar" .

container="$(buildah from scratch)"
trap 'buildah rm "$container" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
buildah add --quiet "$container" "$work/rootfs.tar" / >/dev/null
buildah config \
  --user 10001:10001 \
  --entrypoint '["/usr/bin/switchyard"]' --cmd '' \
  --env SWITCHYARD_CONFIG=/etc/switchyard/switchyard.toml \
  --port 8080/tcp --port 9901/tcp \
  --stop-signal SIGTERM \
  --healthcheck 'CMD /usr/bin/switchyard healthcheck' \
  --healthcheck-interval 10s --healthcheck-timeout 3s --healthcheck-start-period 5s \
  --healthcheck-retries 3 \
  --label org.opencontainers.image.title=switchyard \
  --label org.opencontainers.image.version="$version" \
  --label org.opencontainers.image.revision="$("$binary" --version | tr -d '()' | awk '{print $3}')" \
  "$container"
previous="$(podman image inspect --format '{{.Id}}' "$tag" 2>/dev/null || true)"
buildah commit --quiet --format docker --rm "$container" "$tag" >/dev/null
# The image the tag named before would stay behind untagged; drop it unless a container uses it.
if [ -n "$previous" ] && [ "$previous" != "$(podman image inspect --format '{{.Id}}' "$tag")" ]; then
  podman rmi "$previous" >/dev/null 2>&1 || true
fi
trap 'rm -rf "$work"' EXIT
size="$(podman image inspect --format '{{.Size}}' "$tag")"
echo "image.sh: $tag: $((size / 1024 / 1024)) MiB ($size bytes)" >&2
echo "$tag"
