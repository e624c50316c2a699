#!/usr/bin/env bash
# `cfm launch slurm` against a real single-node Slurm (docs/cluster.md): starts munge, slurmctld and
# slurmd with a throw-away configuration and a coordinator on every interface (its reachable address from
# --address-file), then
#  1. runs a small noop grid as a 2-task job array of `cfm worker`s (workers named after the node);
#  2. interrupts two long jobs, one by `scancel` of its task and one by its task's time limit (USR1 before
#     it, --signal-grace): no attempt may fail (max_attempts 1 would make any failure final), both leases
#     come back as released, and a second launch completes the grid.
# Skips (exit 77) when Slurm is not installed or the test does not run as root (slurmd needs root).
# Usage: slurm_launch_test.sh /path/to/cfm
set -euo pipefail
cfm=$1
if [ "$(id -u)" -ne 0 ] || ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "SKIP: needs root and Debian's slurm-wlm"; exit 77
fi
work=$(mktemp -d /tmp/cfm-slurm-XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  [ -f "$work/munged.pid" ] && kill "$(cat "$work/munged.pid")" 2>/dev/null || true
  sleep 0.5
  rm -rf "$work"
}
trap cleanup EXIT
host=$(hostname)

# munge: its own key and socket, so a system munge (if any) is left alone.
mkdir -p "$work/munge"
dd if=/dev/urandom bs=1 count=1024 of="$work/munge/munge.key" 2>/dev/null
chown -R munge:munge "$work/munge" 2>/dev/null || true
chmod 700 "$work/munge"; chmod 400 "$work/munge/munge.key"
runuser -u munge -- munged --key-file="$work/munge/munge.key" --socket="$work/munge/socket" \
  --pid-file="$work/munged.pid" --log-file="$work/munge/munged.log" --seed-file="$work/munge/seed" 2>/dev/null ||
  munged --force --key-file="$work/munge/munge.key" --socket="$work/munge/socket" --pid-file="$work/munged.pid" \
    --log-file="$work/munge/munged.log" --seed-file="$work/munge/seed"

mkdir -p "$work/state" "$work/spool" "$work/log"
cat > "$work/slurm.conf" <<CONF
ClusterName=cfmtest
SlurmctldHost=$host(127.0.0.1)
AuthType=auth/munge
AuthInfo=socket=$work/munge/socket
CredType=cred/munge
SlurmUser=root
SlurmctldPort=36817
SlurmdPort=36818
StateSaveLocation=$work/state
SlurmdSpoolDir=$work/spool
SlurmctldPidFile=$work/slurmctld.pid
SlurmdPidFile=$work/slurmd.pid
SlurmctldLogFile=$work/log/slurmctld.log
SlurmdLogFile=$work/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
ReturnToService=2
NodeName=$host NodeAddr=127.0.0.1 CPUs=$(nproc) RealMemory=1000 State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF
export SLURM_CONF=$work/slurm.conf
slurmctld -D -f "$SLURM_CONF" >"$work/log/ctld.out" 2>&1 & pids+=($!)
slurmd -D -f "$SLURM_CONF" >"$work/log/d.out" 2>&1 & pids+=($!)
for _ in $(seq 100); do sinfo -h -o %T 2>/dev/null | grep -qE "idle|mixed" && break; sleep 0.2; done
sinfo -h -o %T | grep -qE "idle|mixed" || { echo "Slurm did not come up"; cat "$work"/log/*; exit 1; }

"$cfm" token new "$work/token"
"$cfm" serve --db "$work/r.sqlite" --listen 0.0.0.0:0 --address-file "$work/address" --token-file "$work/token" \
  --runs "$work/runs" >"$work/coordinator.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -f "$work/address" ] && break; sleep 0.1; done
coordinator=$(cat "$work/address")
cat > "$work/grid.yaml" <<GRID
name: slurmgrid
fixed: {method: noop, sleep_ms: 500}
axes: {seed: [1, 2, 3, 4, 5, 6]}
GRID
# A loopback address is refused with what to do (the nodes of a real cluster cannot reach it).
if "$cfm" launch slurm "$work/grid.yaml" --coordinator "127.0.0.1:1" --token-file "$work/token" --dry-run 2>"$work/refusal"; then
  echo "FAIL: a loopback coordinator was accepted"; exit 1
fi
grep -q "address-file" "$work/refusal" || { echo "FAIL: the refusal says nothing of --address-file"; cat "$work/refusal"; exit 1; }
loopback=()
case "$coordinator" in 127.*) loopback=(--allow-loopback) ;; esac  # a machine with no other interface
sql() { sqlite3 "$work/r.sqlite" "$1"; }
launch() { "$cfm" launch slurm "$@" --coordinator "$coordinator" "${loopback[@]}" --token-file "$work/token" \
  --throttle 2 --cpus-per-task 1 --logs "$work/slurm-logs"; }
wait_for() {  # SQL giving 1 when done, seconds
  for _ in $(seq $(($2 * 5))); do [ "$(sql "$1")" = 1 ] && return 0; sleep 0.2; done
  echo "FAIL: waited $2 s for: $1"; squeue; sql "SELECT key, attempt, worker, outcome, error FROM attempts"
  tail -n 20 "$work"/slurm-logs/* "$work/coordinator.log"; exit 1
}

launch "$work/grid.yaml" --tasks 2
for _ in $(seq 300); do
  out=$("$cfm" status --db "$work/r.sqlite" --grid slurmgrid)
  echo "$out" | grep -q "6 succeeded" && break
  sleep 0.2
done
echo "$out"
echo "$out" | grep -q "0 pending, 0 leased, 0 running, 6 succeeded, 0 failed" || {
  echo "FAIL: grid not finished"; squeue; cat "$work"/slurm-logs/* "$work/coordinator.log"; exit 1; }
workers=$(sql "SELECT COUNT(DISTINCT worker) FROM jobs WHERE worker LIKE 'slurm-%@$(hostname -s)'")
echo "jobs ran on $workers Slurm worker(s), named after the node"
[ "$workers" -ge 1 ] || { echo "FAIL: no worker named slurm-<job>_<task>@<node>"; sql "SELECT worker FROM jobs"; exit 1; }
ls "$work"/slurm-logs/cfm-slurmgrid-*_0.out "$work"/slurm-logs/cfm-slurmgrid-*_1.out >/dev/null
# The array tasks end on their own once the queue is empty.
for _ in $(seq 100); do [ -z "$(squeue -h)" ] && break; sleep 0.2; done
[ -z "$(squeue -h)" ] || { echo "FAIL: workers still queued/running"; squeue; exit 1; }

# 2. Interruptions. Slurm checks time limits about every 30 s: with --time 1 and a grace of 55 s, USR1
# comes 5-35 s after the task starts, well before the 45 s job ends.
cat > "$work/long.yaml" <<GRID
name: interrupted
max_attempts: 1
fixed: {method: noop, sleep_ms: 45000}
axes: {seed: [1, 2]}
GRID
launch "$work/long.yaml" --tasks 2 --time 1 --signal-grace 55 | tee "$work/launch.out"
array=$(sed -n 's/^Slurm array job \([0-9]*\).*/\1/p' "$work/launch.out")
grid_state="SELECT j.state FROM jobs j JOIN grid_jobs g ON g.key = j.key WHERE g.grid = 'interrupted'"
wait_for "SELECT COUNT(*) = 2 FROM ($grid_state) WHERE state IN ('leased', 'running')" 60  # leased: before the first heartbeat
scancel "${array}_0"
wait_for "SELECT COUNT(*) = 2 FROM attempts WHERE outcome = 'released'" 90
for _ in $(seq 100); do [ -z "$(squeue -h)" ] && break; sleep 0.2; done
[ -z "$(squeue -h)" ] || { echo "FAIL: interrupted tasks still in the queue"; squeue; exit 1; }
[ "$(sql "SELECT COUNT(*) FROM attempts WHERE outcome = 'failed'")" = 0 ] ||
  { echo "FAIL: an interruption cost an attempt"; sql "SELECT * FROM attempts WHERE outcome = 'failed'"; exit 1; }
grep -q "stopping on signal 10" "$work"/slurm-logs/cfm-interrupted-"${array}"_1.out ||
  { echo "FAIL: the time-limited task did not stop on USR1"; cat "$work"/slurm-logs/cfm-interrupted-*; exit 1; }
echo "scancel and the time limit: 2 leases released, 0 failed attempts"
launch "$work/long.yaml" --tasks 2
wait_for "SELECT COUNT(*) = 2 FROM ($grid_state) WHERE state = 'succeeded'" 120
echo "the grid completed with a second launch"
echo "PASS"
