#include "worker/worker.h"

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <thread>

#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/util/child_process.h"
#include "common/util/error.h"
#include "common/util/excerpt.h"

namespace fs = std::filesystem;
using nlohmann::json;

namespace cfm {
namespace {

std::atomic<bool> g_stop{false};

void on_signal(int) { g_stop = true; }

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

class Slot {
 public:
  Slot(const WorkerOptions& options, std::vector<std::string> devices, std::string name)
      : options_(options), devices_(std::move(devices)), name_(std::move(name)) {}

  // Returns false when the worker should stop with an error (authentication refused, coordinator gone).
  bool run() {
    while (!g_stop) {
      json reply = request(net::LeaseRequest{name_, static_cast<int>(devices_.size())}.to_json());
      if (g_stop) break;
      if (reply.is_null()) return false;
      if (net::type_of(reply) == net::message_type::kIdle) {
        if (options_.exit_when_done && idle_and_finished(reply)) return true;
        sleep_unless_stopped(options_.idle_poll_seconds);
        continue;
      }
      if (net::type_of(reply) == net::message_type::kJob) run_offer(reply);
    }
    return true;
  }

 private:
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
      spdlog::error("{}", error);
      if (!lease_id.empty()) request(net::FailureReport{lease_id, error, ""}.to_json());
    }
  }

  void run_job(const JobOffer& job) {
    const std::string& run_dir = job.run_dir;
    const std::string& lease_id = job.lease_id;
    const int attempt = job.attempt;
    const int world = job.config.value("devices_per_job", 1);
    if (world > static_cast<int>(devices_.size()))
      throw Error(fmt::format("the job needs {} devices, this slot has {}", world, devices_.size()));
    fs::create_directories(run_dir);
    std::string config_path = fmt::format("{}/config.json", run_dir);
    std::ofstream(config_path) << job.config.dump(2) << "\n";
    // Rank 0 keeps the single-device names (attempt-N.log, result-attempt-N.json); rank r > 0 adds -rank-r.
    auto rank_file = [&](const char* stem, int rank, const char* extension) {
      return fmt::format("{}/{}-{}{}.{}", run_dir, stem, attempt, rank ? fmt::format("-rank-{}", rank) : "",
                         extension);
    };
    const std::string rendezvous = fmt::format("{}/rendezvous-attempt-{}", run_dir, attempt);
    fs::remove(rendezvous);  // a file left by a killed attempt would confuse the new ranks
    std::vector<std::unique_ptr<ChildProcess>> ranks;
    for (int rank = 0; rank < world; ++rank) {
      fs::remove(rank_file("result-attempt", rank, "json"));
      std::vector<std::string> argv = {options_.cfm_binary, "job",
                                       "--config",          config_path,
                                       "--run-dir",         run_dir,
                                       "--result",          rank_file("result-attempt", rank, "json"),
                                       "--device",          devices_[static_cast<std::size_t>(rank)],
                                       "--attempt",         std::to_string(attempt)};
      if (!options_.cache_dir.empty()) argv.insert(argv.end(), {"--cache", options_.cache_dir});
      if (world > 1)
        argv.insert(argv.end(), {"--world-size", std::to_string(world), "--rank", std::to_string(rank),
                                 "--rendezvous", rendezvous});
      ranks.push_back(std::make_unique<ChildProcess>(argv, rank_file("attempt", rank, "log")));
    }
    spdlog::info("{}: job {} attempt {} on {} (log {})", name_, job.key.substr(0, 12), attempt,
                 fmt::join(devices_.begin(), devices_.begin() + world, ","), rank_file("attempt", 0, "log"));
    double heartbeat = job.heartbeat_seconds;
    auto last_beat = Clock::now();
    std::vector<std::optional<int>> status(ranks.size());
    while (true) {
      bool all_done = true;
      std::optional<std::size_t>
          failed;  // a rank killed by a signal is the cause; its partners' errors follow
      for (std::size_t r = 0; r < ranks.size(); ++r) {
        if (!status[r]) status[r] = ranks[r]->poll();
        all_done = all_done && status[r].has_value();
        if (status[r] && !(WIFEXITED(*status[r]) && WEXITSTATUS(*status[r]) == 0) &&
            (!failed || WIFSIGNALED(*status[r])))
          failed = r;
      }
      if (failed) {
        // The other ranks cannot finish without this one: stop them now, not at their timeout.
        for (auto& process : ranks) process->terminate();
        report(*status[*failed], lease_id, "", rank_file("attempt", static_cast<int>(*failed), "log"));
        return;
      }
      if (all_done) break;
      if (g_stop) {
        for (auto& process : ranks) process->terminate();
        request(net::Release{lease_id}.to_json());
        spdlog::info("{}: stopped; lease returned", name_);
        return;
      }
      if (std::chrono::duration<double>(Clock::now() - last_beat).count() >= heartbeat) {
        json reply = request(net::Heartbeat{lease_id}.to_json());
        last_beat = Clock::now();
        if (reply.is_object() && reply.contains("valid") && reply["valid"] == false) {
          spdlog::warn("{}: the coordinator no longer holds this lease (expired); stopping the job", name_);
          for (auto& process : ranks) process->terminate();
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    std::vector<std::string> other_results;
    for (int rank = 1; rank < world; ++rank)
      other_results.push_back(rank_file("result-attempt", rank, "json"));
    report(*status[0], lease_id, rank_file("result-attempt", 0, "json"), rank_file("attempt", 0, "log"),
           other_results);
  }

  // `other_results`: the result files of ranks 1.. (their resources go into resources.ranks).
  void report(int status, const std::string& lease_id, const std::string& result_path,
              const std::string& log_path, const std::vector<std::string>& other_results = {}) {
    std::string log = tail_of(log_path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      std::optional<json> result = read_result(result_path);
      json ranks = json::array();
      for (const std::string& path : other_results) {
        std::optional<json> other = read_result(path);
        if (other && other->contains("resources")) ranks.push_back((*other)["resources"]);
      }
      if (result) {
        if (!other_results.empty()) (*result)["resources"]["ranks"] = ranks;
        request(net::ResultReport{lease_id, *result}.to_json());
        return;
      }
      request(net::FailureReport{lease_id, "the job ended without a readable result file " + result_path, log}
                  .to_json());
      return;
    }
    std::string reason = excerpt(error_line(log), 2000);
    std::string error = describe_wait_status(status) + (reason.empty() ? "" : ": " + reason);
    spdlog::warn("{}: job failed ({})", name_, error);
    request(net::FailureReport{lease_id, error, log}.to_json());
  }

  static std::optional<json> read_result(const std::string& path) {
    std::ifstream in(path);
    json result = json::parse(in, nullptr, false);
    if (!in || result.is_discarded() || !result.is_object()) return std::nullopt;
    return result;
  }

  const WorkerOptions& options_;
  std::vector<std::string> devices_;
  std::string name_;
  std::unique_ptr<net::Client> client_;
};

}  // namespace

int run_worker(const WorkerOptions& options) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  if (options.devices.empty()) throw UsageError("a worker needs at least one device");
  const auto group = static_cast<std::size_t>(options.devices_per_job);
  if (group < 1 || options.devices.size() % group != 0)
    throw UsageError(fmt::format("{} devices do not split into slots of {} (--devices-per-job)",
                                 options.devices.size(), options.devices_per_job));
  const std::size_t slots = options.devices.size() / group;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (std::size_t i = 0; i < slots; ++i) {
    std::string slot_name = slots == 1 ? options.name : fmt::format("{}/{}", options.name, i);
    std::vector<std::string> devices(options.devices.begin() + static_cast<std::ptrdiff_t>(i * group),
                                     options.devices.begin() + static_cast<std::ptrdiff_t>((i + 1) * group));
    threads.emplace_back([&, devices, slot_name] {
      try {
        Slot slot(options, devices, slot_name);
        if (!slot.run()) ++failures;
      } catch (const std::exception& e) {  // never std::terminate: the other slots keep their jobs
        spdlog::error("{}: slot stopped: {}", slot_name, e.what());
        ++failures;
      }
    });
  }
  for (auto& t : threads) t.join();
  return failures ? 1 : 0;
}

}  // namespace cfm
