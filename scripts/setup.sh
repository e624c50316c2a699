#!/usr/bin/env bash
# Installs the Debian 12 packages cfm needs (as root, or through sudo when not root).
# Safe to run repeatedly: apt only installs what is missing.
set -euo pipefail

packages=(
  # toolchain
  g++ cmake ninja-build ccache pkg-config clang-format
  # clang with libFuzzer and the sanitizer runtimes: the protocol fuzz test (tests/fuzz)
  clang libclang-rt-dev
  # LibTorch (CPU) and a fast BLAS: without libopenblas0-pthread Debian's LibTorch falls back to the
  # reference BLAS, ~20x slower (docs/architecture.md §8).
  libtorch-dev libopenblas0-pthread
  # libraries
  libboost-dev libsqlite3-dev libyaml-cpp-dev libfmt-dev libgtest-dev libgmock-dev
  libtiff-dev libpng-dev libcli11-dev libspdlog-dev nlohmann-json3-dev libnanoflann-dev
  libeigen3-dev libssl-dev sqlite3
  # OpenSSL's command line: the README's by-hand session with the coordinator (tested)
  openssl
  # c10d's Gloo process group headers (CPU ranks of multi-device jobs)
  libgloo-dev
  # figures of `cfm results plot`; a headless browser for the HTML report test
  gnuplot-nox chromium
  # a real single-node Slurm for the launcher test (tests/slurm)
  slurm-wlm
  # Python references used by the parity tests (Debian's interpreter, /usr/bin/python3)
  python3 python3-numpy python3-pil python3-torch python3-sklearn
  # faiss, for the nearest-neighbour benchmark that compares it with LibTorch (bench/)
  libfaiss-dev
)

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
