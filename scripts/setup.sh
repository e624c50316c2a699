#!/usr/bin/env bash
# Installs the Debian packages cfm needs (as root, or through sudo when not root).
# Safe to run repeatedly: apt only installs what is missing.
#   scripts/setup.sh                  everything: build, tests, benchmarks (Debian 12, also 13)
#   scripts/setup.sh --build-only     what building the program needs (the Dockerfile's build stages)
#   scripts/setup.sh --build-only --cuda
#                                     the same against Debian 13's CUDA LibTorch 2.6, CUDA and NCCL (contrib
#                                     and non-free enabled; pulls nvidia-cudnn, which downloads cuDNN from
#                                     NVIDIA as it installs)
set -euo pipefail

build_only=0
cuda=0
for argument in "$@"; do
  case "$argument" in
    --build-only) build_only=1 ;;
    --cuda) cuda=1 ;;
    *) echo "setup: unknown argument '$argument' (--build-only, --cuda)" >&2; exit 2 ;;
  esac
done
((cuda && !build_only)) && { echo "setup: --cuda goes with --build-only (the tests' Python torch is the CPU one)" >&2; exit 2; }

build_packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config
  # a fast BLAS: without libopenblas0-pthread Debian's LibTorch falls back to the reference BLAS, ~20x
  # slower (docs/architecture.md §8)
  libopenblas0-pthread
  # libraries
  libboost-dev libsqlite3-dev libyaml-cpp-dev libfmt-dev libtiff-dev libpng-dev libcli11-dev libspdlog-dev
  nlohmann-json3-dev libnanoflann-dev libeigen3-dev libssl-dev
)
if ((cuda)); then
  # LibTorch and c10d's Gloo with CUDA, the toolkit (nvcc) and NCCL (CUDA ranks of multi-device jobs)
  build_packages+=(libtorch-cuda-dev libgloo-cuda-dev nvidia-cuda-toolkit libnccl-dev)
else
  # LibTorch (CPU) and c10d's Gloo process group headers (CPU ranks of multi-device jobs)
  build_packages+=(libtorch-dev libgloo-dev)
fi
test_packages=(
  clang-format libgtest-dev libgmock-dev sqlite3
  # clang with libFuzzer and the sanitizer runtimes: the protocol fuzz test (tests/fuzz)
  clang libclang-rt-dev
  # OpenSSL's command line: the README's by-hand session with the coordinator (tested)
  openssl
  # figures of `cfm results plot`; a headless browser for the HTML report test
  gnuplot-nox chromium
  # a real single-node Slurm for the launcher test (tests/slurm)
  slurm-wlm
  # Python references used by the parity tests (Debian's interpreter, /usr/bin/python3)
  python3 python3-numpy python3-pil python3-torch python3-sklearn
  # faiss, for the nearest-neighbour benchmark that compares it with LibTorch (bench/)
  libfaiss-dev
)
packages=("${build_packages[@]}")
((build_only)) || packages+=("${test_packages[@]}")

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "setup: all ${#packages[@]} packages present"
  exit 0
fi

sudo_cmd=()
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "setup: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo_cmd=(sudo)
fi
echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done"
