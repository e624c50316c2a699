// Real processes on loopback: `cfm serve`, `cfm worker`s and `cfm submit`/`cfm status`, with faults:
// a worker killed mid-job, the coordinator killed and restarted, a wrong token, garbage frames.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>

#include <boost/asio.hpp>

#include <chrono>
#include <fstream>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "net/auth.h"
#include "net/frame.h"
#include "store/job_store.h"
#include "store/sqlite.h"
#include "test_support.h"
#include "util/child_process.h"

namespace cfm {
namespace {

using namespace std::chrono_literals;
const std::string kCfm = CFM_BINARY;

// One framed message out and one back on a raw socket (no client-side checks, unlike net::Client).
nlohmann::json request_reply(boost::asio::ip::tcp::socket& socket, const nlohmann::json& message) {
  boost::asio::write(socket, boost::asio::buffer(net::encode_frame(message)));
  std::array<unsigned char, 4> header{};
  boost::asio::read(socket, boost::asio::buffer(header));
  std::string body(net::frame_body_size(header), '\0');
  boost::asio::read(socket, boost::asio::buffer(body));
  return net::decode_body(body);
}

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    std::ofstream(dir_ / "token") << "s3cret-token\n";
    std::ofstream(dir_ / "wrong") << "guess\n";
  }

  void start_coordinator(int port = 0) {
    std::filesystem::remove(dir_ / "port");
    coordinator_ = std::make_unique<ChildProcess>(
        std::vector<std::string>{kCfm, "serve", "--db", dir_ / "r.sqlite", "--listen", fmt::format("127.0.0.1:{}", port), "--token-file",
                                 dir_ / "token", "--runs", dir_ / "runs", "--lease-seconds", "3", "--port-file", dir_ / "port"},
        dir_ / "coordinator.log");
    for (int i = 0; i < 200 && !std::filesystem::exists(dir_ / "port"); ++i) std::this_thread::sleep_for(25ms);
    std::ifstream(dir_ / "port") >> port_;
    ASSERT_GT(port_, 0) << "coordinator did not start";
  }

  std::string address() const { return fmt::format("127.0.0.1:{}", port_); }

  std::unique_ptr<ChildProcess> start_worker(const std::string& name) {
    return std::make_unique<ChildProcess>(
        std::vector<std::string>{kCfm, "worker", "--coordinator", address(), "--token-file", dir_ / "token", "--name", name}, dir_ / (name + ".log"));
  }

  test::CommandResult submit(const std::string& grid_yaml, const std::string& token = "token") {
    std::ofstream(dir_ / "grid.yaml") << grid_yaml;
    return test::run_command(fmt::format("{} submit {} --coordinator {} --token-file {}", kCfm, dir_ / "grid.yaml", address(), dir_ / token));
  }

  StateCounts counts() { return JobStore(dir_ / "r.sqlite").counts(); }

  bool wait_until(const std::function<bool()>& done, std::chrono::seconds limit = 60s) {
    auto end = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < end) {
      if (done()) return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  }

  int scalar(const std::string& sql) {
    Database db(dir_ / "r.sqlite");
    Statement s = db.prepare(sql);
    s.step();
    return static_cast<int>(s.integer(0));
  }

  static std::string noop_grid(int jobs, int sleep_ms) {
    std::string seeds;
    for (int i = 0; i < jobs; ++i) seeds += (i ? ", " : "") + std::to_string(i);
    return fmt::format("name: faults\nfixed: {{method: noop, sleep_ms: {}}}\naxes: {{seed: [{}]}}\n", sleep_ms, seeds);
  }

  test::TempDir dir_;
  std::unique_ptr<ChildProcess> coordinator_;
  int port_ = 0;
};

TEST_F(Cluster, GridOverTwoWorkersThenResubmissionRunsNothing) {
  start_coordinator();
  auto a = start_worker("wa"), b = start_worker("wb");
  auto s = submit(noop_grid(8, 300));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  EXPECT_NE(s.output.find("8 new"), std::string::npos) << s.output;
  ASSERT_TRUE(wait_until([&] { return counts().succeeded == 8; }));
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM results"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM metrics WHERE name = 'noop'"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM timings WHERE stage = 'total'"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT worker) FROM jobs"), 2);  // both workers took jobs
  int attempts = scalar("SELECT COUNT(*) FROM attempts");  // 8, more if a heavily loaded machine let a lease expire
  auto again = submit(noop_grid(8, 300));
  EXPECT_NE(again.output.find("0 new, 0 requeued, 8 done before"), std::string::npos) << again.output;
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM attempts"), attempts);  // nothing ran again
  auto status = test::run_command(fmt::format("{} status --coordinator {} --token-file {}", kCfm, address(), dir_ / "token"));
  EXPECT_NE(status.output.find("8 succeeded"), std::string::npos) << status.output;
}

TEST_F(Cluster, WorkerKilledMidJobIsRequeuedAndTheJobCompletesOnce) {
  start_coordinator();
  auto a = start_worker("doomed");
  ASSERT_EQ(submit(noop_grid(3, 2500)).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return counts().running == 1; }, 20s));
  kill(a->pid(), SIGKILL);
  a->wait();
  auto b = start_worker("rescuer");
  ASSERT_TRUE(wait_until([&] { return counts().succeeded == 3; }, 60s)) << "pending " << counts().pending;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM results"), 3);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'expired' AND worker = 'doomed'"), 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM (SELECT key FROM results GROUP BY key HAVING COUNT(*) > 1)"), 0);
}

TEST_F(Cluster, WorkerStoppedWithSigtermReturnsItsLeaseWithoutCostingAnAttempt) {
  start_coordinator();
  auto a = start_worker("leaving");
  std::ofstream(dir_ / "grid.yaml") << "name: one\nmax_attempts: 1\nfixed: {method: noop, sleep_ms: 30000}\n";
  ASSERT_EQ(test::run_command(fmt::format("{} submit {} --coordinator {} --token-file {}", kCfm, dir_ / "grid.yaml", address(), dir_ / "token")).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return counts().running == 1; }, 20s));
  auto start = std::chrono::steady_clock::now();
  kill(a->pid(), SIGTERM);
  int status = a->wait();
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << describe_wait_status(status);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);  // the 30 s job was stopped, not awaited
  EXPECT_EQ(counts().pending, 1);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM attempts WHERE outcome = 'released'"), 1);
  EXPECT_EQ(scalar("SELECT max_attempts - attempts FROM jobs"), 1);  // budget of 1 still available
}

TEST_F(Cluster, CoordinatorKilledAndRestartedFinishesTheGridWithNothingLostOrDuplicated) {
  start_coordinator();
  auto a = start_worker("wa"), b = start_worker("wb");
  ASSERT_EQ(submit(noop_grid(8, 700)).exit_code, 0);
  ASSERT_TRUE(wait_until([&] { return counts().succeeded >= 2; }));
  int port = port_;
  kill(coordinator_->pid(), SIGKILL);
  coordinator_->wait();
  std::this_thread::sleep_for(1s);  // workers see the connection drop and back off
  start_coordinator(port);
  ASSERT_TRUE(wait_until([&] { return counts().finished(); }, 90s));
  EXPECT_EQ(counts().succeeded, 8);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM results"), 8);
  EXPECT_EQ(scalar("SELECT COUNT(DISTINCT key) FROM results"), 8);
}

TEST_F(Cluster, WrongTokenAndGarbageFramesAreRefusedWithoutHarm) {
  start_coordinator();
  auto wrong = submit(noop_grid(2, 10), "wrong");
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_NE(wrong.output.find("token"), std::string::npos) << wrong.output;
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs"), 0);

  namespace asio = boost::asio;
  asio::io_context io;
  for (std::string garbage : {std::string("\xff\xff\xff\xffgarbage", 11), std::string("\0\0\0\x05hello", 9), std::string("GET / HTTP/1.1\r\n\r\n")}) {
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
    asio::write(socket, asio::buffer(garbage));
    boost::system::error_code error;
    std::array<char, 512> reply{};
    socket.read_some(asio::buffer(reply), error);  // the error frame, then the close
  }
  // A client with a wrong proof is refused by the coordinator (the real client already stops earlier,
  // when the coordinator's own proof does not match its token).
  {
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
    auto exchange = [&](const nlohmann::json& m) { return request_reply(socket, m); };
    EXPECT_EQ(exchange({{"type", "hello"}, {"name", "intruder"}, {"nonce", "abc"}})["type"], "challenge");
    nlohmann::json refused = exchange({{"type", "auth"}, {"proof", net::hmac_sha256_hex("guess", "whatever")}});
    EXPECT_EQ(refused["type"], "error");
  }
  // Authenticated but malformed or unknown messages are refused too.
  for (nlohmann::json bad : {nlohmann::json{{"type", "bogus"}}, nlohmann::json{{"type", "submit"}, {"grid", "g"}, {"jobs", 7}},
                             nlohmann::json{{"type", "heartbeat"}}}) {
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
    auto exchange = [&](const nlohmann::json& m) { return request_reply(socket, m); };
    std::string nonce = net::random_nonce();
    nlohmann::json challenge = exchange({{"type", "hello"}, {"name", "clumsy"}, {"nonce", nonce}});
    EXPECT_TRUE(net::proof_matches("s3cret-token", nonce, challenge["proof"]));
    EXPECT_EQ(exchange({{"type", "auth"}, {"proof", net::hmac_sha256_hex("s3cret-token", challenge["nonce"])}})["type"], "welcome");
    nlohmann::json reply = exchange(bad);
    EXPECT_EQ(reply["type"], "error") << bad.dump();
  }
  auto status = test::run_command(fmt::format("{} status --coordinator {} --token-file {}", kCfm, address(), dir_ / "token"));
  EXPECT_EQ(status.exit_code, 0) << status.output;  // still serving
  EXPECT_FALSE(coordinator_->poll());
  std::ifstream log(dir_ / "coordinator.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("authentication failed"), std::string::npos) << text;
  EXPECT_NE(text.find("(limit 4194304)"), std::string::npos) << text;
  EXPECT_NE(text.find("not valid JSON"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown message type 'bogus'"), std::string::npos) << text;
  EXPECT_NE(text.find("submit message without a jobs list"), std::string::npos) << text;
  EXPECT_NE(text.find("lacks the string field 'lease_id'"), std::string::npos) << text;
}

}  // namespace
}  // namespace cfm
