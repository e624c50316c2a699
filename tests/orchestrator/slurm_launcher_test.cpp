// The sbatch script `cfm launch slurm` writes, and the options it refuses (tests/slurm runs it on a real
// single-node Slurm).
#include "orchestrator/slurm_launcher.h"

#include <gtest/gtest.h>

#include "common/util/error.h"

namespace cfm {
namespace {

SlurmOptions gpu_options() {
  SlurmOptions o;
  o.grid_name = "g";
  o.coordinator = "10.0.0.1:7733";
  o.token_file = "/shared/token";
  o.cfm_binary = "/opt/cfm";
  o.log_dir = "/shared/logs";
  o.gpus_per_task = 4;
  return o;
}

bool has_line(const std::string& script, const std::string& line) {
  return script.find(line + "\n") != std::string::npos;
}

TEST(SlurmScript, TasksSplitTheirDevicesIntoSlotsOfTheLargestJob) {
  SlurmOptions o = gpu_options();
  o.devices_per_job = 2;
  std::string gpus = slurm_script(o);
  EXPECT_TRUE(has_line(gpus, "#SBATCH --gres=gpu:4")) << gpus;
  EXPECT_NE(gpus.find("--devices-per-job 2"), std::string::npos) << gpus;
  o.gpus_per_task = 3;
  EXPECT_THROW(slurm_script(o), UsageError);  // 3 GPUs do not make slots of 2
  o.gpus_per_task = 0;
  std::string cpus = slurm_script(o);
  EXPECT_TRUE(has_line(cpus, "devices=cpu,cpu")) << cpus;
  o.devices_per_job = 1;
  EXPECT_EQ(slurm_script(o).find("--devices-per-job"), std::string::npos);  // one-device grids as before
}

// Time limits, preemption and scancel must cost no attempt: USR1 reaches the worker (the batch shell it
// replaces) before the limit; the log survives a requeue; idle and broken tasks leave.
TEST(SlurmScript, WorkersAreWarnedBeforeTheLimitAppendTheirLogsAndLeaveWhenIdleOrBroken) {
  SlurmOptions o = gpu_options();
  o.signal_grace_seconds = 120;
  o.idle_exit_seconds = 45;
  o.retire_after_failures = 4;
  o.give_up_seconds = 300;
  std::string s = slurm_script(o);
  EXPECT_TRUE(has_line(s, "#SBATCH --signal=B:USR1@120")) << s;
  EXPECT_TRUE(has_line(s, "#SBATCH --open-mode=append")) << s;
  EXPECT_NE(s.find("\nexec '/opt/cfm' worker"), std::string::npos)
      << s;  // exec: the worker is the batch shell
  EXPECT_NE(s.find("--idle-exit 45 --retire-after-failures 4 --give-up 300"), std::string::npos) << s;
  EXPECT_NE(
      s.find(
          "--name \"slurm-${SLURM_ARRAY_JOB_ID}_${SLURM_ARRAY_TASK_ID}@${SLURMD_NODENAME:-$(hostname -s)}\""),
      std::string::npos)
      << s;
  o.signal_grace_seconds = 0;
  EXPECT_THROW(slurm_script(o), UsageError);
}

TEST(SlurmScript, ExtraSbatchOptionsAndTheGpuTypePassThrough) {
  SlurmOptions o = gpu_options();
  o.gpu_type = "a100";
  o.sbatch_options = {"constraint=a100&ib", "--qos=high", "exclusive"};
  std::string s = slurm_script(o);
  EXPECT_TRUE(has_line(s, "#SBATCH --gres=gpu:a100:4")) << s;
  EXPECT_TRUE(has_line(s, "#SBATCH --constraint=a100&ib")) << s;
  EXPECT_TRUE(has_line(s, "#SBATCH --qos=high")) << s;
  EXPECT_TRUE(has_line(s, "#SBATCH --exclusive")) << s;
  // What cannot be one #SBATCH line, and what the script sets itself, are refused by name.
  for (const char* bad : {"-C a100", "qos=high\n#SBATCH --x", "comment=two words", "", "array=0-99",
                          "--signal=B:TERM@10", "open-mode=truncate"}) {
    o.sbatch_options = {bad};
    try {
      slurm_script(o);
      ADD_FAILURE() << "accepted '" << bad << "'";
    } catch (const UsageError& e) {
      EXPECT_NE(std::string(e.what()).find("--sbatch-option"), std::string::npos) << e.what();
    }
  }
  o.sbatch_options = {};
  o.gpu_type = "a100:2";
  EXPECT_THROW(slurm_script(o), UsageError);
  o.gpu_type = "a100";
  o.gpus_per_task = 0;
  EXPECT_THROW(slurm_script(o), UsageError);  // a GPU type without GPUs
}

TEST(SlurmScript, ALoopbackCoordinatorIsRefusedWithWhatToDo) {
  SlurmOptions o = gpu_options();
  for (const char* address : {"127.0.0.1:7733", "localhost:7733", "[::1]:7733", "127.0.1.1:7733"}) {
    o.coordinator = address;
    try {
      slurm_script(o);
      ADD_FAILURE() << "accepted " << address;
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("loopback"), std::string::npos) << message;
      EXPECT_NE(message.find("--address-file"), std::string::npos) << message;
    }
  }
  o.coordinator = "127.0.0.1:7733";
  o.allow_loopback = true;  // a one-node Slurm on this machine
  EXPECT_NO_THROW(slurm_script(o));
}

// No more array tasks than the jobs left to run fill, one job per slot; none when nothing is left.
TEST(SlurmTasks, NoMoreTasksThanTheJobsLeftFill) {
  SlurmOptions o;
  o.tasks = 10;
  EXPECT_EQ(tasks_worth_starting(o, 3), 3);    // CPU tasks: one slot each
  EXPECT_EQ(tasks_worth_starting(o, 40), 10);  // never more than --tasks
  EXPECT_EQ(tasks_worth_starting(o, 0), 0);
  o.gpus_per_task = 4;  // four slots per task
  EXPECT_EQ(tasks_worth_starting(o, 9), 3);
  o.devices_per_job = 2;  // two slots of two GPUs
  EXPECT_EQ(tasks_worth_starting(o, 9), 5);
  EXPECT_EQ(tasks_worth_starting(o, 1), 1);
}

}  // namespace
}  // namespace cfm
