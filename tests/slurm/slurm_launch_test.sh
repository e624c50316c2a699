#!/usr/bin/env bash
# `cfm launch slurm` against a real single-node Slurm (docs/architecture.md §8): starts munge,
# slurmctld and slurmd with a throw-away configuration, a coordinator on loopback, submits a small
# noop grid as a 2-task job array of `cfm worker`s, and checks the database. Skips (exit 77) when Slurm
# is not installed or the test does not run as root (slurmd needs root).
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
"$cfm" serve --db "$work/r.sqlite" --listen 127.0.0.1:0 --port-file "$work/port" --token-file "$work/token" \
  --runs "$work/runs" >"$work/coordinator.log" 2>&1 & pids+=($!)
for _ in $(seq 100); do [ -f "$work/port" ] && break; sleep 0.1; done
cat > "$work/grid.yaml" <<GRID
name: slurmgrid
fixed: {method: noop, sleep_ms: 500}
axes: {seed: [1, 2, 3, 4, 5, 6]}
GRID
"$cfm" launch slurm "$work/grid.yaml" --coordinator "127.0.0.1:$(cat "$work/port")" --token-file "$work/token" \
  --tasks 2 --throttle 2 --cpus-per-task 1 --logs "$work/slurm-logs"
for _ in $(seq 300); do
  out=$("$cfm" status --db "$work/r.sqlite" --grid slurmgrid)
  echo "$out" | grep -q "6 succeeded" && break
  sleep 0.2
done
echo "$out"
echo "$out" | grep -q "0 pending, 0 leased, 0 running, 6 succeeded, 0 failed" || {
  echo "FAIL: grid not finished"; squeue; cat "$work"/slurm-logs/* "$work/coordinator.log"; exit 1; }
workers=$(sqlite3 "$work/r.sqlite" "SELECT COUNT(DISTINCT worker) FROM jobs WHERE worker LIKE 'slurm-%'" 2>/dev/null || echo "?")
echo "jobs ran on $workers Slurm worker(s)"
ls "$work"/slurm-logs/cfm-slurmgrid-*_0.out "$work"/slurm-logs/cfm-slurmgrid-*_1.out >/dev/null
# The array tasks end on their own once the queue is empty.
for _ in $(seq 100); do [ -z "$(squeue -h)" ] && break; sleep 0.2; done
[ -z "$(squeue -h)" ] || { echo "FAIL: workers still queued/running"; squeue; exit 1; }
echo "PASS"
