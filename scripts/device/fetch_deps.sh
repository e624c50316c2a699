#!/usr/bin/env bash
# Run HERE (a Debian 12 machine with apt): downloads the Debian packages cfm builds against into
# .device-deps/ (git-ignored, ~25 MB), for a GPU machine that has CUDA, a CUDA LibTorch (Python torch),
# CMake and ninja but no apt. Then pass `carry: [".device-deps"]` to the device run and start
# scripts/device/gpu_check.sh there (docs/building.md).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
mkdir -p "$root/.device-deps"
cd "$root/.device-deps"
rm -f ./*.deb
# -dev packages for headers and CMake files, runtime packages for the shared libraries they point to.
packages=(
  libboost1.74-dev libfmt-dev libfmt9 libspdlog-dev libspdlog1.10 libcli11-dev libyaml-cpp-dev libyaml-cpp0.7
  nlohmann-json3-dev libeigen3-dev libnanoflann-dev libgtest-dev libgmock-dev googletest libsqlite3-dev libsqlite3-0
  libpng-dev libpng16-16 zlib1g-dev zlib1g libtiff-dev libtiff6 libtiffxx6 libjbig-dev libjbig0 libdeflate-dev
  libdeflate0 liblerc-dev liblerc4 libwebp-dev libwebp7 libwebpmux3 libwebpdemux2 libjpeg-dev libjpeg62-turbo-dev
  libjpeg62-turbo libzstd-dev libzstd1 liblzma-dev liblzma5 libssl-dev libssl3
)
apt-get download "${packages[@]}"
du -sh "$root/.device-deps"
