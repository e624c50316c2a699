#include "orchestrator/local_run.h"

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <thread>

#include "common/net/token_file.h"
#include "common/settings/device_slots.h"
#include "common/store/sqlite.h"
#include "common/util/child_process.h"
#include "common/util/error.h"
#include "common/util/progress_bar.h"
#include "common/util/threads.h"
#include "common/util/unix_time.h"
#include "orchestrator/coordinator.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::string write_token(const std::string& folder) {
  std::string path = (fs::path(folder) / ".local-token").string();
  net::write_new_token_file(path, true);
  return path;
}

}  // namespace

StateCounts run_grid_locally(const Grid& grid, const LocalRunOptions& o) {
  // Each local worker gets as many devices as the grid's largest job needs (one slot).
  const int per_job = largest_devices_per_job(grid);
  const std::vector<std::string> devices =
      o.devices.empty() ? std::vector<std::string>(static_cast<std::size_t>(o.workers), "cpu") : o.devices;
  const std::vector<std::vector<std::string>> slots = device_slots(devices, per_job);
  if (slots.empty())
    throw UsageError(fmt::format(
        "the grid's jobs run on up to {} devices each (devices_per_job), which {} local device(s) do not "
        "split into (--workers or --devices)",
        per_job, devices.size()));
  fs::create_directories(o.runs_root);
  if (fs::path(o.db_path).has_parent_path()) fs::create_directories(fs::path(o.db_path).parent_path());
  std::string token_file = write_token(o.runs_root);
  CoordinatorOptions co;
  co.db_path = o.db_path;
  co.runs_root = o.runs_root;
  co.token = net::read_token_file(token_file);
  co.allow_network_fs = o.allow_network_fs;
  Coordinator coordinator(co);
  SubmitSummary summary =
      coordinator.store().submit(grid.name, grid.yaml, grid.jobs, grid.max_attempts, o.force, unix_now());
  fmt::print("grid '{}': {} jobs ({} new, {} requeued, {} done before, {} already queued); database {}\n",
             grid.name, grid.jobs.size(), summary.added, summary.requeued, summary.already_done,
             summary.in_queue, o.db_path);
  std::fflush(stdout);
  JobStore monitor(o.db_path);  // a second connection: the coordinator's thread owns the first
  if (monitor.counts(grid.name).finished()) return monitor.counts(grid.name);

  // Whatever throws below, the coordinator is stopped and its thread joined (never a joinable thread
  // destroyed, which would std::terminate cfm run and leave its workers behind).
  BackgroundThread server([&] { coordinator.run(); }, [&] { coordinator.stop(); });
  std::vector<std::unique_ptr<ChildProcess>> workers;
  fs::create_directories(fs::path(o.runs_root) / "workers");
  for (std::size_t i = 0; i < slots.size(); ++i) {
    const std::vector<std::string>& group = slots[i];
    std::vector<std::string> argv = {o.cfm_binary,
                                     "worker",
                                     "--coordinator",
                                     fmt::format("127.0.0.1:{}", coordinator.port()),
                                     "--token-file",
                                     token_file,
                                     "--devices",
                                     fmt::format("{}", fmt::join(group, ",")),
                                     "--devices-per-job",
                                     std::to_string(per_job),
                                     "--name",
                                     fmt::format("local-{}", i),
                                     "--exit-when-done",
                                     "--sharing-processes",  // every local worker's jobs share the cores
                                     std::to_string(devices.size()),
                                     "--give-up",
                                     "60",
                                     "--runs",
                                     o.runs_root};
    if (!o.cache_dir.empty()) argv.insert(argv.end(), {"--cache", o.cache_dir});
    workers.push_back(std::make_unique<ChildProcess>(
        argv, (fs::path(o.runs_root) / "workers" / fmt::format("local-{}.log", i)).string()));
  }

  StateCounts start = monitor.counts(grid.name);
  std::size_t baseline = static_cast<std::size_t>(start.succeeded + start.failed);
  ProgressBar bar("grid " + grid.name, static_cast<std::size_t>(start.total()) - baseline,
                  o.progress ? stderr : nullptr);
  std::size_t shown = 0, shown_failed = 0;
  StateCounts now;
  while (true) {
    try {
      now = monitor.counts(grid.name);
    } catch (const StoreBusyError&) {  // another process holds the database: look again shortly
      std::this_thread::sleep_for(std::chrono::milliseconds(250));
      continue;
    }
    std::size_t done = static_cast<std::size_t>(now.succeeded + now.failed) - baseline;
    std::size_t failed = static_cast<std::size_t>(now.failed - start.failed);
    bar.set_note(fmt::format("{} running", now.leased + now.running));
    if (done > shown || failed > shown_failed) bar.advance(done - shown, failed - shown_failed);
    shown = done;
    shown_failed = failed;
    if (now.finished()) break;
    bool any_alive = std::any_of(workers.begin(), workers.end(), [](auto& w) { return !w->poll(); });
    if (!any_alive) {
      bar.finish();
      coordinator.stop();
      server.join();
      throw Error("every local worker exited before the grid finished; see " +
                  (fs::path(o.runs_root) / "workers").string() + "/*.log");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(250));
  }
  bar.finish();
  for (auto& w : workers) w->terminate();  // idle now: they return any lease of another grid and leave
  coordinator.stop();
  server.join();
  return now;
}

}  // namespace cfm
