#include "worker/worker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <set>
#include <thread>

#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/settings/device_slots.h"
#include "common/util/child_process.h"
#include "common/util/error.h"
#include "common/util/excerpt.h"
#include "common/util/host_name.h"
#include "common/util/threads.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cfm {
namespace {

std::atomic<int> g_stop{0};  // the signal that asked the worker to stop (0: none)

void on_signal(int signal) { g_stop = signal; }

using Clock = std::chrono::steady_clock;

void sleep_unless_stopped(double seconds) {
  auto end = Clock::now() + std::chrono::duration<double>(seconds);
  while (!g_stop && Clock::now() < end) std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

std::string tail_of(const std::string& path, std::size_t bytes = 4000) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return "";
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::size_t>(in.tellg());
  in.seekg(static_cast<std::streamoff>(size > bytes ? size - bytes : 0));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

// The last "cfm: error:" line of a job log: the job's own one-line explanation.
std::string error_line(const std::string& log) {
  auto at = log.rfind("cfm: error: ");
  if (at == std::string::npos) return "";
  return log.substr(at + 12, log.find('\n', at) - at - 12);
}

// Slurm signals every process of a cancelled or timed-out task at once: a rank killed by SIGTERM just
// before the worker hears its own signal was stopped with the worker, not broken.
bool stopped_with_the_worker(int status) {
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM) return false;
  sleep_unless_stopped(2.0);
  return g_stop != 0;
}

// The `cfm job` processes of one attempt, one per rank (one alone for a single-device job), with their
// files: rank 0 logs to attempt-N.log and writes the job's result to result.json (the run folder's one
// result, removed when an attempt starts); rank r > 0 adds -rank-r (attempt-N-rank-r.log,
// result-attempt-N-rank-r.json). The ranks of a multi-device job run on this node and meet through a
// rendezvous file in its temporary folder: local storage, where the file store's locks work (a shared
// file system may not offer them).
class RankProcesses {
 public:
  RankProcesses(const WorkerOptions& options, const JobOffer& job, const std::vector<std::string>& devices,
                int world)
      : run_dir_(job.run_dir),
        attempt_(job.attempt),
        rendezvous_(
            (fs::temp_directory_path() / fmt::format("cfm-rendezvous-{}-attempt-{}", job.key, attempt_))
                .string()),
        status_(static_cast<std::size_t>(world)) {
    fs::remove(rendezvous_);  // a file left by a killed attempt would confuse the new ranks
    for (int rank = 0; rank < world; ++rank) {
      fs::remove(result(rank));
      std::vector<std::string> argv = {
          options.cfm_binary,
          "job",
          "--config",
          run_dir_ + "/config.json",
          "--run-dir",
          run_dir_,
          "--result",
          result(rank),
          "--device",
          devices[static_cast<std::size_t>(rank)],
          "--attempt",
          std::to_string(attempt_),
          "--sharing-processes",
          std::to_string(options.sharing_processes > 0 ? options.sharing_processes : options.devices.size())};
      if (!options.cache_dir.empty()) argv.insert(argv.end(), {"--cache", options.cache_dir});
      if (world > 1)
        argv.insert(argv.end(), {"--world-size", std::to_string(world), "--rank", std::to_string(rank),
                                 "--rendezvous", rendezvous_});
      processes_.push_back(std::make_unique<ChildProcess>(argv, log(rank)));
    }
  }

  ~RankProcesses() {
    stop();
    std::error_code ignored;
    fs::remove(rendezvous_, ignored);
  }
  RankProcesses(const RankProcesses&) = delete;
  RankProcesses& operator=(const RankProcesses&) = delete;

  std::string log(int rank) const { return file("attempt", rank, "log"); }
  std::string result(int rank) const {
    return rank == 0 ? run_dir_ + "/result.json" : file("result-attempt", rank, "json");
  }

  struct Outcome {
    int rank;    // the rank whose exit decides the attempt
    int status;  // its wait status
    bool failed;
  };
  // Nothing while the ranks run and none failed. Then the first failed rank -- one killed by a signal
  // before one that exited with an error (its partners' errors follow from it) -- or rank 0 once every
  // rank exited 0.
  std::optional<Outcome> outcome() {
    std::optional<Outcome> failure;
    bool all_done = true;
    for (std::size_t r = 0; r < processes_.size(); ++r) {
      if (!status_[r]) status_[r] = processes_[r]->poll();
      if (!status_[r]) {
        all_done = false;
        continue;
      }
      const int status = *status_[r];
      if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0) && (!failure || WIFSIGNALED(status)))
        failure = Outcome{static_cast<int>(r), status, true};
    }
    if (failure) return failure;
    if (all_done) return Outcome{0, *status_[0], false};
    return std::nullopt;
  }

  void stop() {
    for (auto& process : processes_) process->terminate();
  }

 private:
  std::string file(const char* stem, int rank, const char* extension) const {
    return fmt::format("{}/{}-{}{}.{}", run_dir_, stem, attempt_, rank ? fmt::format("-rank-{}", rank) : "",
                       extension);
  }
  std::string run_dir_;
  int attempt_;
  std::string rendezvous_;
  std::vector<std::unique_ptr<ChildProcess>> processes_;
  std::vector<std::optional<int>> status_;
};

class Slot {
 public:
  Slot(const WorkerOptions& options, std::vector<std::string> devices, std::string name)
      : options_(options), devices_(std::move(devices)), name_(std::move(name)) {}

  // Returns false when the worker should stop with an error (authentication refused, coordinator gone).
  bool run() {
    auto idle_since = Clock::now();
    while (!g_stop) {
      json reply = request(net::LeaseRequest{name_, static_cast<int>(devices_.size())}.to_json());
      if (g_stop) {
        return_unstarted(reply);
        break;
      }
      if (reply.is_null()) return false;
      if (net::type_of(reply) == net::message_type::kIdle) {
        if (options_.exit_when_done && idle_and_finished(reply)) return true;
        const double idle = std::chrono::duration<double>(Clock::now() - idle_since).count();
        if (options_.idle_exit_seconds > 0 && idle >= options_.idle_exit_seconds) {
          spdlog::info("{}: nothing to run for {:.0f} s; leaving (--idle-exit)", name_, idle);
          return true;
        }
        sleep_unless_stopped(options_.idle_poll_seconds);
        continue;
      }
      if (net::type_of(reply) == net::message_type::kJob) run_offer(reply);
      if (!retirement_.empty()) {
        spdlog::error("{}", retirement_);
        return false;
      }
      idle_since = Clock::now();
    }
    if (g_stop) spdlog::info("{}: stopping on signal {} ({})", name_, g_stop.load(), strsignal(g_stop));
    return true;
  }

 private:
  // A job leased just as the worker was told to stop goes back at once, not when its lease expires (an
  // expired lease would cost the job an attempt).
  void return_unstarted(const json& reply) {
    if (!reply.is_object() || net::type_of(reply) != net::message_type::kJob) return;
    try {
      return_lease(offer_lease_id(reply));
    } catch (const std::exception& e) {
      spdlog::warn("{}: {}", name_, e.what());
    }
  }

  // The worker is stopping: the job goes back to the queue without costing an attempt.
  void return_lease(const std::string& lease_id) {
    request(net::Release{lease_id}.to_json());
    spdlog::info("{}: stopped; lease returned", name_);
  }

  bool idle_and_finished(const json& reply) {
    try {
      return net::Idle::parse(reply).finished;
    } catch (const net::ProtocolError& e) {
      spdlog::warn("{}: {}", name_, e.what());
      return false;
    }
  }

  // One request with reconnection and back-off; null when giving up.
  json request(const json& message) {
    double backoff = 0.5;
    auto first_failure = Clock::now();
    while (true) {
      try {
        if (!client_) client_ = std::make_unique<net::Client>(options_.coordinator, options_.token, name_);
        return client_->request(message);
      } catch (const net::ConnectionError& e) {
        client_.reset();
        double down = std::chrono::duration<double>(Clock::now() - first_failure).count();
        if (options_.give_up_seconds > 0 && down > options_.give_up_seconds) {
          spdlog::error("{}: coordinator unreachable for {:.0f} s, giving up: {}", name_, down, e.what());
          return json();
        }
        if (g_stop) return json();  // shutting down: an unreported lease simply expires
        spdlog::warn("{}: {} (retrying in {:.1f} s)", name_, e.what(), backoff);
        sleep_unless_stopped(backoff);
        backoff = std::min(backoff * 2, 30.0);
      } catch (const net::ProtocolError& e) {
        client_.reset();
        spdlog::error("{}: {}", name_, e.what());
        return json();
      }
    }
  }

  // Checks the offer, then runs it; whatever goes wrong fails this job and leaves the slot running.
  void run_offer(const json& job) {
    std::string lease_id;
    try {
      lease_id = offer_lease_id(job);
      run_job(check_job_offer(job, options_.folders));
    } catch (const std::exception& e) {
      std::string error =
          fmt::format("worker {} refused or could not run the job: {}", name_, excerpt(e.what(), 2000));
      // A refused offer says nothing about this slot's device; anything else counts against it.
      if (!dynamic_cast<const JobRefused*>(&e)) error += count_failure(job.value("key", std::string()));
      spdlog::error("{}", error);
      if (!lease_id.empty()) request(net::FailureReport{lease_id, error, ""}.to_json());
    }
  }

  // Counts a failed job against this slot. When retire_after_failures different jobs have failed in a
  // row, the slot retires: returns the note its last failure report carries (worker, host, devices),
  // else "". A success clears the count.
  std::string count_failure(const std::string& key) {
    if (options_.retire_after_failures <= 0) return "";
    failed_in_a_row_.insert(key);
    if (static_cast<int>(failed_in_a_row_.size()) < options_.retire_after_failures) return "";
    retirement_ = fmt::format(
        "worker {} on {} stops leasing for {}: {} different jobs failed there in a row "
        "(--retire-after-failures)",
        name_, host_name(), fmt::join(devices_, ","), failed_in_a_row_.size());
    return " [" + retirement_ + "]";
  }

  void run_job(const JobOffer& job) {
    const int world = job.config.value("devices_per_job", 1);
    if (world > static_cast<int>(devices_.size()))
      throw Error(fmt::format("the job needs {} devices, this slot has {}", world, devices_.size()));
    fs::create_directories(job.run_dir);
    write_whole_file(job.run_dir + "/config.json", job.config.dump(2) + "\n");
    RankProcesses ranks(options_, job, devices_, world);
    spdlog::info("{}: job {} attempt {} on {} (log {})", name_, job.key.substr(0, 12), job.attempt,
                 fmt::join(devices_.begin(), devices_.begin() + world, ","), ranks.log(0));
    double heartbeat = job.heartbeat_seconds;
    auto last_beat = Clock::now();
    std::optional<RankProcesses::Outcome> outcome;
    while (!(outcome = ranks.outcome())) {
      if (g_stop) {
        ranks.stop();
        return return_lease(job.lease_id);
      }
      if (std::chrono::duration<double>(Clock::now() - last_beat).count() >= heartbeat) {
        json reply = request(net::Heartbeat{job.lease_id}.to_json());
        last_beat = Clock::now();
        if (reply.is_object() && reply.contains("valid") && reply["valid"] == false) {
          spdlog::warn("{}: the coordinator no longer holds this lease (expired); stopping the job", name_);
          ranks.stop();
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (outcome->failed) {
      ranks.stop();  // the other ranks cannot finish without this one: now, not at their timeout
      if (stopped_with_the_worker(outcome->status)) return return_lease(job.lease_id);
      return report(outcome->status, job, "", ranks.log(outcome->rank));
    }
    std::vector<std::string> other_results;
    for (int rank = 1; rank < world; ++rank) other_results.push_back(ranks.result(rank));
    report(outcome->status, job, ranks.result(0), ranks.log(0), other_results);
  }

  // `other_results`: the result files of ranks 1.. (their resources go into resources.ranks).
  void report(int status, const JobOffer& job, const std::string& result_path, const std::string& log_path,
              const std::vector<std::string>& other_results = {}) {
    const std::string& lease_id = job.lease_id;
    std::string log = tail_of(log_path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      try {
        net::JobResult result = net::JobResult::from_json(read_json(result_path));
        std::vector<net::RankResources> ranks;
        for (const std::string& path : other_results)
          ranks.push_back(net::RankResources::from_json(read_json(path)));
        if (!ranks.empty()) net::add_rank_resources(result, std::move(ranks));
        request(net::ResultReport{lease_id, result}.to_json());
        failed_in_a_row_.clear();
      } catch (const std::exception& e) {
        request(net::FailureReport{
            lease_id,
            std::string("the job ended without a readable result: ") + e.what() + count_failure(job.key), log}
                    .to_json());
      }
      return;
    }
    std::string reason = excerpt(error_line(log), 2000);
    std::string error =
        describe_wait_status(status) + (reason.empty() ? "" : ": " + reason) + count_failure(job.key);
    spdlog::warn("{}: job failed ({})", name_, error);
    request(net::FailureReport{lease_id, error, log}.to_json());
  }

  // A result file `cfm job` wrote (Error naming it when it is missing or not JSON).
  static json read_json(const std::string& path) {
    json j = json::parse(read_whole_file(path, "the result file"), nullptr, false);
    if (j.is_discarded()) throw FormatError(path, "not JSON");
    return j;
  }

  const WorkerOptions& options_;
  std::vector<std::string> devices_;
  std::string name_;
  std::unique_ptr<net::Client> client_;
  std::set<std::string> failed_in_a_row_;  // keys of the jobs failed since this slot's last success
  std::string retirement_;                 // why this slot stopped leasing ("" while it leases)
};

}  // namespace

int run_worker(const WorkerOptions& options) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
  if (options.devices.empty()) throw UsageError("a worker needs at least one device");
  const std::vector<std::vector<std::string>> slot_devices =
      device_slots(options.devices, options.devices_per_job);
  if (slot_devices.empty())
    throw UsageError(fmt::format("{} devices do not split into slots of {} (--devices-per-job)",
                                 options.devices.size(), options.devices_per_job));
  const std::size_t slots = slot_devices.size();
  // One thread per slot. A slot's job failures are reported to the coordinator inside the slot (the slot
  // goes on leasing); what escapes a slot ends that slot only, never the worker's other slots.
  std::vector<std::unique_ptr<BackgroundThread>> threads;
  std::vector<std::string> names;
  std::atomic<int> failures{0};
  for (std::size_t i = 0; i < slots; ++i) {
    names.push_back(slots == 1 ? options.name : fmt::format("{}/{}", options.name, i));
    threads.push_back(std::make_unique<BackgroundThread>([&, devices = slot_devices[i], name = names.back()] {
      Slot slot(options, devices, name);
      if (!slot.run()) ++failures;
    }));
  }
  for (std::size_t i = 0; i < threads.size(); ++i) {
    try {
      threads[i]->join();
    } catch (const std::exception& e) {
      spdlog::error("{}: slot stopped: {}", names[i], e.what());
      ++failures;
    } catch (...) {
      spdlog::error("{}: slot stopped by an exception of unknown type", names[i]);
      ++failures;
    }
  }
  return failures ? 1 : 0;
}

}  // namespace cfm
