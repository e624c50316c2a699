// A worker (docs/architecture.md §4): one slot per device (or per group of devices_per_job devices), each
// slot a loop that leases a job from the coordinator, runs it as a child process (`cfm job`, output to a
// per-attempt log file in the run folder), sends heartbeats while it runs and reports the result or the
// failure with the log's tail.
//  - A lost coordinator is retried with exponential back-off (0.5 s doubling to 30 s); a running job
//    keeps running meanwhile and its heartbeats resume on the new connection.
//  - SIGTERM/SIGINT/SIGUSR1 (USR1: Slurm's warning before a time limit): the slots stop leasing, stop their
//    jobs and return the leases (requeued without costing an attempt), then the worker exits. A job
//    process killed by SIGTERM while the worker is told to stop too (Slurm signals every process of a
//    cancelled task) is stopped, not failed: its lease is returned the same way.
//  - Leaving early: a slot offered nothing for idle_exit_seconds ends (so no GPU waits for others' last
//    jobs); a slot whose jobs of retire_after_failures different jobs failed in a row stops leasing (a
//    broken device or node), says so in the last failure it reports, and the worker exits 1 once all
//    its slots have ended.
//  - A lease the coordinator no longer honours (expired) stops the job.
//  - A job with devices_per_job N runs as N `cfm job` processes (ranks) on the slot's first N devices,
//    meeting through a fresh rendezvous file in this node's temporary folder (node-local, so no shared
//    file system's locking is needed); when one fails, the others are stopped
//    and the job fails with the failing rank's reason (it is then retried like any other).
//  - A job offer that fails the worker's own checks (worker/job_offer.h) is reported as that job's
//    failure before anything is written; an error while running one job fails that job only.
#pragma once

#include <string>
#include <vector>

#include "common/net/client.h"
#include "worker/job_offer.h"

namespace cfm {

struct WorkerOptions {
  net::Endpoint coordinator;
  std::string token;
  std::string name;                  // default: <hostname>-<pid>
  std::vector<std::string> devices;  // "cpu", "cuda:0", ...: one slot per devices_per_job of them
  int devices_per_job = 1;           // a slot's devices: jobs needing up to this many run there as ranks
  std::string cfm_binary;            // the executable run for each job (default: this one)
  std::string cache_dir;             // feature cache shared by the jobs ("" = next to the run folders)
  int sharing_processes = 0;         // job processes on this machine's cores (0: this worker's devices)
  WorkerFolders folders;             // where run folders and job inputs may be
  bool exit_when_done = false;       // leave once the coordinator has nothing pending or running
  double idle_poll_seconds = 1;
  double give_up_seconds = 0;     // > 0: exit when the coordinator stays unreachable this long
  double idle_exit_seconds = 0;   // > 0: a slot offered nothing for this long ends
  int retire_after_failures = 0;  // > 0: a slot stops leasing after this many different jobs failed in a row
};

// Runs until stopped by a signal (or, with exit_when_done, until the queue is empty); returns the exit code.
int run_worker(const WorkerOptions& options);

}  // namespace cfm
