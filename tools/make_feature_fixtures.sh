#!/usr/bin/env bash
# Regenerates tests/fixtures/features: tiny random backbones in the original layouts, the transformed
# inputs of one synthetic sample (C++ transforms), and the Python reference outputs (tools/cfm_reference.py)
# in eval mode and with BatchNorm batch statistics. Needs a build and Debian's python3-torch.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cfm="${CFM_BUILD_DIR:-$root/build}/cli/cfm"
out="$root/tests/fixtures/features"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -rf "$out" && mkdir -p "$out"
"$cfm" synth --out "$work/data" --categories 1 --size 200 --train 1 --validation 0 --test 1 --no-progress >/dev/null
"$cfm" preprocess mvtec --in "$work/data" --in-place --no-progress >/dev/null
"$cfm" backbones init --preset tiny --out "$out" --seed 3 >/dev/null
sample="$work/data/cookie/test/bump"
"$cfm" features --rgb "$sample/rgb/000.png" --xyz "$sample/xyz/000.tiff" --out "$work/cxx" --save-inputs \
  --vit-weights "$out/vit_tiny_random.pth" --point-mae-weights "$out/pointmae_tiny_random.pth" \
  --image-size 112 --grid 28 --groups 32 --group-size 16 --layers 4 --vit-heads 4 --point-mae-heads 4 --threads 1 >/dev/null
cp "$work/cxx/rgb_input.npy" "$work/cxx/cloud_input.npy" "$out/"
args=(--vit "$out/vit_tiny_random.pth" --point-mae "$out/pointmae_tiny_random.pth" --rgb "$out/rgb_input.npy"
      --cloud "$out/cloud_input.npy" --vit-heads 4 --pm-heads 4 --groups 32 --group-size 16 --layers 4)
/usr/bin/python3 "$root/tools/cfm_reference.py" "${args[@]}" --out "$out/expected"
/usr/bin/python3 "$root/tools/cfm_reference.py" "${args[@]}" --bn-batch-stats --out "$out/expected_bn"
du -sh "$out"
