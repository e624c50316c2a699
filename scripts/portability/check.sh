#!/usr/bin/env bash
# Portability check: builds and tests cfm on Debian 13 (trixie, LibTorch 2.6, GCC 14) inside a
# debootstrap root, then builds it with CFM_WITH_CUDA=ON against Debian's CUDA LibTorch 2.6, CUDA 12.4
# and NCCL for sm_90 (compile and link of every target; no GPU needed, no GPU test run).
#
#   sudo scripts/portability/check.sh [--root DIR] [--cache DIR] [--skip-cuda] [--keep] [--jobs N] [--mirror URL]
#
# Stages, one line each with its time: debootstrap, cpu packages (scripts/setup.sh), cpu build, cpu tests
# (the full CTest suite), cuda packages, cuda build, link check (ldd of every executable: nothing missing
# but the NVIDIA driver's libcuda.so.1).
#
# Needs root (debootstrap, chroot, mounts) and a Debian mirror (the one this machine's apt uses, unless
# --mirror names another). Downloaded packages are kept in the cache folder (default
# /var/cache/cfm-portability), so a second run fetches nothing; the root itself is made anew on every run (default /var/tmp/cfm-portability/trixie, removed at the end unless --keep). The
# whole run happens in a private mount namespace with a private /dev: its mounts vanish with it, even
# when it is killed, and nothing in the root can reach the host's devices.
#
# cuDNN: Debian's libtorch-cuda-2.6 depends on `nvidia-cudnn`, a contrib package that downloads cuDNN
# from NVIDIA while it installs, which cannot work here. We install instead a local placeholder package
# of that name (no files; its description says what it is) and put the one real cuDNN library that
# linking needs -- libcudnn.so.9, NEEDED by libtorch_cuda.so -- in /usr/local/lib of the root, copied from
# the CUDA toolkit on this machine (CFM_CUDNN_LIBRARY=/path/libcudnn.so.9 to name another). The CPU stages
# do not depend on it.
set -euo pipefail

root_dir=/var/tmp/cfm-portability/trixie
cache_dir=/var/cache/cfm-portability
# The Debian mirror this machine's apt uses; --mirror overrides.
source "$(dirname "$0")/../apt_mirror.sh"
mirror=$(apt_mirror)
skip_cuda=0
keep=0
jobs=2
while (($#)); do
  case "$1" in
    --root) root_dir="$2"; shift 2 ;;
    --cache) cache_dir="$2"; shift 2 ;;
    --skip-cuda) skip_cuda=1; shift ;;
    --keep) keep=1; shift ;;
    --jobs) jobs="$2"; shift 2 ;;
    --mirror) mirror="$2"; shift 2 ;;
    -h | --help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "check.sh: unknown argument '$1' (see --help)" >&2; exit 2 ;;
  esac
done

root_dir=$(realpath -m "$root_dir")  # absolute: it is compared with /proc/PID/root below
cache_dir=$(realpath -m "$cache_dir")
repo=$(cd "$(dirname "$0")/../.." && pwd)
[ "$(id -u)" -eq 0 ] || { echo "check.sh: needs root (debootstrap, chroot, mounts)" >&2; exit 1; }
command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
[ -n "$mirror" ] || { echo "check.sh: no Debian mirror in this machine's apt sources; pass --mirror URL" >&2; exit 2; }

# The work runs in a private mount namespace (a child process): its mounts exist only there and vanish
# with it. This outer process then removes the root, where no mount of the namespace can be reached.
if [ -z "${CFM_PORTABILITY_IN_NAMESPACE:-}" ]; then
  status=0
  CFM_PORTABILITY_IN_NAMESPACE=1 unshare --mount --propagation private -- "$0" --root "$root_dir" \
    --cache "$cache_dir" --jobs "$jobs" $( ((skip_cuda)) && echo --skip-cuda) || status=$?
  if ((!keep)) && [ -d "$root_dir" ]; then
    if grep -q "^$root_dir/" <<<"$(findmnt -rn -o TARGET)"; then
      echo "portability: $root_dir still has mounts; not removing it" >&2
      exit 1
    fi
    rm -rf "$root_dir"
  fi
  exit $status
fi

started=$(date +%s)
stage_number=0
stage_count=$((skip_cuda ? 4 : 7))
log_dir="$root_dir.logs"
# Runs one stage: prints "[i/n] name ... ok in N s" or the tail of its log and stops.
stage() {
  local name="$1"; shift
  stage_number=$((stage_number + 1))
  local log="$log_dir/$stage_number-${name// /-}.log" begin=$(date +%s)
  printf 'portability: [%d/%d] %-14s ' "$stage_number" "$stage_count" "$name"
  if "$@" >"$log" 2>&1; then
    printf 'ok in %4d s\n' $(($(date +%s) - begin))
  else
    printf 'FAILED after %d s (log: %s)\n' $(($(date +%s) - begin)) "$log"
    tail -n 40 "$log" | sed 's/^/  | /'
    exit 1
  fi
}
in_root() { chroot "$root_dir" env -i HOME=/root PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 "$@"; }

fresh_root() {
  if [ -e "$root_dir" ]; then
    # Never delete through a mount (a bind of /dev or /proc would be emptied on the host).
    if grep -q "^$root_dir/" <<<"$(findmnt -rn -o TARGET)"; then
      echo "$root_dir has mounts below it; unmount them first" >&2; return 1
    fi
    rm -rf "$root_dir"
  fi
  mkdir -p "$root_dir" "$cache_dir/debs" "$cache_dir/ccache"
  debootstrap --variant=minbase --components=main,contrib,non-free --cache-dir="$cache_dir/debs" \
    trixie "$root_dir" "$mirror"
}

# A private /dev: only the basic nodes are bound from the host, so nothing that runs or installs in the
# root (package scripts create device nodes) can touch the host's /dev.
private_dev() {
  local dev="$root_dir/dev" node
  mount -t tmpfs -o mode=755,size=16m dev "$dev"
  for node in null zero full random urandom tty; do
    touch "$dev/$node"
    mount --bind "/dev/$node" "$dev/$node"
  done
  mkdir -p "$dev/pts" "$dev/shm"
  mount -t devpts -o newinstance,ptmxmode=0666,mode=620 devpts "$dev/pts"
  ln -s pts/ptmx "$dev/ptmx"
  ln -s /proc/self/fd "$dev/fd"
  ln -s /proc/self/fd/0 "$dev/stdin"
  ln -s /proc/self/fd/1 "$dev/stdout"
  ln -s /proc/self/fd/2 "$dev/stderr"
  mount -t tmpfs -o size=4g shm "$dev/shm"  # chromium and the tests' shared memory
}

mount_root() {
  mount -t proc proc "$root_dir/proc"
  mount --rbind /sys "$root_dir/sys"  # with the cgroup mounts below it: Slurm 24's slurmd needs them
  private_dev
  mount --bind "$cache_dir/debs" "$root_dir/var/cache/apt/archives"
  mkdir -p "$root_dir/root/.ccache"
  mount --bind "$cache_dir/ccache" "$root_dir/root/.ccache"
  cp /etc/hosts "$root_dir/etc/hosts"
  cp /etc/resolv.conf "$root_dir/etc/resolv.conf" 2>/dev/null || true
}

# The checkout as git sees it (tracked and untracked, not ignored), without build folders.
copy_sources() {
  rm -rf "$root_dir/src/cfm" && mkdir -p "$root_dir/src/cfm"
  (cd "$repo" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) | tar -xf - -C "$root_dir/src/cfm"
}

cpu_packages() {
  in_root apt-get update -qq
  in_root /src/cfm/scripts/setup.sh
  in_root dpkg-query -W -f='${Package} ${Version}\n' libtorch-dev g++ cmake libfmt-dev libnanoflann-dev
}

cpu_build() { in_root env CFM_BUILD_DIR=/src/cfm/build-cpu CFM_BUILD_JOBS="$jobs" /src/cfm/scripts/build.sh; }

cpu_tests() { in_root bash -c "cd /src/cfm/build-cpu && ctest -j $jobs --output-on-failure"; }

# An empty package named nvidia-cudnn that satisfies libtorch-cuda-2.6's dependency (see the top).
placeholder_cudnn_package() {
  local dir="$root_dir/tmp/nvidia-cudnn-placeholder"
  rm -rf "$dir" && mkdir -p "$dir/DEBIAN"
  cat >"$dir/DEBIAN/control" <<'CONTROL'
Package: nvidia-cudnn
Version: 9.0.0.312~cuda12+cfmplaceholder1
Architecture: amd64
Maintainer: cfm portability check <root@localhost>
Provides: libcudnn.so.9, libcudnn-dev
Section: contrib/libs
Priority: optional
Description: placeholder for NVIDIA cuDNN (cfm portability check)
 Debian's nvidia-cudnn downloads cuDNN from NVIDIA while it installs, which the
 build machines of cfm cannot do. This package holds no files; it only satisfies
 libtorch-cuda-2.6's dependency. The real libcudnn.so.9 needed for linking is
 copied into /usr/local/lib by scripts/portability/check.sh.
CONTROL
  dpkg-deb --build --root-owner-group "$dir" "$root_dir/tmp/nvidia-cudnn-placeholder.deb"
}

find_cudnn() {
  local candidate
  for candidate in "${CFM_CUDNN_LIBRARY:-}" /usr/local/cuda/lib64/libcudnn.so.9 \
    /usr/lib/x86_64-linux-gnu/libcudnn.so.9; do
    [ -n "$candidate" ] && [ -e "$candidate" ] && { readlink -f "$candidate"; return 0; }
  done
  echo "no libcudnn.so.9 on this machine: set CFM_CUDNN_LIBRARY to a cuDNN 9 library" >&2
  return 1
}

cuda_packages() {
  local cudnn
  cudnn=$(find_cudnn)
  placeholder_cudnn_package
  in_root dpkg -i /tmp/nvidia-cudnn-placeholder.deb
  install -m 0644 "$cudnn" "$root_dir/usr/local/lib/libcudnn.so.9"
  in_root ldconfig
  # libtorch-cuda-dev replaces libtorch-dev and libgloo-cuda-dev libgloo-dev (they conflict); python3-torch
  # goes with the CPU LibTorch.
  in_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
    libtorch-cuda-dev nvidia-cuda-toolkit libnccl-dev libgloo-cuda-dev
  in_root dpkg-query -W -f='${Package} ${Version}\n' libtorch-cuda-dev nvidia-cuda-toolkit libnccl-dev libgloo-cuda-dev nvidia-cudnn
  echo "cuDNN for linking: $cudnn"
}

cuda_build() {
  in_root env CFM_BUILD_DIR=/src/cfm/build-cuda CFM_BUILD_JOBS="$jobs" /src/cfm/scripts/build.sh \
    -DCFM_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90
}

# Every executable resolves every library but the driver's libcuda.so.1 and links LibTorch's CUDA half,
# NCCL and cuDNN; then the CUDA cfm starts (the loader resolves everything) and, with no GPU here, says so
# clearly (the ComputeDevice test; the Gpu tests skip themselves).
link_check() {
  local exe missing problems=0 executables
  executables=$(in_root find /src/cfm/build-cuda -type f -perm -u+x -not -path '*/CMakeFiles/*')
  for exe in $executables; do
    missing=$(in_root ldd "$exe" | awk '/not found/ {print $1}' | grep -v '^libcuda\.so\.1$' || true)
    if [ -n "$missing" ]; then
      echo "$exe: missing $missing"
      problems=1
    fi
  done
  echo "ldd: $(echo "$executables" | wc -w) executables checked"
  local cfm=/src/cfm/build-cuda/cli/cfm library libraries
  # Into a variable first: `ldd | grep -q` fails under pipefail when grep stops reading early.
  libraries=$(in_root ldd "$cfm")
  grep -E 'torch_cuda|c10_cuda|nccl|cudart|cudnn|libcuda' <<<"$libraries"
  for library in libtorch_cuda.so libc10_cuda.so libnccl.so libcudnn.so; do
    grep -q "$library" <<<"$libraries" || { echo "cfm does not link $library"; problems=1; }
  done
  in_root "$cfm" --help >/dev/null || { echo "the CUDA cfm does not start"; problems=1; }
  in_root /src/cfm/build-cuda/tests/cfm_tests --gtest_filter='ComputeDevice*:Gpu*' || problems=1
  return $problems
}

# Daemons a test may leave behind in the root (munged, say) would keep the namespace and its mounts alive.
stop_root_processes() {
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    [ "$(readlink "/proc/$pid/root" 2>/dev/null)" = "$root_dir" ] && kill -KILL "$pid" 2>/dev/null
  done
  return 0
}
trap stop_root_processes EXIT

mkdir -p "$log_dir"
echo "portability: root $root_dir, package cache $cache_dir, logs $log_dir"
stage "debootstrap" fresh_root
mount_root
copy_sources
stage "cpu packages" cpu_packages
stage "cpu build" cpu_build
stage "cpu tests" cpu_tests
if ((!skip_cuda)); then
  stage "cuda packages" cuda_packages
  stage "cuda build" cuda_build
  stage "link check" link_check
fi
stop_root_processes
echo "portability: all $stage_count stages passed in $(($(date +%s) - started)) s"
