#!/usr/bin/env bash
# The Debian packages holding the shared libraries the given programs link directly (their NEEDED
# entries, found where ldd finds them), one per line: what a runtime image installs for them; apt brings
# what those libraries need in turn. A BLAS is chosen by the image (LibTorch needs libblas.so.3: name
# libopenblas0-pthread, or apt picks the reference BLAS). A library no package owns
# (the NVIDIA driver's libcuda.so.1, which the container toolkit mounts at run time; cuDNN, which
# nvidia-cudnn downloads) is left out with a note on stderr.
# Usage: runtime_packages.sh PROGRAM...
set -euo pipefail
(($#)) || { echo "usage: $0 PROGRAM..." >&2; exit 2; }

owner() {  # the package owning a library, under any of its names (usrmerge: /lib and /usr/lib)
  local library=$1 real candidate
  real=$(readlink -f "$library")
  for candidate in "$real" "$library" "${real#/usr}" "/usr$library"; do
    dpkg -S "$candidate" 2>/dev/null | grep -v '^diversion' | head -n1 | cut -d: -f1 && return 0
  done
  return 1
}

for program in "$@"; do
  needed=$(readelf -d "$program" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  ldd "$program" | awk -v needed=" $(echo $needed) " '
    index(needed, " " $1 " ") == 0 { next }
    /=> \// { print $3 } /not found/ { print "missing:" $1 }'
done | sort -u | while read -r library; do
  case "$library" in
    missing:*) echo "runtime_packages: ${library#missing:} not found (provided at run time?)" >&2 ;;
    *) owner "$library" || echo "runtime_packages: no package owns $library" >&2 ;;
  esac
done | sort -u
