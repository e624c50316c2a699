// Thousands of hostile inputs at a live coordinator on loopback, then a normal grid: random bytes,
// oversized and truncated length prefixes, non-JSON, JSON of the wrong shape, wrong field types and huge
// strings after authentication, unknown types, forged and replayed handshakes, and a crowd of idle
// connections. The coordinator must keep serving (the grid completes), its memory must stay bounded, and
// nothing of the barrage may reach the database.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <random>

#include "cluster_fixture.h"

namespace cfm::test {
namespace {

long rss_kb(pid_t pid) {
  std::ifstream status(fmt::format("/proc/{}/status", pid));
  std::string line;
  while (std::getline(status, line))
    if (line.rfind("VmRSS:", 0) == 0) return std::stol(line.substr(6));
  return -1;
}

std::string frame_of(const std::string& body) {
  const auto n = static_cast<std::uint32_t>(body.size());
  std::string f = {static_cast<char>(n >> 24), static_cast<char>(n >> 16), static_cast<char>(n >> 8),
                   static_cast<char>(n)};
  return f + body;
}

TEST_F(Cluster, ThousandsOfHostileInputsLeaveTheCoordinatorServingWithBoundedMemory) {
  start_coordinator();
  namespace asio = boost::asio;
  std::mt19937 rng(7);
  auto random_bytes = [&](std::size_t n) {
    std::string s(n, '\0');
    for (char& c : s) c = static_cast<char>(rng() & 0xff);
    return s;
  };
  // Sends bytes on a fresh connection and closes it without waiting for the reply.
  auto hit = [&](const std::string& bytes) {
    asio::ip::tcp::socket socket = connect();
    boost::system::error_code ignored;
    asio::write(socket, asio::buffer(bytes), ignored);
    socket.close(ignored);
  };
  const std::string replayed_nonce = net::random_nonce();
  auto warm = [&] {  // a few of each kind first, so the baseline includes the code paths' own allocations
    hit(frame_of(R"({"type":"hello","version":2,"name":"w","nonce":")" + net::random_nonce() + "\"}"));
  };
  for (int i = 0; i < 20; ++i) warm();
  std::this_thread::sleep_for(500ms);
  const long before = rss_kb(coordinator_->pid());
  ASSERT_GT(before, 0);

  int sent = 0;
  for (int round = 0; round < 300; ++round) {
    hit(random_bytes(1 + rng() % 300));                                   // random bytes
    hit(std::string("\x7f\xff\xff\xff", 4) + random_bytes(64));           // 2 GiB announced
    hit(std::string("\x00\x00\x10\x00", 4) + random_bytes(rng() % 100));  // truncated frame
    hit(frame_of("this is not JSON " + random_bytes(20)));                // not JSON
    hit(frame_of(R"([1, 2, 3])"));                                        // JSON, not an object
    hit(frame_of(R"({"type":"nonsense","version":2})"));                  // unknown type
    hit(frame_of(R"({"type":"hello","version":2,"name":")" + std::string(3000, 'n') + "\"}"));  // huge name
    hit(frame_of(R"({"type":"hello","version":2,"name":"w","nonce":")" + replayed_nonce + "\"}"));  // replay
    {  // a forged proof
      asio::ip::tcp::socket socket = connect();
      nlohmann::json challenge =
          request_reply(socket, {{"type", "hello"}, {"name", "forger"}, {"nonce", net::random_nonce()}});
      boost::system::error_code ignored;
      asio::write(socket,
                  asio::buffer(net::encode_frame({{"type", "auth"}, {"proof", std::string(64, 'a')}})),
                  ignored);
    }
    sent += 9;
    if (round % 30 == 0) {  // after authentication: wrong types and huge strings
      asio::ip::tcp::socket socket = authenticated("hostile");
      boost::system::error_code ignored;
      for (const nlohmann::json& bad :
           {nlohmann::json{{"type", "heartbeat"}, {"lease_id", 42}},
            nlohmann::json{{"type", "lease"}, {"worker", nlohmann::json::array()}},
            nlohmann::json{{"type", "result"}, {"lease_id", "x"}, {"result", "not an object"}},
            nlohmann::json{{"type", "failure"}, {"lease_id", std::string(100000, 'L')}, {"error", "e"}},
            nlohmann::json{{"type", "submit"},
                           {"grid", std::string(1 << 20, 'g')},
                           {"jobs", nlohmann::json::array()}}}) {
        asio::write(socket, asio::buffer(net::encode_frame(bad)), ignored);
        std::array<unsigned char, 4> header{};
        asio::read(socket, asio::buffer(header), ignored);  // each gets its (short) error reply
        if (!ignored) {
          std::string body(net::frame_body_size(header), '\0');
          asio::read(socket, asio::buffer(body), ignored);
          EXPECT_LT(body.size(), 4096u);
        }
        ++sent;
      }
    }
  }
  // A crowd of idle connections, held open at once, then dropped.
  {
    std::vector<asio::ip::tcp::socket> crowd;
    for (int i = 0; i < 300; ++i) crowd.push_back(connect());
    sent += 300;
    std::this_thread::sleep_for(200ms);
  }
  std::this_thread::sleep_for(1s);
  const long after = rss_kb(coordinator_->pid());
  EXPECT_FALSE(coordinator_->poll()) << coordinator_log();
  EXPECT_LT(after - before, 64 * 1024)
      << "coordinator RSS " << before << " kB -> " << after << " kB after " << sent << " hostile inputs";
  EXPECT_EQ(scalar("SELECT COUNT(*) FROM jobs"), 0);  // nothing of it reached the database

  // A normal grid still goes through.
  auto submitted = submit(noop_grid(12, 10));
  ASSERT_EQ(submitted.exit_code, 0) << submitted.output;
  auto worker = start_worker("honest", {"--devices", "cpu,cpu", "--exit-when-done"});
  EXPECT_TRUE(wait_until([&] { return counts().succeeded == 12; }, 120s)) << coordinator_log();
  std::printf("hostile inputs: %d, coordinator RSS %ld kB -> %ld kB\n", sent, before, after);
}

}  // namespace
}  // namespace cfm::test
