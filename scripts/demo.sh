#!/usr/bin/env bash
# The project's main job, end to end on a fresh Debian 12 machine: install what is missing, build, then
# generate the synthetic demo dataset (MVTec 3D-AD layout), preprocess it as CFM's official script does,
# and check it.
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
