#!/usr/bin/env bash
# Run THERE (the lent GPU machine, from the repository root, with .device-deps/ carried; see
# fetch_deps.sh), in at most ~8 minutes on one H100/H200: unpacks the Debian libraries into /tmp, builds
# cfm against the machine's CUDA LibTorch (Python torch) with CFM_WITH_CUDA, then
#   - the GPU tests: features, maps, training losses and metrics against the CPU; a batch that stays on
#     the GPU (no read back between inputs and maps); tf32 and bf16 against fp32; and the CPU-side tests
#     of the device code, batching and precision on this build;
#   - a two-job grid on cuda:0 through `cfm run` (layers 12 and 4, infer_batch_size 4): peak GPU memory
#     must land in the database;
#   - cfm_inference_benchmark on cuda:0: fps at batch 1 and 8, full and pruned backbones, peak GPU memory,
#     per-stage times;
#   - cfm_scaling_benchmark (CFM vs the memory bank against the training-set size) and the training
#     benchmark on CPU and GPU.
# Every step has a time limit. Logs go to $OUT (the device tool's output folder) or ./gpu-check, and one
# summary file, summary.txt, says what each step gave. Exit status: 0 only when everything passed.
set -uo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
out="${OUT:-$root/gpu-check}"
mkdir -p "$out"
prefix=/tmp/cfm-deps
build=/tmp/cfm-build-cuda
summary="$out/summary.txt"
started=$SECONDS
step() { echo "== $1 (at $((SECONDS - started)) s)" | tee -a "$summary"; }
# note FILE PATTERN: copies the lines of FILE that match PATTERN into the summary.
note() { grep -E "$2" "$1" | sed 's/^/   /' >>"$summary" || true; }

step "unpack $(ls "$root"/.device-deps/*.deb | wc -l) Debian packages"
rm -rf "$prefix" && mkdir -p "$prefix"
for deb in "$root"/.device-deps/*.deb; do dpkg -x "$deb" "$prefix" || exit 1; done
# Debian's -dev symlinks may point to absolute /lib paths: repoint them into the prefix.
find "$prefix" -type l -lname '/*' | while read -r link; do ln -sfn "$prefix$(readlink "$link")" "$link"; done
libs="$prefix/usr/lib/x86_64-linux-gnu:$prefix/lib/x86_64-linux-gnu"

torch_prefix=$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')
nccl_args=()
if [ ! -f /usr/local/cuda/include/nccl.h ]; then  # NCCL from the nvidia-nccl wheel next to torch
  nccl=$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__))' 2>/dev/null || true)
  [ -n "$nccl" ] && nccl_args=(-DNCCL_INCLUDE_DIR="$nccl/include" -DNCCL_LIBRARY="$(ls "$nccl"/lib/libnccl.so* | head -1)")
fi
step "configure (torch at $torch_prefix)"
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DCFM_WITH_CUDA=ON -DCMAKE_CUDA_ARCHITECTURES=90 \
  "-DCMAKE_PREFIX_PATH=$torch_prefix;$prefix/usr" "${nccl_args[@]}" >"$out/configure.log" 2>&1 || { tail -40 "$out/configure.log"; exit 1; }
step "build"
ninja -C "$build" -j "$(nproc)" cfm cfm_tests distributed_tests cfm_train_benchmark cfm_inference_benchmark \
  cfm_scaling_benchmark \
  >"$out/build.log" 2>&1 || { grep -m 20 -A 5 "error" "$out/build.log" | tee -a "$summary"; exit 1; }

status=0
step "GPU tests"
LD_LIBRARY_PATH="$libs" timeout 240 "$build/tests/cfm_tests" \
  --gtest_filter='Gpu*:ComputeDevice*:TrainEval*:DevicePath*:BatchedInference*:Precision*' 2>&1 |
  tee "$out/gpu-tests.log" | tail -15
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
LD_LIBRARY_PATH="$libs" timeout 120 "$build/tests/distributed_tests" --gtest_filter='RankGroup*:DataParallel*' 2>&1 |
  tee -a "$out/gpu-tests.log" | tail -8
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
note "$out/gpu-tests.log" '^\[  (PASSED|FAILED|SKIPPED) |^\[ +OK \] Gpu|- fp32 on cuda|tests? ran' 

step "tiny grid on cuda:0 through cfm run"
work=/tmp/cfm-gpu-grid
rm -rf "$work" && mkdir -p "$work"
cfm="$build/cli/cfm"
export LD_LIBRARY_PATH="$libs"
"$cfm" synth --out "$work/data" --categories 1 --size 400 --train 4 --validation 0 --test 2 --no-progress >/dev/null &&
  "$cfm" preprocess mvtec --in "$work/data" --in-place --no-progress >/dev/null &&
  "$cfm" backbones init --preset paper --out "$work/w" --seed 0 >/dev/null || status=1
cat >"$work/grid.yaml" <<YAML
name: gpu
fixed: {dataset: data, category: cookie, preset: paper, vit_weights: w/vit_paper_random.pth,
        point_mae_weights: w/pointmae_paper_random.pth, epochs: 3, batch_size: 2, threads: 4,
        infer_batch_size: 4}
axes: {layers_kept: [12, 4]}
YAML
timeout 180 "$cfm" run "$work/grid.yaml" --db "$work/gpu.sqlite" --runs "$work/runs" --devices cuda:0 --no-progress 2>&1 | tee "$out/grid.log" | tail -8
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
python3 - "$work/gpu.sqlite" <<'PY' 2>&1 | tee -a "$out/grid.log" || status=1
import sqlite3, sys
rows = sqlite3.connect(sys.argv[1]).execute("SELECT device, peak_gpu_bytes, inference_fps FROM resources").fetchall()
print(rows)
assert rows and all(d == "cuda:0" and g and g > 0 for d, g, _ in rows), "every job must record cuda:0 and its peak GPU memory"
PY
note "$out/grid.log" "cuda:0|done|failed|rror"

step "inference benchmark on cuda:0: fps at batch 1 and 8, full (12 blocks) and pruned (4) backbones"
timeout 150 "$build/bench/cfm_inference_benchmark" --device cuda:0 --layers 12,4 --batches 1,8 --samples 32 2>&1 |
  tee "$out/bench-inference-gpu.log" | tail -6
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
note "$out/bench-inference-gpu.log" "fps"

step "inference cost against the training-set size on cuda:0: CFM vs the memory bank (scoring only)"
timeout 120 "$build/bench/cfm_scaling_benchmark" --device cuda:0 --train 20,100,400 --samples 4 2>&1 |
  tee "$out/bench-scaling-gpu.log" | tail -6
[ "${PIPESTATUS[0]}" -eq 0 ] || status=1
note "$out/bench-scaling-gpu.log" "[0-9]"

step "training benchmark, paper preset, CPU then GPU"
timeout 60 "$build/bench/cfm_train_benchmark" --preset paper --samples 2 --device cpu 2>&1 | tee "$out/bench-cpu.log" | tail -5
timeout 60 "$build/bench/cfm_train_benchmark" --preset paper --samples 2 --device cuda:0 2>&1 | tee "$out/bench-gpu.log" | tail -5
note "$out/bench-gpu.log" "[0-9]"
step "done: status $status"
exit $status
