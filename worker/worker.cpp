#include "worker/worker.h"

#include <fmt/format.h>
#include <signal.h>
#include <spdlog/spdlog.h>
#include <sys/wait.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <thread>

#include "common/net/messages.h"
#include "common/net/protocol_error.h"
#include "common/util/child_process.h"
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
  Slot(const WorkerOptions& options, std::string device, std::string name)
      : options_(options), device_(std::move(device)), name_(std::move(name)) {}

  // Returns false when the worker should stop with an error (authentication refused, coordinator gone).
  bool run() {
    while (!g_stop) {
      json reply = request(net::LeaseRequest{name_}.to_json());
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
    int attempt = job.attempt;
    fs::create_directories(run_dir);
    std::string config_path = fmt::format("{}/config.json", run_dir),
                result_path = fmt::format("{}/result-attempt-{}.json", run_dir, attempt);
    std::string log_path = fmt::format("{}/attempt-{}.log", run_dir, attempt);
    std::ofstream(config_path) << job.config.dump(2) << "\n";
    fs::remove(result_path);
    std::vector<std::string> argv = {options_.cfm_binary, "job",   "--config",  config_path,
                                     "--run-dir",         run_dir, "--result",  result_path,
                                     "--device",          device_, "--attempt", std::to_string(attempt)};
    if (!options_.cache_dir.empty()) argv.insert(argv.end(), {"--cache", options_.cache_dir});
    spdlog::info("{}: job {} attempt {} (log {})", name_, job.key.substr(0, 12), attempt, log_path);
    ChildProcess process(argv, log_path);
    double heartbeat = job.heartbeat_seconds;
    auto last_beat = Clock::now();
    std::optional<int> status;
    while (!(status = process.poll())) {
      if (g_stop) {
        process.terminate();
        request(net::Release{lease_id}.to_json());
        spdlog::info("{}: stopped; lease returned", name_);
        return;
      }
      if (std::chrono::duration<double>(Clock::now() - last_beat).count() >= heartbeat) {
        json reply = request(net::Heartbeat{lease_id}.to_json());
        last_beat = Clock::now();
        if (reply.is_object() && reply.contains("valid") && reply["valid"] == false) {
          spdlog::warn("{}: the coordinator no longer holds this lease (expired); stopping the job", name_);
          process.terminate();
          return;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    report(*status, lease_id, result_path, log_path);
  }

  void report(int status, const std::string& lease_id, const std::string& result_path,
              const std::string& log_path) {
    std::string log = tail_of(log_path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      std::ifstream in(result_path);
      json result = json::parse(in, nullptr, false);
      if (in && !result.is_discarded() && result.is_object()) {
        request(net::ResultReport{lease_id, result}.to_json());
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

  const WorkerOptions& options_;
  std::string device_, name_;
  std::unique_ptr<net::Client> client_;
};

}  // namespace

int run_worker(const WorkerOptions& options) {
  struct sigaction action {};
  action.sa_handler = on_signal;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  if (options.devices.empty()) throw UsageError("a worker needs at least one device");
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (std::size_t i = 0; i < options.devices.size(); ++i) {
    std::string slot_name =
        options.devices.size() == 1 ? options.name : fmt::format("{}/{}", options.name, i);
    threads.emplace_back([&, i, slot_name] {
      try {
        Slot slot(options, options.devices[i], slot_name);
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
