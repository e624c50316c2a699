#!/usr/bin/env bash
# cfm beside the official pipeline on this CPU, same inputs, same full-size random weights (benchmark, not a
# test; prints ratios). Inference per sample, training per sample-epoch and the metrics of a 130-map
# category, each with the check that both computed the same numbers (maps, losses, metric values).
#
#   bench/official_comparison.sh [--build DIR] [--samples N] [--work DIR] [--reuse-official DIR] [-- OPTIONS]
#   (defaults: build, 4, /tmp/cfm-official). OPTIONS go to cfm_pipeline_benchmark, e.g. `--blas 2
#   --intra-op 2` for the threads cfm used before its thread policy.
#   --reuse-official DIR: take the official timings, maps and metric values from an earlier run's work
#   folder instead of running the Python code again (~7 minutes); the inputs are seeded, so they are the
#   same files.
#
# The official side is bench/official_pipeline.py and bench/official_metrics.py (see their headers).
# Training per sample-epoch, cfm: the feature cache computes each sample's backbone outputs once, so an
# E-epoch run costs (first epoch + (E - 1) later epochs) / E per epoch: printed for 1, 2 and 50 epochs
# (50: the official default) from the two measured epoch costs. The official loop re-extracts every
# sample in every epoch, so its cost per sample-epoch does not depend on E.
set -euo pipefail
build=build samples=4 work=/tmp/cfm-official reuse=""
while (($#)); do
  case "$1" in
    --build) build="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --work) work="$2"; shift 2 ;;
    --reuse-official) reuse="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "official_comparison.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done
python=/usr/bin/python3
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$work"

"$build/bench/cfm_pipeline_benchmark" --dir "$work/pipeline" --samples "$samples" --epochs 2 "$@"
"$build/bench/cfm_metrics_benchmark" --save "$work/metrics" | tee "$work/cfm_metrics.txt"
if [[ -n $reuse ]]; then
  cp "$reuse/official_pipeline.json" "$reuse/official_metrics.json" "$work/"
  for folder in "$reuse"/pipeline/inputs/*; do
    cp "$folder/official_map.npy" "$work/pipeline/inputs/$(basename "$folder")/"
  done
else
  "$python" "$here/official_pipeline.py" "$work/pipeline" --epochs 2 > "$work/official_pipeline.json"
  "$python" "$here/official_metrics.py" "$work/metrics" > "$work/official_metrics.json"
fi
cfm_metrics_seconds=$(sed -n 's/^official protocol: 130 maps of 224x224 in \([0-9.]*\) s.*/\1/p' "$work/cfm_metrics.txt")

"$python" - "$work" "$cfm_metrics_seconds" <<'EOF'
import glob, json, sys
import numpy as np
work, cfm_metrics = sys.argv[1], float(sys.argv[2])
cfm = json.load(open(f"{work}/pipeline/cfm_timings.json"))
official = json.load(open(f"{work}/official_pipeline.json"))
metrics = json.load(open(f"{work}/official_metrics.json"))
cfm_values = json.load(open(f"{work}/metrics/cfm_metrics.json"))
worst = 0.0
for folder in glob.glob(f"{work}/pipeline/inputs/*"):
    ours, theirs = np.load(f"{folder}/cfm_map.npy"), np.load(f"{folder}/official_map.npy")
    worst = max(worst, float(np.abs(ours - theirs).max() / np.abs(theirs).max()))
first, later = cfm["train_first_epoch_seconds_per_sample"], cfm["train_later_epoch_seconds_per_sample"]
print(f"cfm threads: {cfm['threads']}; official: torch with {official['threads']} intra-op thread(s)")
infer = official["inference_seconds_per_sample"] / cfm["inference_seconds_per_sample"]
print(f"inference per sample: cfm {cfm['inference_seconds_per_sample']:.3f} s, official "
      f"{official['inference_seconds_per_sample']:.3f} s -> {infer:.2f}x (maps: max difference {worst:.1e} of the map maximum)")
print("  cfm stages (s): " + ", ".join(f"{k} {v:.3f}" for k, v in cfm["inference_stages"].items()))
t = official["train_seconds_per_sample_epoch"]
for epochs in (1, 2, 50):
    ours = (first + (epochs - 1) * later) / epochs
    print(f"training per sample-epoch, {epochs}-epoch run: cfm {ours:.3f} s, official {t:.3f} s -> {t / ours:.2f}x")
print(f"  cfm first epoch {first:.3f} s/sample (backbones + networks), later epochs {later:.3f} s/sample")
loss_difference = max(abs(x - y) for x, y in zip(cfm["train_epoch_loss"], official["train_epoch_loss"]))
print(f"  loss per epoch: cfm {cfm['train_epoch_loss']}, official {official['train_epoch_loss']} (max difference {loss_difference:.1e})")
metric_difference = max(abs(v - cfm_values[k]) for k, v in metrics["metrics"].items())
print(f"metrics of 130 maps (official 99-threshold protocol): cfm {cfm_metrics:.3f} s, official {metrics['seconds']:.3f} s "
      f"-> {metrics['seconds'] / cfm_metrics:.1f}x (values: max difference {metric_difference:.1e})")
EOF
