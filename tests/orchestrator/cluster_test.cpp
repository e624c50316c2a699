// Real processes on loopback: `cfm serve`, `cfm worker`s and `cfm submit`/`cfm status`, with faults:
// a worker killed mid-job, the coordinator killed and restarted, a wrong token, garbage frames.
#include <signal.h>
#include <sys/wait.h>

#include "orchestrator/cluster_fixture.h"

namespace cfm::test {
namespace {

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
  int attempts =
      scalar("SELECT COUNT(*) FROM attempts");  // 8, more if a heavily loaded machine let a lease expire
  auto again = submit(noop_grid(8, 300));
  EXPECT_NE(again.output.find("0 new, 0 requeued, 8 done before"), std::string::npos) << again.output;
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM attempts"), attempts);  // nothing ran again
  auto status =
      run_command(fmt::format("{} status --coordinator {} --token-file {}", kCfm, address(), dir_ / "token"));
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
  ASSERT_EQ(run_command(fmt::format("{} submit {} --coordinator {} --token-file {}", kCfm, dir_ / "grid.yaml",
                                    address(), dir_ / "token"))
                .exit_code,
            0);
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
  for (std::string garbage : {std::string("\xff\xff\xff\xffgarbage", 11), std::string("\0\0\0\x05hello", 9),
                              std::string("GET / HTTP/1.1\r\n\r\n")}) {
    asio::ip::tcp::socket socket(io);
    socket.connect({asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
    asio::write(socket, asio::buffer(garbage));
    boost::system::error_code error;
    std::array<char, 512> reply{};
    socket.read_some(asio::buffer(reply), error);  // the error frame, then the close
  }
  // After the TLS handshake and before hello: frames stay small, hello comes first, JSON is checked.
  {
    TlsPeer peer(port_, kClusterToken);
    asio::write(peer.stream(), asio::buffer(std::string("\0\0\x13\x88", 4)));  // 5,000 bytes announced
    EXPECT_EQ(net::decode_body(peer.read())["type"], "error");
  }
  {
    TlsPeer peer(port_, kClusterToken);
    EXPECT_EQ(peer.request({{"type", "status"}})["reason"], "expected 'hello' before 'status'");
  }
  {
    TlsPeer peer(port_, kClusterToken);
    asio::write(peer.stream(), asio::buffer(std::string("\0\0\0\x08not json", 12)));
    EXPECT_EQ(net::decode_body(peer.read())["type"], "error");
  }
  // Authenticated but malformed or unknown messages are refused too.
  for (nlohmann::json bad :
       {nlohmann::json{{"type", "bogus"}}, nlohmann::json{{"type", "submit"}, {"grid", "g"}, {"jobs", 7}},
        nlohmann::json{{"type", "heartbeat"}}}) {
    nlohmann::json reply = authenticated("clumsy")->request(bad);
    EXPECT_EQ(reply["type"], "error") << bad.dump();
  }
  auto status =
      run_command(fmt::format("{} status --coordinator {} --token-file {}", kCfm, address(), dir_ / "token"));
  EXPECT_EQ(status.exit_code, 0) << status.output;  // still serving
  EXPECT_FALSE(coordinator_->poll());
  std::ifstream log(dir_ / "coordinator.log");
  std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(text.find("does not know this token (wrong token file?)"), std::string::npos) << text;
  EXPECT_NE(text.find("does not speak TLS 1.3"), std::string::npos) << text;
  EXPECT_NE(text.find("sent a plain frame"), std::string::npos) << text;
  EXPECT_NE(text.find("(limit 4096)"), std::string::npos) << text;  // before hello, frames are small
  EXPECT_NE(text.find("expected 'hello' before 'status'"), std::string::npos) << text;
  EXPECT_NE(text.find("not valid JSON"), std::string::npos) << text;
  EXPECT_NE(text.find("unknown message type 'bogus'"), std::string::npos) << text;
  EXPECT_NE(text.find("submit message without a jobs list"), std::string::npos) << text;
  EXPECT_NE(text.find("field 'lease_id' is missing"), std::string::npos) << text;
}

}  // namespace
}  // namespace cfm::test
