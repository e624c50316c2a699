// Thousands of hostile inputs at a live coordinator on loopback, then a normal grid: random bytes, plain
// frames of an older protocol, TLS records that are garbage, oversized or cut short, handshakes with a
// wrong token; after the TLS handshake oversized and truncated length prefixes, non-JSON, JSON of the wrong
// shape, unknown types and huge names; wrong field types and huge strings after hello; and a crowd of
// idle connections. The coordinator must keep serving (the grid completes), its memory must stay bounded, and
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
  // Sends a frame inside a TLS session with the cluster's token and leaves without waiting.
  auto hit_inside = [&](const std::string& bytes) {
    TlsPeer peer(port_, kClusterToken);
    boost::system::error_code ignored;
    asio::write(peer.stream(), asio::buffer(bytes), ignored);
  };
  auto warm = [&] {  // a few of each kind first, so the baseline includes the code paths' own allocations
    hit(frame_of(R"({"type":"hello","version":2,"name":"w"})"));
    hit_inside(frame_of(R"({"type":"hello","version":3,"name":"w"})"));
  };
  for (int i = 0; i < 20; ++i) warm();
  std::this_thread::sleep_for(500ms);
  const long before = rss_kb(coordinator_->pid());
  ASSERT_GT(before, 0);

  int sent = 0;
  for (int round = 0; round < 200; ++round) {
    hit(random_bytes(1 + rng() % 300));                                       // random bytes
    hit(frame_of(R"({"type":"hello","version":2,"name":"old"})"));            // an older cfm's hello
    hit(std::string("\x16\x03\x01\xff\xff", 5) + random_bytes(64));           // an oversized record
    hit(std::string("\x16\x03\x01\x02\x00", 5) + random_bytes(rng() % 100));  // a truncated record
    hit(std::string("\x16\x03\x01\x00\x40", 5) + random_bytes(64));           // a garbage handshake
    try {                                                                     // a wrong token
      TlsPeer wrong(port_, "a-guessed-token-that-is-wrong");
    } catch (const boost::system::system_error&) {
    }
    hit_inside(std::string("\x7f\xff\xff\xff", 4) + random_bytes(64));           // 2 GiB announced
    hit_inside(std::string("\x00\x00\x10\x00", 4) + random_bytes(rng() % 100));  // truncated frame
    hit_inside(frame_of("this is not JSON " + random_bytes(20)));                // not JSON
    hit_inside(frame_of(R"([1, 2, 3])"));                                        // JSON, not an object
    hit_inside(frame_of(R"({"type":"nonsense","version":3})"));                  // unknown type
    hit_inside(
        frame_of(R"({"type":"hello","version":3,"name":")" + std::string(3000, 'n') + "\"}"));  // huge name
    sent += 12;
    if (round % 20 == 0) {  // after hello: wrong types, huge strings, deep nesting; each costs its connection
      for (const nlohmann::json& bad :
           {nlohmann::json{{"type", "heartbeat"}, {"lease_id", 42}},
            nlohmann::json{{"type", "lease"}, {"worker", nlohmann::json::array()}},
            nlohmann::json{{"type", "result"}, {"lease_id", "x"}, {"result", "not an object"}},
            nlohmann::json{{"type", "failure"}, {"lease_id", std::string(100000, 'L')}, {"error", "e"}},
            nlohmann::json{{"type", "submit"},
                           {"grid", std::string(1 << 20, 'g')},
                           {"jobs", nlohmann::json::array()}}}) {
        auto peer = authenticated("hostile");
        EXPECT_LT(peer->request(bad).dump().size(), 4096u);  // each gets its (short) error reply
        ++sent;
      }
      auto peer = authenticated("hostile");
      asio::write(peer->stream(),
                  asio::buffer(frame_of(R"({"type":"status","version":3,"grid":)" + std::string(100000, '[') +
                                        std::string(100000, ']') + "}")));
      EXPECT_LT(peer->read().size(), 4096u);
      ++sent;
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
