#!/usr/bin/env bash
# Soak test of the orchestrator with real processes on loopback: JOBS no-op jobs through 8 slots (2
# workers x 4 CPU slots), a worker SIGKILLed at random every 3-7 s (and restarted), and the
# coordinator SIGKILLed and restarted once, halfway. At the end every job must be recorded exactly once
# (counted in the database), none failed, and the coordinator's resident memory must stay flat (its last
# sample within a bound of its first after warm-up).
#
#   tests/soak/soak.sh CFM_BINARY [JOBS (default 2000)] [WORK DIR]
# CI runs it with 160 jobs (ctest "soak"); the full size is the default: tests/soak/soak.sh build/cli/cfm
set -euo pipefail
cfm=$(realpath "$1")
jobs=${2:-2000}
work=${3:-$(mktemp -d)}
rm -rf "$work" && mkdir -p "$work"
cd "$work"
head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n' >token
chmod 600 token
db=r.sqlite
coordinator_pid=
start_coordinator() {
  rm -f port
  "$cfm" serve --db "$db" --listen 127.0.0.1:0 --token-file token --runs runs --lease-seconds 3 \
    --port-file port >>coordinator.log 2>&1 &
  coordinator_pid=$!
  for _ in $(seq 200); do [ -s port ] && break; sleep 0.05; done
  [ -s port ] || { echo "soak: the coordinator did not start"; cat coordinator.log; exit 1; }
}
declare -A worker_pid
start_worker() {  # $1: worker index; it reconnects to the current port
  "$cfm" worker --coordinator "127.0.0.1:$(cat port)" --token-file token --devices cpu,cpu,cpu,cpu \
    --name "soak-$1" --runs "$work/runs" --give-up 60 >>"worker-$1.log" 2>&1 &
  worker_pid[$1]=$!
  disown "$!"  # killed on purpose: no "Killed" notice from the shell
}
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$coordinator_pid/status" 2>/dev/null || echo 0; }
counts() { sqlite3 "$db" "SELECT COUNT(*) FROM jobs WHERE state = '$1'" 2>/dev/null || echo 0; }

# The grid: JOBS distinct no-op jobs (sleep_ms 20..), a few milliseconds of work each; the cost is the
# protocol, the database and one `cfm job` process per attempt.
python3 - "$jobs" >grid.yaml <<'PY'
import sys
n = int(sys.argv[1])
print("name: soak\nmax_attempts: 20\nfixed:\n  method: noop\naxes:\n  sleep_ms: [" + ", ".join(str(20 + i) for i in range(n)) + "]")
PY
start_coordinator
"$cfm" submit grid.yaml --coordinator "127.0.0.1:$(cat port)" --token-file token >submit.log 2>&1
start_worker 0
start_worker 1
start=$(date +%s)
kills=0 restarted=0 first_rss=0 last_rss=0 max_rss=0 samples=0
while true; do
  sleep $((3 + RANDOM % 5))  # a kill every 3-7 s: each costs up to 4 running jobs an attempt
  succeeded=$(counts succeeded) failed=$(counts failed)
  if [ "$succeeded" -ge "$jobs" ] || [ "$failed" -gt 0 ]; then break; fi
  if [ $(($(date +%s) - start)) -gt $((300 + 2 * jobs)) ]; then echo "soak: timed out at $succeeded/$jobs"; break; fi
  # Memory: the first sample once 10 % of the jobs are done (warm-up), then every round.
  rss=$(rss_kb)
  if [ "$succeeded" -ge $((jobs / 10)) ] && [ "$restarted" = 1 ]; then
    [ "$first_rss" = 0 ] && first_rss=$rss
    last_rss=$rss
    [ "$rss" -gt "$max_rss" ] && max_rss=$rss
    samples=$((samples + 1))
  fi
  # A random worker dies without warning, and comes back.
  w=$((RANDOM % 2))
  kill -KILL "${worker_pid[$w]}" 2>/dev/null || true
  pkill -KILL -f -- "--name soak-$w/" 2>/dev/null || true   # its job processes die with it (as on a lost node)
  kills=$((kills + 1))
  start_worker "$w"
  # Once, halfway: the coordinator dies and comes back on a new port; the workers are restarted on it.
  if [ "$restarted" = 0 ] && [ "$succeeded" -ge $((jobs / 2)) ]; then
    kill -KILL "$coordinator_pid"
    wait "$coordinator_pid" 2>/dev/null || true
    start_coordinator
    for i in 0 1; do kill -KILL "${worker_pid[$i]}" 2>/dev/null || true; start_worker "$i"; done
    restarted=1
  fi
done
seconds=$(($(date +%s) - start))
kill "${worker_pid[0]}" "${worker_pid[1]}" "$coordinator_pid" 2>/dev/null || true
wait 2>/dev/null || true

succeeded=$(counts succeeded) failed=$(counts failed)
results=$(sqlite3 "$db" "SELECT COUNT(*) FROM results")
distinct=$(sqlite3 "$db" "SELECT COUNT(DISTINCT key) FROM results")
attempts=$(sqlite3 "$db" "SELECT COUNT(*) FROM attempts")
retried=$(sqlite3 "$db" "SELECT COUNT(*) FROM jobs WHERE attempts > 1")
echo "soak: $jobs jobs in ${seconds} s; $kills worker SIGKILLs, coordinator restarted $restarted time(s)"
echo "soak: succeeded $succeeded, failed $failed, result rows $results ($distinct distinct jobs), attempts $attempts ($retried jobs retried)"
echo "soak: coordinator RSS after warm-up: first ${first_rss} kB, last ${last_rss} kB, max ${max_rss} kB over $samples samples"
status=0
[ "$succeeded" -eq "$jobs" ] || { echo "soak: FAIL: not every job succeeded"; status=1; }
[ "$failed" -eq 0 ] || { echo "soak: FAIL: failed jobs"; status=1; }
[ "$results" -eq "$jobs" ] && [ "$distinct" -eq "$jobs" ] || { echo "soak: FAIL: a job recorded more or less than once"; status=1; }
[ "$restarted" -eq 1 ] || { echo "soak: FAIL: the coordinator restart did not happen"; status=1; }
# Flat memory: the last sample at most 20 MB above the first (a leak per job would show as growth with
# the job count; SQLite's page cache and asio's buffers are bounded).
if [ "$samples" -ge 2 ] && [ "$last_rss" -gt $((first_rss + 20480)) ]; then
  echo "soak: FAIL: coordinator RSS grew from $first_rss to $last_rss kB"; status=1
fi
exit $status
