// How a worker leaves (real processes on loopback): on Slurm's warning signal or with its job processes
// killed alongside it (a cancelled task) it returns its leases without costing an attempt; it leaves when
// nothing is offered for a while; it stops leasing when its device fails several different jobs in a row.
#include <signal.h>
#include <sys/wait.h>

#include <filesystem>
#include <sstream>

#include "orchestrator/cluster_fixture.h"

namespace cfm::test {
namespace {

// The processes whose parent is `parent` (from /proc/PID/stat: "pid (comm) state ppid ...").
std::vector<pid_t> children_of(pid_t parent) {
  std::vector<pid_t> children;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    std::ifstream stat(entry.path() / "stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) continue;
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    char state = 0;
    pid_t ppid = 0;
    if (rest >> state >> ppid && ppid == parent) children.push_back(std::stoi(entry.path().filename()));
  }
  return children;
}

class WorkerDeparture : public Cluster {
 protected:
  // Submits one noop job that sleeps 30 s with a budget of one attempt, and waits until `worker` runs it.
  void run_one_long_job(ChildProcess& worker) {
    std::ofstream(dir_ / "grid.yaml")
        << "name: one\nmax_attempts: 1\nfixed: {method: noop, sleep_ms: 30000}\n";
    ASSERT_EQ(run_command(fmt::format("{} submit {} --coordinator {} --token-file {}", kCfm,
                                      dir_ / "grid.yaml", address(), dir_ / "token"))
                  .exit_code,
              0);
    ASSERT_TRUE(wait_until([&] { return counts().running == 1; }, 20s));
    ASSERT_FALSE(worker.poll());
  }

  void expect_released_with_its_attempt_kept() {
    EXPECT_EQ(counts().pending, 1);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'released'"), 1);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'failed'"), 0);
    EXPECT_EQ(scalar("SELECT max_attempts - attempts FROM jobs"), 1);  // the budget of 1 still available
  }
};

TEST_F(WorkerDeparture, SlurmsWarningSignalReturnsTheLease) {
  start_coordinator();
  auto worker = start_worker("warned");
  run_one_long_job(*worker);
  kill(worker->pid(), SIGUSR1);  // what --signal=B:USR1@grace sends before the time limit
  int status = worker->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_wait_status(status);
  expect_released_with_its_attempt_kept();
  EXPECT_NE(log_of("warned").find("stopping on signal 10"), std::string::npos) << log_of("warned");
}

// scancel and preemption: Slurm sends SIGTERM to every process of the task, so the job process may die
// before the worker hears its own signal. That is a stop, not the job's failure.
TEST_F(WorkerDeparture, AJobProcessKilledWithItsWorkerIsReleasedNotFailed) {
  start_coordinator();
  auto worker = start_worker("cancelled");
  run_one_long_job(*worker);
  std::vector<pid_t> jobs = children_of(worker->pid());
  ASSERT_EQ(jobs.size(), 1u);
  kill(jobs[0], SIGTERM);
  std::this_thread::sleep_for(200ms);  // the worker sees its job end first
  kill(worker->pid(), SIGTERM);
  int status = worker->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_wait_status(status);
  expect_released_with_its_attempt_kept();
}

TEST_F(WorkerDeparture, AJobProcessKilledAloneStillFails) {
  start_coordinator();
  auto worker = start_worker("alone");
  run_one_long_job(*worker);
  std::vector<pid_t> jobs = children_of(worker->pid());
  ASSERT_EQ(jobs.size(), 1u);
  kill(jobs[0], SIGTERM);  // someone stopped the job, not the worker: it counts
  ASSERT_TRUE(wait_until([&] { return counts().failed == 1; }, 20s));
  EXPECT_EQ(
      scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'failed' AND error LIKE 'killed by signal 15%'"),
      1);
}

TEST_F(WorkerDeparture, AWorkerOfferedNothingLeavesWhileOthersStillRun) {
  start_coordinator();
  auto busy = start_worker("busy");
  run_one_long_job(*busy);
  auto start = std::chrono::steady_clock::now();
  auto idle = start_worker("idle", {"--idle-exit", "1"});
  int status = idle->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_wait_status(status);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_NE(log_of("idle").find("nothing to run for"), std::string::npos) << log_of("idle");
  EXPECT_FALSE(busy->poll());  // the other worker still runs its job
  EXPECT_EQ(counts().running, 1);
}

TEST_F(WorkerDeparture, ASlotWhoseJobsFailInARowStopsLeasingAndSaysWhere) {
  start_coordinator();
  std::ofstream(dir_ / "grid.yaml")
      << "name: broken\nmax_attempts: 2\nfixed: {method: noop, sleep_ms: 10, fail_attempts: 9}\n"
         "axes: {seed: [1, 2, 3, 4]}\n";
  ASSERT_EQ(run_command(fmt::format("{} submit {} --coordinator {} --token-file {}", kCfm, dir_ / "grid.yaml",
                                    address(), dir_ / "token"))
                .exit_code,
            0);
  auto worker = start_worker("sick", {"--retire-after-failures", "3"});
  int status = worker->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 1) << describe_wait_status(status);
  // The oldest pending job goes first, so the slot tried seed 1 twice (failed for good), seed 2 twice,
  // seed 3 once: three different jobs (a job retried on the slot counts once), then it stopped.
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'failed' AND worker = 'sick'"), 5);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT key) FROM attempts WHERE outcome = 'failed' AND worker = 'sick'"),
            3);
  EXPECT_EQ(
      scalar("SELECT COUNT(*) FROM attempts WHERE error LIKE '%worker sick on % stops leasing for cpu: 3 "
             "different jobs failed there in a row%'"),
      1);
  EXPECT_NE(log_of("sick").find("stops leasing"), std::string::npos) << log_of("sick");
  EXPECT_EQ(counts().failed, 2);
  EXPECT_EQ(counts().pending, 2);  // seeds 3 and 4 wait for a healthy worker
}

}  // namespace
}  // namespace cfm::test
