// Coordinator overhead (not a test): N no-op jobs leased and reported by W in-process worker clients
// over loopback (TLS connections keyed by the token, framed JSON, one SQLite transaction per lease and
// per result), so the figure is the orchestration cost per job without any job process. Then what one
// connection costs to set up (TCP connect, TLS handshake, hello: what a worker, `cfm submit` or
// `cfm status` pays once), beside a bare TCP connect, and raw SQLite result writes per second through
// JobStore::complete.
// Usage: cfm_coordinator_benchmark [jobs=10000] [workers=8]
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

#include "common/net/client.h"
#include "common/net/messages.h"
#include "common/util/sha256.h"
#include "orchestrator/coordinator.h"
#include "orchestrator/job_store.h"

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<cfm::JobSpec> noop_jobs(int n, const std::string& salt) {
  std::vector<cfm::JobSpec> jobs;
  for (int i = 0; i < n; ++i)
    jobs.push_back(
        {cfm::sha256_hex(salt + std::to_string(i)), {{"method", "noop"}, {"seed", i}}, {{"seed", i}}});
  return jobs;
}

cfm::net::JobResult fake_result() {
  return cfm::net::JobResult::from_json(
      {{"metrics", {{"i_auroc", 0.9}, {"p_auroc", 0.95}, {"aupro@0.3", 0.8}, {"aupro@0.01", 0.3}}},
       {"timings", {{"load", 0.1}, {"train", 10.0}, {"infer", 2.0}, {"total", 12.1}}},
       {"resources", {{"device", "cpu"}, {"peak_rss_bytes", 123456789}, {"parameters", 1000}}}});
}

// Median milliseconds of `connect()` over `n` runs.
template <typename Connect>
double median_ms(int n, Connect connect) {
  std::vector<double> ms;
  for (int i = 0; i < n; ++i) {
    auto start = Clock::now();
    connect();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - start).count());
  }
  std::nth_element(ms.begin(), ms.begin() + n / 2, ms.end());
  return ms[static_cast<std::size_t>(n / 2)];
}

}  // namespace

int main(int argc, char** argv) {
  int jobs = argc > 1 ? std::atoi(argv[1]) : 10000, workers = argc > 2 ? std::atoi(argv[2]) : 8;
  spdlog::set_level(spdlog::level::err);
  fs::path dir = fs::temp_directory_path() / fmt::format("cfm-coordinator-bench-{}", getpid());
  fs::create_directories(dir);

  cfm::CoordinatorOptions options;
  options.db_path = (dir / "bench.sqlite").string();
  options.runs_root = (dir / "runs").string();
  options.token = "benchmark-token-of-32-characters";
  cfm::Coordinator coordinator(options);
  coordinator.store().submit("bench", "", noop_jobs(jobs, "a"), 1, false, 0);
  std::thread server([&] { coordinator.run(); });

  auto start = Clock::now();
  std::vector<std::thread> clients;
  std::atomic<int> done{0};
  for (int w = 0; w < workers; ++w)
    clients.emplace_back([&, w] {
      cfm::net::Client client({"127.0.0.1", coordinator.port()}, options.token, fmt::format("bench-{}", w));
      while (true) {
        nlohmann::json reply = client.request(cfm::net::LeaseRequest{fmt::format("bench-{}", w)}.to_json());
        if (cfm::net::type_of(reply) != cfm::net::message_type::kJob) break;
        std::string lease_id = cfm::net::JobOfferMessage::parse(reply).lease_id;
        client.request(cfm::net::ResultReport{lease_id, fake_result()}.to_json());
        ++done;
      }
    });
  for (auto& c : clients) c.join();
  double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print(
      "coordinator: {} no-op jobs through {} workers in {:.2f} s = {:.0f} jobs/s ({:.2f} ms per job, lease + "
      "result)\n",
      done.load(), workers, seconds, done / seconds, 1000 * seconds / done);

  const int connections = 200;
  double tls = median_ms(connections, [&] {
    cfm::net::Client client({"127.0.0.1", coordinator.port()}, options.token, "bench-connect");
  });
  boost::asio::io_context io;
  double tcp = median_ms(connections, [&] {
    boost::asio::ip::tcp::socket socket(io);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), coordinator.port()});
  });
  fmt::print(
      "connection set-up (connect + TLS handshake + hello): median {:.3f} ms of {} (a bare TCP connect: "
      "{:.3f} ms)\n",
      tls, connections, tcp);
  coordinator.stop();
  server.join();

  cfm::JobStore store((dir / "direct.sqlite").string());
  store.submit("bench", "", noop_jobs(jobs, "b"), 1, false, 0);
  start = Clock::now();
  int written = 0;
  while (auto lease = store.lease("direct", "/runs", 60, 1))
    written += store.complete(lease->lease_id, fake_result(), 2);
  seconds = std::chrono::duration<double>(Clock::now() - start).count();
  fmt::print("sqlite: {} leases + results (one transaction each, WAL) in {:.2f} s = {:.0f} results/s\n",
             written, seconds, written / seconds);
  fs::remove_all(dir);
}
