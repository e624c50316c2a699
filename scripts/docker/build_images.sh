#!/usr/bin/env bash
# Builds the Dockerfile's images and prints, for each, the build time and the image size (kept out of
# CI: a Docker engine and a full cfm build, tens of minutes on two cores).
#
#   scripts/docker/build_images.sh [--targets cpu,gpu] [--local-base] [-- DOCKER_BUILD_ARGS...]
#
# --local-base: where no image registry is reachable, first makes the base images the Dockerfile names
# (debian:12, debian:12-slim, debian:13, debian:13-slim) with debootstrap from the Debian mirror this
# machine's apt uses, laid out as the official images are (deb822 sources, component main). The gpu
# target also needs NVIDIA's download server reachable: Debian's nvidia-cudnn fetches cuDNN from it.
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
targets=cpu,gpu
local_base=0
build_args=()
while (($#)); do
  case "$1" in
    --targets) targets=$2; shift 2 ;;
    --local-base) local_base=1; shift ;;
    --) shift; build_args=("$@"); break ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "build_images.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done
docker info >/dev/null 2>&1 || { echo "build_images.sh: no Docker engine answers (is dockerd running?)" >&2; exit 1; }

# debian:<version> from debootstrap (minbase): the tarball of the root, imported, under both tags.
local_base_image() {
  local version=$1 suite=$2 mirror root
  source "$repo/scripts/apt_mirror.sh"
  mirror=$(apt_mirror)
  [ -n "$mirror" ] || { echo "build_images.sh: no Debian mirror in this machine's apt sources" >&2; exit 1; }
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
  root=$(mktemp -d /var/tmp/cfm-base-XXXXXX)
  chmod 755 "$root"  # the image's /: mktemp makes it 0700, which no other user could enter
  debootstrap --variant=minbase "$suite" "$root" "$mirror" >/dev/null
  rm -f "$root/etc/apt/sources.list"
  printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' \
    "$mirror" "$suite" "$suite" > "$root/etc/apt/sources.list.d/debian.sources"
  rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  tar -C "$root" -c . | docker import --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["bash"]' - "debian:$version" >/dev/null
  docker tag "debian:$version" "debian:$version-slim"
  rm -rf "$root"
  echo "base image debian:$version (and -slim) from debootstrap $suite"
}

if ((local_base)); then
  [[ ",$targets," == *,cpu,* ]] && local_base_image 12 bookworm
  [[ ",$targets," == *,gpu,* ]] && local_base_image 13 trixie
fi

for target in ${targets//,/ }; do
  start=$(date +%s)
  docker build --target "$target" -t "cfm:$target" "${build_args[@]}" "$repo"
  seconds=$(($(date +%s) - start))
  bytes=$(docker image inspect -f '{{.Size}}' "cfm:$target")
  echo "cfm:$target built in ${seconds} s, $((bytes / 1024 / 1024)) MiB"
done
