// The test fixture for real processes on loopback: a `cfm serve` child with a private token file,
// workers, submissions, raw sockets, and TLS peers that speak the wire protocol without net::Client's
// checks.
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <boost/asio.hpp>
#include <chrono>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/net/frame.h"
#include "common/net/tls.h"
#include "common/store/sqlite.h"
#include "common/util/child_process.h"
#include "orchestrator/job_store.h"
#include "test_support.h"

namespace cfm::test {

using namespace std::chrono_literals;
inline const std::string kCfm = CFM_BINARY;
inline const std::string kClusterToken = "s3cret-token-for-the-tests";

// Sends one framed message on a raw socket or a TLS stream.
template <typename Stream>
void send_message(Stream& stream, const nlohmann::json& message) {
  boost::asio::write(stream, boost::asio::buffer(net::encode_frame(message)));
}

// Reads one frame (any size up to the limit) and returns its body.
template <typename Stream>
std::string read_frame(Stream& stream) {
  std::array<unsigned char, 4> header{};
  boost::asio::read(stream, boost::asio::buffer(header));
  std::string body(net::frame_body_size(header), '\0');
  boost::asio::read(stream, boost::asio::buffer(body));
  return body;
}

// One framed message out and one back (no client-side checks, unlike net::Client).
template <typename Stream>
nlohmann::json request_reply(Stream& stream, const nlohmann::json& message) {
  send_message(stream, message);
  return net::decode_body(read_frame(stream));
}

// A TLS connection to the coordinator on loopback, keyed by `token`, after the handshake and before
// hello: the test says what it wants.
class TlsPeer {
 public:
  TlsPeer(int port, const std::string& token)
      : tls_(net::TlsRole::Client, token), stream_(io_, tls_.native()) {
    stream_.lowest_layer().connect(
        {boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)});
    stream_.handshake(boost::asio::ssl::stream_base::client);
  }
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket>& stream() { return stream_; }
  void send(const nlohmann::json& message) { send_message(stream_, message); }
  std::string read() { return read_frame(stream_); }
  nlohmann::json request(const nlohmann::json& message) { return request_reply(stream_, message); }

 private:
  boost::asio::io_context io_;
  net::TlsContext tls_;
  boost::asio::ssl::stream<boost::asio::ip::tcp::socket> stream_;
};

// A frame as the protocol builds one, around any body (valid or not).
inline std::string frame_of(const std::string& body) {
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string f = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                   static_cast<char>(n)};
  return f + body;
}

// Writes a token file readable by its owner only (the coordinator refuses any other).
inline void write_private_file(const std::string& path, const std::string& content) {
  std::ofstream(path) << content;
  chmod(path.c_str(), 0600);
}

class Cluster : public ::testing::Test {
 protected:
  void SetUp() override {
    write_private_file(dir_ / "token", kClusterToken + "\n");
    write_private_file(dir_ / "wrong", "a-guessed-token-that-is-wrong\n");
  }

  // `wrapper`: a shell prefix such as "ulimit -n 64 &&" (the command then runs through /bin/sh).
  void start_coordinator(int port = 0, const std::vector<std::string>& extra = {},
                         const std::string& wrapper = "") {
    std::filesystem::remove(dir_ / "port");
    std::vector<std::string> argv = {kCfm,
                                     "serve",
                                     "--db",
                                     dir_ / "r.sqlite",
                                     "--listen",
                                     fmt::format("127.0.0.1:{}", port),
                                     "--token-file",
                                     dir_ / "token",
                                     "--runs",
                                     dir_ / "runs",
                                     "--lease-seconds",
                                     "3",
                                     "--port-file",
                                     dir_ / "port"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    if (!wrapper.empty()) {
      std::string command = wrapper + " exec";
      for (const std::string& a : argv) command += " '" + a + "'";
      argv = {"/bin/sh", "-c", command};
    }
    coordinator_ = std::make_unique<ChildProcess>(argv, dir_ / "coordinator.log");
    for (int i = 0; i < 200 && !std::filesystem::exists(dir_ / "port"); ++i)
      std::this_thread::sleep_for(25ms);
    std::ifstream(dir_ / "port") >> port_;
    ASSERT_GT(port_, 0) << "coordinator did not start";
  }

  std::string address() const { return fmt::format("127.0.0.1:{}", port_); }

  std::unique_ptr<ChildProcess> start_worker(const std::string& name,
                                             const std::vector<std::string>& extra = {},
                                             const std::string& through = "") {
    std::vector<std::string> argv = {
        kCfm,           "worker",       "--coordinator", through.empty() ? address() : through,
        "--token-file", dir_ / "token", "--name",        name};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(argv, dir_ / (name + ".log"));
  }

  // `through`: the address the command connects to ("" = the coordinator's own).
  CommandResult submit(const std::string& grid_yaml, const std::string& token = "token",
                       const std::string& through = "") {
    std::ofstream(dir_ / "grid.yaml") << grid_yaml;
    return run_command(fmt::format("{} submit {} --coordinator {} --token-file {}", kCfm, dir_ / "grid.yaml",
                                   through.empty() ? address() : through, dir_ / token));
  }

  CommandResult status(const std::string& token = "token") {
    return run_command(
        fmt::format("{} status --coordinator {} --token-file {}", kCfm, address(), dir_ / token));
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

  // The coordinator still serves and nothing was stored.
  void expect_unharmed() {
    EXPECT_FALSE(coordinator_->poll()) << coordinator_log();
    CommandResult s = status();
    EXPECT_EQ(s.exit_code, 0) << s.output;
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs"), 0);
    EXPECT_EQ(scalar("SELECT COUNT(*) FROM grids"), 0);
  }

  void expect_logged(const std::string& line) {
    std::string log = coordinator_log();
    EXPECT_NE(log.find(line), std::string::npos) << "missing '" << line << "' in\n" << log;
  }

  std::string log_of(const std::string& process) {
    std::ifstream log(dir_ / (process + ".log"));
    return std::string((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  }
  std::string coordinator_log() { return log_of("coordinator"); }

  boost::asio::ip::tcp::socket connect() {
    boost::asio::ip::tcp::socket socket(io_);
    socket.connect({boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port_)});
    return socket;
  }

  // A TLS connection with the cluster's token that has said hello.
  std::unique_ptr<TlsPeer> authenticated(const std::string& name = "tester") {
    auto peer = std::make_unique<TlsPeer>(port_, kClusterToken);
    nlohmann::json welcome = peer->request({{"type", "hello"}, {"name", name}});
    EXPECT_EQ(welcome["type"], "welcome") << welcome.dump();
    return peer;
  }

  static std::string noop_grid(int jobs, int sleep_ms) {
    std::string seeds;
    for (int i = 0; i < jobs; ++i) seeds += (i ? ", " : "") + std::to_string(i);
    return fmt::format("name: faults\nfixed: {{method: noop, sleep_ms: {}}}\naxes: {{seed: [{}]}}\n",
                       sleep_ms, seeds);
  }

  TempDir dir_;
  boost::asio::io_context io_;
  std::unique_ptr<ChildProcess> coordinator_;
  int port_ = 0;
};

}  // namespace cfm::test
