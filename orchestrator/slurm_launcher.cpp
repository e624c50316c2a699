#include "orchestrator/slurm_launcher.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <string>
#include <vector>

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
}

std::string slurm_script(const SlurmOptions& o) {
  check_slurm_options(o);
  std::string name = "cfm-" + o.grid_name;
  std::string s = "#!/bin/bash\n";
  s += fmt::format("#SBATCH --job-name={}\n", name);
  s += fmt::format("#SBATCH --array=0-{}{}\n", o.tasks - 1, o.throttle ? fmt::format("%{}", o.throttle) : "");
  s += fmt::format("#SBATCH --output={}/%x-%A_%a.out\n", o.log_dir);
  s += fmt::format("#SBATCH --ntasks=1\n#SBATCH --cpus-per-task={}\n", o.cpus_per_task);
  if (o.gpus_per_task) s += fmt::format("#SBATCH --gres=gpu:{}\n", o.gpus_per_task);
  if (!o.partition.empty()) s += fmt::format("#SBATCH --partition={}\n", o.partition);
  if (!o.time_limit.empty()) s += fmt::format("#SBATCH --time={}\n", o.time_limit);
  if (!o.memory.empty()) s += fmt::format("#SBATCH --mem={}\n", o.memory);
  if (!o.account.empty()) s += fmt::format("#SBATCH --account={}\n", o.account);
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
      "  --name \"slurm-${{SLURM_ARRAY_JOB_ID}}_${{SLURM_ARRAY_TASK_ID}}\" --exit-when-done --give-up {}",
      o.give_up_seconds);
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
