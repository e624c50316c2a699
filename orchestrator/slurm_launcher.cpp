#include "orchestrator/slurm_launcher.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

#include "common/net/client.h"
#include "common/net/host_address.h"
#include "common/util/child_process.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"

namespace cfm {
namespace {

// Single-quoted for bash.
std::string quoted(const std::string& s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// Options the script sets itself: passing them again would break what it relies on.
const std::vector<std::string> kScriptOptions = {"array",  "output",    "job-name",     "ntasks",
                                                 "signal", "open-mode", "cpus-per-task"};

// "constraint=a100" or "--constraint=a100" -> "--constraint=a100"; UsageError for what cannot be one
// #SBATCH line of a long option, or for an option the script sets itself.
std::string sbatch_line_option(const std::string& option) {
  std::string o = option.rfind("--", 0) == 0 ? option.substr(2) : option;
  const std::string name = o.substr(0, o.find('='));
  if (name.empty() || name.front() == '-' ||
      name.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos ||
      o.find_first_of(" \t\n\r") != std::string::npos)
    throw UsageError(fmt::format(
        "--sbatch-option '{}' is not a long sbatch option (write it as NAME=VALUE, e.g. constraint=a100)",
        option));
  if (std::find(kScriptOptions.begin(), kScriptOptions.end(), name) != kScriptOptions.end())
    throw UsageError(fmt::format(
        "--sbatch-option '{}': the script sets --{} itself (see cfm launch slurm --help)", option, name));
  return "--" + o;
}

}  // namespace

int tasks_worth_starting(const SlurmOptions& o, int runnable_jobs) {
  const int slots =
      o.gpus_per_task > 0 && o.devices_per_job > 0 ? std::max(1, o.gpus_per_task / o.devices_per_job) : 1;
  const int needed = (std::max(0, runnable_jobs) + slots - 1) / slots;
  return std::min(o.tasks, needed);
}

void check_slurm_options(const SlurmOptions& o) {
  if (o.tasks < 1) throw UsageError("--tasks must be at least 1");
  if (o.throttle < 0 || o.gpus_per_task < 0 || o.cpus_per_task < 1)
    throw UsageError("--throttle, --gpus-per-task must be >= 0 and --cpus-per-task >= 1");
  if (o.coordinator.empty() || o.token_file.empty())
    throw UsageError("the workers need --coordinator and --token-file");
  if (o.devices_per_job < 1 || (o.gpus_per_task && o.gpus_per_task % o.devices_per_job != 0))
    throw UsageError(
        fmt::format("--gpus-per-task {} does not split into jobs of {} devices (devices_per_job)",
                    o.gpus_per_task, o.devices_per_job));
  if (o.signal_grace_seconds < 1 || o.signal_grace_seconds > 65535)
    throw UsageError("--signal-grace must be between 1 and 65535 seconds");
  if (!o.gpu_type.empty() &&
      (o.gpus_per_task == 0 || o.gpu_type.find_first_of(":,= \n") != std::string::npos))
    throw UsageError(fmt::format(
        "--gpu-type '{}' needs --gpus-per-task and a plain type name (a100, h100...)", o.gpu_type));
  for (const std::string& option : o.sbatch_options) sbatch_line_option(option);
  const std::string host = net::parse_endpoint(o.coordinator).host;
  if (!o.allow_loopback && net::is_loopback_host(host))
    throw UsageError(fmt::format(
        "--coordinator {}: {} is this machine's loopback address, which the compute nodes cannot reach. Run "
        "`cfm serve --listen 0.0.0.0:7733 --address-file coordinator.txt` on a host they reach (a login "
        "node, "
        "or a Slurm job of its own: docs/cluster.md) and pass --coordinator $(cat coordinator.txt); "
        "--allow-loopback if every task runs on this machine",
        o.coordinator, host));
}

std::string slurm_script(const SlurmOptions& o) {
  check_slurm_options(o);
  std::string name = "cfm-" + o.grid_name;
  std::string s = "#!/bin/bash\n";
  s += fmt::format("#SBATCH --job-name={}\n", name);
  s += fmt::format("#SBATCH --array=0-{}{}\n", o.tasks - 1, o.throttle ? fmt::format("%{}", o.throttle) : "");
  s += fmt::format("#SBATCH --output={}/%x-%A_%a.out\n", o.log_dir);
  s += fmt::format("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
  if (o.gpus_per_task)
    s +=
        fmt::format("#SBATCH --gres=gpu:{}{}\n", o.gpu_type.empty() ? "" : o.gpu_type + ":", o.gpus_per_task);
  if (!o.partition.empty()) s += fmt::format("#SBATCH --partition={}\n", o.partition);
  if (!o.time_limit.empty()) s += fmt::format("#SBATCH --time={}\n", o.time_limit);
  if (!o.memory.empty()) s += fmt::format("#SBATCH --mem={}\n", o.memory);
  if (!o.account.empty()) s += fmt::format("#SBATCH --account={}\n", o.account);
  // USR1 to the worker (the batch shell it replaces) before the time limit: it returns its leases.
  s += fmt::format("#SBATCH --signal=B:USR1@{}\n#SBATCH --open-mode=append\n", o.signal_grace_seconds);
  for (const std::string& option : o.sbatch_options) s += "#SBATCH " + sbatch_line_option(option) + "\n";
  s += "# Written by `cfm launch slurm`: each array task is one cfm worker.\nset -euo pipefail\n";
  if (o.gpus_per_task) {
    s += fmt::format("devices=$(seq -s, -f 'cuda:%g' 0 {})\n", o.gpus_per_task - 1);
  } else {  // CPU ranks: one "cpu" device per rank
    s += fmt::format("devices={}\n", fmt::join(std::vector<std::string>(o.devices_per_job, "cpu"), ","));
  }
  s += fmt::format("exec {} worker --coordinator {} --token-file {} --devices \"$devices\" \\\n",
                   quoted(o.cfm_binary), quoted(o.coordinator), quoted(o.token_file));
  if (o.devices_per_job > 1) s += fmt::format("  --devices-per-job {} \\\n", o.devices_per_job);
  s += fmt::format(
      "  --name \"slurm-${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}@${{SLURMD_NODENAME:-$(hostname "
      "-s)}}\" "
      "\\\n  --exit-when-done --idle-exit {} --retire-after-failures {} --give-up {}",
      o.idle_exit_seconds, o.retire_after_failures, o.give_up_seconds);
  if (!o.cache_dir.empty()) s += " --cache " + quoted(o.cache_dir);
  return s + "\n";
}

std::string submit_slurm(const std::string& script, const std::string& path) {
  std::filesystem::create_directories(std::filesystem::path(path).parent_path());
  write_whole_file(path, script);
  const std::string log = path + ".sbatch.log";
  std::filesystem::remove(log);
  const int status = run_program({"sbatch", "--parsable", path}, log);
  std::string output = read_whole_file(log, "sbatch's output");
  while (!output.empty() && (output.back() == '\n' || output.back() == '\r')) output.pop_back();
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
    throw Error(
        "sbatch refused " + path +
        (WIFEXITED(status) && WEXITSTATUS(status) == 127 ? " (sbatch not found: is Slurm installed?)" : "") +
        ": " + output);
  std::filesystem::remove(log);
  return output.substr(0, output.find(';'));  // "jobid;cluster" on federated clusters
}

}  // namespace cfm
