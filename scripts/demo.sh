#!/usr/bin/env bash
# The project's main job, end to end on a fresh Debian 12 machine: install what is missing, build, then
# generate the synthetic demo dataset (MVTec 3D-AD layout), preprocess it as CFM's official script does,
# check it, then run the demo experiment grid, print its table and write its HTML report. Extra arguments go to `cfm run`
# (e.g. --workers 1, --force).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cfm="${CFM_BUILD_DIR:-$root/build}/cli/cfm"
data="$root/data/demo"  # experiments/demo.yaml reads it from here
rm -rf "$data"          # generated content: start from a clean demo dataset
"$cfm" synth --out "$data" --seed 0 --size 400 --train 20 --test 10
"$cfm" preprocess mvtec --in "$data" --in-place
"$cfm" check --data "$data"
# The demo grid (experiments/demo.yaml): CFM and the memory bank x 3 categories x 2 layer-pruning variants with small
# random backbones (no pretrained weights can be downloaded here), run by an embedded coordinator and two
# local workers; the database lands in runs/demo.sqlite and the table is printed at the end.
weights="$root/data/demo-weights"
"$cfm" backbones init --preset demo --out "$weights" --seed 0
cd "$root"
"$cfm" run experiments/demo.yaml "$@"
# The paper-style report of the grid: tables, figures and a gallery in one offline HTML file.
"$cfm" results report --db runs/demo.sqlite --out runs/demo-report.html --title "CFM demo grid (synthetic data, random backbones)"
