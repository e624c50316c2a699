#!/usr/bin/env bash
# Benchmark (not a test): one rank against N ranks (`cfm train|eval --world-size N`), each rank with one
# LibTorch thread, on the demo configuration (synthetic data, demo backbones, the paper's 224 grid).
# Prints the mean training epoch seconds of each and their ratio, then the wall-clock seconds of scoring
# the test split (backbones included: each run starts from an empty feature cache) and their ratio. The
# weights and maps of both runs agree (tests/distributed/data_parallel_test.cpp checks that; here the
# metrics files are compared).
#
#   bench/data_parallel_benchmark.sh [build/cli/cfm] [--devices cpu,cpu] [--samples 8] [--epochs 3] [--batch-size 4] [--test 2]
#   bench/data_parallel_benchmark.sh build-cuda/cli/cfm --devices cuda:0,cuda:1      # on a GPU machine
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cfm="$root/build/cli/cfm"
if [ $# -gt 0 ] && [ "${1#--}" = "$1" ]; then cfm=$(realpath "$1"); shift; fi
devices=cpu,cpu samples=8 epochs=3 batch=4 test=2
while (($#)); do
  case "$1" in
    --devices) devices="$2"; shift 2 ;;
    --samples) samples="$2"; shift 2 ;;
    --epochs) epochs="$2"; shift 2 ;;
    --batch-size) batch="$2"; shift 2 ;;
    --test) test="$2"; shift 2 ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
IFS=, read -r -a device_list <<<"$devices"
world=${#device_list[@]}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$cfm" synth --out "$work/data" --categories 1 --size 400 --train "$samples" --validation 0 --test "$test" --no-progress >/dev/null
"$cfm" preprocess mvtec --in "$work/data" --in-place --no-progress >/dev/null
"$cfm" backbones init --preset demo --out "$work/w" --seed 0 >/dev/null
common=(train --data "$work/data" --category cookie --preset demo --vit-weights "$work/w/vit_demo_random.pth"
  --point-mae-weights "$work/w/pointmae_demo_random.pth" --batch-size "$batch" --threads 1 --cache "$work/cache")
# Warm the feature cache first, so that both runs time the epochs alone.
"$cfm" "${common[@]}" --epochs 1 --device "${device_list[0]}" --out "$work/warm" >/dev/null
"$cfm" "${common[@]}" --epochs "$epochs" --device "${device_list[0]}" --out "$work/one" >/dev/null
pids=()
for rank in $(seq 0 $((world - 1))); do
  "$cfm" "${common[@]}" --epochs "$epochs" --device "${device_list[$rank]}" --world-size "$world" --rank "$rank" \
    --rendezvous "$work/rendezvous" --out "$work/many" >"$work/rank-$rank.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done

# Scoring: the mappers of the 1-rank run, from an empty cache each time (the backbones run per sample).
scoring=(eval --data "$work/data" --category cookie --preset demo --vit-weights "$work/w/vit_demo_random.pth"
  --point-mae-weights "$work/w/pointmae_demo_random.pth" --epochs "$epochs" --batch-size "$batch" --threads 1
  --mappers "$work/one")
now() { date +%s.%N; }
start=$(now)
"$cfm" "${scoring[@]}" --device "${device_list[0]}" --cache "$work/cache-eval-one" --out "$work/eval-one" >/dev/null
end=$(now)
echo "$start $end" >"$work/eval-one.seconds"
start=$(now)
pids=()
for rank in $(seq 0 $((world - 1))); do
  "$cfm" "${scoring[@]}" --device "${device_list[$rank]}" --cache "$work/cache-eval-many" --world-size "$world" \
    --rank "$rank" --rendezvous "$work/rendezvous-eval" --out "$work/eval-many" >"$work/eval-rank-$rank.log" 2>&1 &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
end=$(now)
echo "$start $end" >"$work/eval-many.seconds"
/usr/bin/python3 - "$work" "$world" <<'PY'
import json, sys
work, world = sys.argv[1], int(sys.argv[2])
one, many = (json.load(open(f"{work}/{name}/train.json")) for name in ("one", "many"))
mean = lambda xs: sum(xs) / len(xs)
e1, en = mean(one["epoch_seconds"]), mean(many["epoch_seconds"])
print(f"epoch: 1 rank {e1:.3f} s, {world} ranks {en:.3f} s -> speed-up {e1 / en:.2f}x "
      f"(ideal {world}x); all-reduce {many['communication_seconds']:.3f} s over the run")
print("loss of the last epoch: 1 rank {:.6f}, {} ranks {:.6f}".format(one["epoch_loss"][-1], world,
                                                                      many["epoch_loss"][-1]))
wall = {}
for name in ("one", "many"):
    start, end = map(float, open(f"{work}/eval-{name}.seconds").read().split())
    wall[name] = end - start
samples = len(open(f"{work}/eval-one/scores.csv").read().splitlines()) - 1
same = open(f"{work}/eval-one/metrics.json").read() == open(f"{work}/eval-many/metrics.json").read()
print(f"scoring {samples} test samples (processes started to metrics written): 1 rank {wall['one']:.3f} s, "
      f"{world} ranks {wall['many']:.3f} s -> speed-up {wall['one'] / wall['many']:.2f}x (ideal {world}x); "
      f"metrics {'identical' if same else 'DIFFERENT'}")
PY
