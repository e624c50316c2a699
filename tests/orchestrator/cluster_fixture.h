// The test fixture for real processes on loopback: a `cfm serve` child with a private token file,
// workers, submissions, and raw sockets that speak the wire protocol without net::Client's checks.
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

#include "common/net/auth.h"
#include "common/net/frame.h"
#include "common/store/job_store.h"
#include "common/store/sqlite.h"
#include "common/util/child_process.h"
#include "test_support.h"

namespace cfm::test {

using namespace std::chrono_literals;
inline const std::string kCfm = CFM_BINARY;
inline const std::string kClusterToken = "s3cret-token-for-the-tests";

// Sends one framed message on a raw socket.
inline void send_message(boost::asio::ip::tcp::socket& socket, const nlohmann::json& message) {
  boost::asio::write(socket, boost::asio::buffer(net::encode_frame(message)));
}

// Reads one frame (any size up to the limit) and returns its body.
inline std::string read_frame(boost::asio::ip::tcp::socket& socket) {
  std::array<unsigned char, 4> header{};
  boost::asio::read(socket, boost::asio::buffer(header));
  std::string body(net::frame_body_size(header), '\0');
  boost::asio::read(socket, boost::asio::buffer(body));
  return body;
}

// One framed message out and one back on a raw socket (no client-side checks, unlike net::Client).
inline nlohmann::json request_reply(boost::asio::ip::tcp::socket& socket, const nlohmann::json& message) {
  send_message(socket, message);
  return net::decode_body(read_frame(socket));
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
                                             const std::vector<std::string>& extra = {}) {
    std::vector<std::string> argv = {kCfm,           "worker",       "--coordinator", address(),
                                     "--token-file", dir_ / "token", "--name",        name};
    argv.insert(argv.end(), extra.begin(), extra.end());
    return std::make_unique<ChildProcess>(argv, dir_ / (name + ".log"));
  }

  CommandResult submit(const std::string& grid_yaml, const std::string& token = "token") {
    std::ofstream(dir_ / "grid.yaml") << grid_yaml;
    return run_command(fmt::format("{} submit {} --coordinator {} --token-file {}", kCfm, dir_ / "grid.yaml",
                                   address(), dir_ / token));
  }

  CommandResult status() {
    return run_command(
        fmt::format("{} status --coordinator {} --token-file {}", kCfm, address(), dir_ / "token"));
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

  // A raw socket through the real handshake with the cluster's token.
  boost::asio::ip::tcp::socket authenticated(const std::string& name = "tester") {
    boost::asio::ip::tcp::socket socket = connect();
    std::string nonce = net::random_nonce();
    nlohmann::json challenge = request_reply(socket, {{"type", "hello"}, {"name", name}, {"nonce", nonce}});
    EXPECT_EQ(challenge["type"], "challenge") << challenge.dump();
    EXPECT_TRUE(net::proof_matches(kClusterToken, net::Role::Coordinator, nonce, challenge["nonce"],
                                   challenge["proof"]));
    nlohmann::json welcome = request_reply(
        socket,
        {{"type", "auth"},
         {"proof", net::handshake_proof(kClusterToken, net::Role::Client, nonce, challenge["nonce"])}});
    EXPECT_EQ(welcome["type"], "welcome") << welcome.dump();
    return socket;
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
