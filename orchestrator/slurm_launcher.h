// `cfm launch slurm`: workers as a Slurm job array. Each array task runs one `cfm worker` that takes jobs
// from the coordinator until the queue is empty (`--exit-when-done`), with one device slot per GPU of the
// task (Slurm sets CUDA_VISIBLE_DEVICES, so the slots are cuda:0..G-1) or one CPU slot without GPUs.
// How a task ends without wasting an attempt or a GPU:
//  - Slurm sends USR1 to the worker `signal_grace_seconds` before the time limit (--signal=B:USR1@grace)
//    and SIGTERM on scancel or preemption: the worker stops its jobs and returns their leases (requeued,
//    no attempt used). Logs are appended to, so a requeued task keeps its earlier output.
//  - A task offered nothing for `idle_exit_seconds` leaves, instead of holding its GPUs while the last
//    jobs of others run; a task whose device fails `retire_after_failures` different jobs in a row stops.
//  - Worker names are slurm-<array job>_<task>@<node>, so the database says where each attempt ran.
#pragma once

#include <string>
#include <vector>

namespace cfm {

struct SlurmOptions {
  std::string grid_name;
  std::string coordinator;  // HOST:PORT reachable from the compute nodes
  std::string token_file;   // on a filesystem the nodes share
  std::string cfm_binary;   // absolute path, valid on the nodes
  std::string log_dir;      // per-task logs: <log_dir>/cfm-<grid>-<array job>_<task>.out
  std::string cache_dir;    // feature cache for the jobs ("" = next to the run folders)
  int tasks = 1;            // array size = number of workers
  int throttle = 0;         // at most this many tasks at once (0 = no limit)
  int gpus_per_task = 0;
  int devices_per_job = 1;  // the grid's largest job: each task's devices split into slots of this many
  int cpus_per_task = 4;
  std::string partition, time_limit, memory, account;
  std::string gpu_type;                     // --gres=gpu:<type>:<gpus_per_task> when set
  std::vector<std::string> sbatch_options;  // more sbatch options, "constraint=a100" or "--qos=high"
  double give_up_seconds = 600;             // a worker exits if the coordinator stays unreachable this long
  int signal_grace_seconds = 90;            // USR1 this long before the time limit
  double idle_exit_seconds = 60;            // a worker offered nothing this long leaves
  int retire_after_failures = 3;            // a worker stops after this many different jobs failed in a row
  bool allow_loopback = false;              // a coordinator on 127.0.0.1: only for a one-node Slurm
};

// How many array tasks to start: at most `options.tasks`, and no more than `runnable_jobs` (the jobs left to
// run) fill, each task running one job per slot (gpus_per_task / devices_per_job slots, 1 on CPUs): a task
// beyond that would only hold its node until the queue is empty. 0 when nothing is left to run.
int tasks_worth_starting(const SlurmOptions& options, int runnable_jobs);

// UsageError naming the first bad option. A coordinator at a loopback address is refused (the compute
// nodes cannot reach it) unless allow_loopback.
void check_slurm_options(const SlurmOptions& options);

// The sbatch script (the options checked as above).
std::string slurm_script(const SlurmOptions& options);

// Writes the script to `path` and submits it with `sbatch --parsable`; returns the array job id.
std::string submit_slurm(const std::string& script, const std::string& path);

}  // namespace cfm
