// Attacks against a real `cfm serve` on loopback, each made by a peer that knows the address (and, for the
// submission attacks, the token): every one is refused with a log line, the
// coordinator keeps serving, and the database is unchanged.
#include <signal.h>
#include <sys/resource.h>

#include "common/net/token_file.h"
#include "common/settings/job_config.h"
#include "orchestrator/cluster_fixture.h"

namespace cfm::test {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

class CoordinatorAttack : public Cluster {
 protected:
  // A resolved noop job, as `cfm submit` would send it.
  static json job(const std::string& key, json settings = {{"method", "noop"}}) {
    return {{"key", key}, {"config", resolve_job_config(settings, "/")}, {"axes", json::object()}};
  }

  static json submission(const std::string& grid, json jobs) {
    return {{"type", "submit"}, {"grid", grid}, {"spec", "name: x\n"}, {"jobs", jobs}};
  }
};

TEST_F(CoordinatorAttack, OversizedEchoesGetShortRepliesAndTheServerStays) {
  start_coordinator();
  // Before hello a 4 MiB frame is refused by its announced size, before its body is read.
  {
    TlsPeer peer(port_, kClusterToken);
    std::string huge_type((4u << 20) - 300, 't');
    std::string frame = net::encode_frame({{"type", huge_type}, {"name", "x"}});
    asio::write(peer.stream(), asio::buffer(frame.data(), 4));  // the header alone: the body is never wanted
    std::string reply = peer.read();
    EXPECT_LT(reply.size(), 400u);
    EXPECT_EQ(net::decode_body(reply)["type"], "error");
  }
  // After hello: an unknown type just under the frame limit, and a 1.6 MB version list.
  std::string huge_type((4u << 20) - 300, 'u');
  json huge_version = {{"type", "status"}, {"version", json::array()}};
  for (int i = 0; i < 200000; ++i) huge_version["version"].push_back(1234567);  // 1.6 MB
  for (const json& message : {json{{"type", huge_type}}, huge_version}) {
    auto peer = authenticated();
    peer->send(message);
    std::string reply = peer->read();
    EXPECT_LT(reply.size(), 400u) << "the reply echoed the input";
    EXPECT_EQ(net::decode_body(reply)["type"], "error");
  }
  expect_logged("(limit 4096)");
  expect_logged("unknown message type 'uuuu");
  expect_logged("peer speaks protocol version [1234567,");
  expect_unharmed();
}

TEST_F(CoordinatorAttack, SilentConnectionsTimeOutBeforeAndAfterAuthentication) {
  start_coordinator(0, {"--handshake-seconds", "1", "--idle-seconds", "2"});
  asio::ip::tcp::socket anonymous = connect();
  TlsPeer mute(port_, kClusterToken);  // the TLS handshake, then no hello
  auto idle = authenticated("sleepy");
  auto start = std::chrono::steady_clock::now();
  // The one that never starts TLS is closed after about a second (the read ends with end of file).
  std::array<char, 16> buffer{};
  boost::system::error_code error;
  anonymous.read_some(asio::buffer(buffer), error);
  EXPECT_EQ(error, asio::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 5s);
  // The one that never says hello gets the reason, then the close.
  EXPECT_EQ(net::decode_body(mute.read())["reason"], "did not say hello within 1 s");
  // The authenticated one is closed after two silent seconds.
  idle->stream().read_some(asio::buffer(buffer), error);
  EXPECT_TRUE(error);
  EXPECT_GE(std::chrono::steady_clock::now() - start, 1500ms);
  expect_logged("no TLS handshake within 1 s");
  expect_logged("did not say hello within 1 s");
  expect_logged("closing sleepy@");
  expect_logged("no message for 2 s");
  expect_unharmed();
}

// The test process itself holds 1,100 sockets: take the hard descriptor limit.
bool raise_own_descriptor_limit(rlim_t wanted) {
  rlimit limit{};
  getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur < wanted) {
    limit.rlim_cur = std::min<rlim_t>(limit.rlim_max, wanted);
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  return limit.rlim_cur >= wanted;
}

TEST_F(CoordinatorAttack, ElevenHundredIdleConnectionsDoNotLockOutAWorker) {
  if (!raise_own_descriptor_limit(1400)) GTEST_SKIP() << "this test needs 1,400 descriptors";
  start_coordinator();
  std::vector<asio::ip::tcp::socket> idle;
  for (int i = 0; i < 1100; ++i) idle.push_back(connect());
  std::this_thread::sleep_for(300ms);
  // While they are all still open, a grid is submitted and a real worker runs it.
  CommandResult s = submit(noop_grid(3, 10));
  ASSERT_EQ(s.exit_code, 0) << s.output;
  auto worker = start_worker("legit", {"--exit-when-done"});
  ASSERT_TRUE(wait_until([&] { return counts().succeeded == 3; }, 60s)) << log_of("legit");
  expect_logged("more than 128 unauthenticated connections");
  EXPECT_FALSE(coordinator_->poll());
}

TEST_F(CoordinatorAttack, RunningOutOfDescriptorsOnlyDelaysAccepting) {
  // 64 descriptors, no cap below that: the coordinator runs out, frees the oldest anonymous
  // connections, and a worker that comes later is served.
  start_coordinator(0, {"--max-unauthenticated", "100000", "--handshake-seconds", "30"}, "ulimit -n 64 &&");
  std::vector<asio::ip::tcp::socket> idle;
  for (int i = 0; i < 150; ++i) idle.push_back(connect());
  ASSERT_TRUE(
      wait_until([&] { return coordinator_log().find("Too many open files") != std::string::npos; }, 20s))
      << coordinator_log();
  CommandResult s = status();
  EXPECT_EQ(s.exit_code, 0) << s.output;
  idle.clear();
  ASSERT_EQ(submit(noop_grid(2, 10)).exit_code, 0);
  auto worker = start_worker("legit", {"--exit-when-done"});
  ASSERT_TRUE(wait_until([&] { return counts().succeeded == 2; }, 60s)) << coordinator_log();
  expect_logged("accept failed: Too many open files");
  EXPECT_FALSE(coordinator_->poll());
}

TEST_F(CoordinatorAttack, SubmissionsThatWouldLeaveTheRunsFolderAreRefused) {
  start_coordinator();
  const std::string key(64, 'a');
  struct Case {
    json message;
    std::string logged;
  };
  std::vector<Case> cases = {
      {submission("g", json::array({job("../escaped-by-attacker")})),
       "key '../escaped-by-attacker' is not 64 lower-case hex"},
      {submission("g", json::array({job(std::string(64, 'A'))})), "is not 64 lower-case hex"},
      {submission("/tmp/absolute-grid", json::array({job(key)})),
       "grid name '/tmp/absolute-grid' is not a plain name"},
      {submission("..", json::array({job(key)})), "grid name '..' is not a plain name"},
      {submission("a/b", json::array({job(key)})), "grid name 'a/b' is not a plain name"},
      {submission(std::string("nul\0x", 5), json::array({job(key)})),
       "grid name 'nul\\x00x' is not a plain name"},
      {submission("g",
                  json::array({json{{"key", key}, {"config", {{"method", "noop"}, {"sleep_ms", "soon"}}}}})),
       "setting 'sleep_ms' has the wrong type"},
      {submission("g", json::array({json{{"key", key}, {"config", {{"method", "noop"}}}}})),
       "setting 'category' is missing"},
      {submission("g", json::array({json{{"key", key}, {"config", {{"method", "rm -rf"}}}}})),
       "unknown method 'rm -rf'"},
      {submission("g", json::array({json{{"key", key}, {"config", {{"method", "noop"}, {"shell", "x"}}}}})),
       "unknown setting 'shell'"},
  };
  json relative = job(key), climbing = job(key);
  relative["config"]["dataset"] = "../data";
  cases.push_back({submission("g", json::array({relative})),
                   "setting 'dataset' ('../data') is not an absolute, normalised path"});
  climbing["config"]["category"] = "../../etc";
  cases.push_back(
      {submission("g", json::array({climbing})), "setting 'category' ('../../etc') is not a plain name"});
  for (const Case& c : cases) {
    json reply = authenticated("submitter")->request(c.message);
    EXPECT_EQ(reply["type"], "error") << c.logged;
    expect_logged(c.logged);
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "escaped-by-attacker"));
  expect_unharmed();
}

TEST_F(CoordinatorAttack, ASecondCoordinatorOnTheSameDatabaseRefusesToStart) {
  start_coordinator();
  CommandResult second = run_command(fmt::format("{} serve --db {} --listen 127.0.0.1:0 --token-file {}",
                                                 kCfm, dir_ / "r.sqlite", dir_ / "token"));
  EXPECT_EQ(second.exit_code, 2) << second.output;
  EXPECT_NE(second.output.find(fmt::format("another coordinator (pid {} on ", coordinator_->pid())),
            std::string::npos)
      << second.output;
  expect_unharmed();
  // Killed outright, the first one leaves no lock behind: a new coordinator starts on the same file.
  kill(coordinator_->pid(), SIGKILL);
  coordinator_->wait();
  start_coordinator();
  expect_unharmed();
}

TEST_F(CoordinatorAttack, TokenFilesOthersCanReadOrTooShortAreRefused) {
  std::ofstream(dir_ / "open-token") << "a-long-enough-shared-secret\n";
  chmod((dir_ / "open-token").c_str(), 0644);
  write_private_file(dir_ / "short-token", "1\n");
  for (std::string token : {"open-token", "short-token"}) {
    CommandResult serve = run_command(fmt::format("{} serve --db {} --listen 127.0.0.1:0 --token-file {}",
                                                  kCfm, dir_ / "r.sqlite", dir_ / token));
    EXPECT_NE(serve.exit_code, 0) << serve.output;
    CommandResult worker =
        run_command(fmt::format("{} worker --coordinator 127.0.0.1:1 --token-file {}", kCfm, dir_ / token));
    EXPECT_NE(worker.exit_code, 0) << worker.output;
    std::string expected = token == "open-token" ? "run `chmod 600 " + dir_ / token + "`"
                                                 : "the token is 1 bytes; use at least 16";
    EXPECT_NE(serve.output.find(expected), std::string::npos) << serve.output;
    EXPECT_NE(worker.output.find(expected), std::string::npos) << worker.output;
  }
  EXPECT_FALSE(std::filesystem::exists(dir_ / "r.sqlite"));  // refused before anything was created
  CommandResult made = run_command(fmt::format("{} token new {}", kCfm, dir_ / "made-token"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  EXPECT_EQ(net::read_token_file(dir_ / "made-token").size(), 64u);
  EXPECT_EQ(run_command(fmt::format("{} token new {}", kCfm, dir_ / "made-token")).exit_code,
            1);  // never overwritten silently
}

TEST_F(CoordinatorAttack, WorkerRefusesJobsOutsideItsFoldersWithoutWritingAnything) {
  start_coordinator();
  std::filesystem::create_directories(dir_ / "elsewhere");
  std::filesystem::create_directories(dir_ / "inputs");
  // Runs folder mismatch: the coordinator's runs are <dir>/runs, this worker only accepts <dir>/elsewhere.
  // (Each grid is submitted before its worker starts: a worker with --exit-when-done leaves an empty queue.)
  ASSERT_EQ(submit("name: one\nmax_attempts: 1\nfixed: {method: noop}\n").exit_code, 0);
  auto strict = start_worker("strict", {"--runs", dir_ / "elsewhere", "--exit-when-done"});
  ASSERT_TRUE(wait_until([&] { return counts().failed == 1; }, 30s)) << log_of("strict") << coordinator_log();
  EXPECT_EQ(strict->wait(), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs WHERE error LIKE '%is not inside this worker''s runs folder%'"),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "runs") && !std::filesystem::is_empty(dir_ / "runs"))
      << "a run folder was created";
  // Inputs outside --inputs: a job that names a dataset in /etc (sleep_ms makes it another job: the
  // dataset of a noop job is not part of its key).
  ASSERT_EQ(
      submit("name: two\nmax_attempts: 1\nfixed: {method: noop, sleep_ms: 1, dataset: /etc}\n").exit_code, 0);
  auto confined = start_worker("confined", {"--inputs", dir_ / "inputs", "--exit-when-done"});
  ASSERT_TRUE(wait_until([&] { return counts().failed == 2; }, 30s)) << coordinator_log();
  EXPECT_EQ(confined->wait(), 0);
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs WHERE error LIKE '%setting ''dataset'' (/etc) is outside this "
                   "worker''s input folders%'"),
            1);
  EXPECT_FALSE(std::filesystem::exists(dir_ / "runs") && !std::filesystem::is_empty(dir_ / "runs"));
  // Inside its folders the same worker runs the job.
  ASSERT_EQ(
      submit(fmt::format("name: three\nfixed: {{method: noop, sleep_ms: 2, dataset: {}}}\n", dir_ / "inputs"))
          .exit_code,
      0);
  auto allowed =
      start_worker("allowed", {"--inputs", dir_ / "inputs", "--runs", dir_ / "runs", "--exit-when-done"});
  ASSERT_TRUE(wait_until([&] { return counts().succeeded == 1; }, 30s)) << coordinator_log();
}

}  // namespace
}  // namespace cfm::test
