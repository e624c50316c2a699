#!/usr/bin/env bash
# The project's main job, end to end on a fresh Debian 12 machine: install what is missing, build, then
# generate the synthetic demo dataset (MVTec 3D-AD layout), preprocess it as CFM's official script does,
# check it, then train and evaluate one category and print its metrics.
# (Until the orchestrator exists, this is the demo; it will become `cfm run experiments/demo.yaml`.)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cfm="${CFM_BUILD_DIR:-$root/build}/cli/cfm"
data="${CFM_DEMO_DATA:-$root/data/demo}"
"$cfm" synth --out "$data" --seed 0
"$cfm" preprocess mvtec --in "$data" --in-place
"$cfm" check --data "$data"
# One category end to end with small random backbones (no pretrained weights can be downloaded here).
weights="${CFM_DEMO_WEIGHTS:-$root/data/demo-weights}"
"$cfm" backbones init --preset demo --out "$weights" --seed 0
backbones=(--preset demo --vit-weights "$weights/vit_demo_random.pth" --point-mae-weights "$weights/pointmae_demo_random.pth")
runs="$root/results/demo-runs"
"$cfm" train --data "$data" --category cookie "${backbones[@]}" --epochs 30 --batch-size 4 --out "$runs/cookie"
"$cfm" eval --data "$data" --category cookie "${backbones[@]}" --epochs 30 --batch-size 4 --mappers "$runs/cookie" \
  --out "$runs/cookie-eval"
