#!/usr/bin/env bash
# Configures and builds cfm into ./build (Release, Ninja, ccache). Extra arguments go to cmake, e.g.
#   scripts/build.sh -DCFM_WITH_CUDA=ON -DCMAKE_PREFIX_PATH=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# ccache: hash paths relative to the checkout so that a fresh clone elsewhere hits the cache; the
# sloppiness settings let it cache translation units that use the precompiled header.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
export CCACHE_SLOPPINESS=pch_defines,time_macros,include_file_mtime,include_file_ctime
build="${CFM_BUILD_DIR:-$root/build}"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
# LibTorch translation units need ~1-1.5 GB each: two jobs fit the 2-core, 24 GiB machines.
ninja -C "$build" -j "${CFM_BUILD_JOBS:-2}"
test -x "$build/cli/cfm"
echo "build: $build/cli/cfm"
