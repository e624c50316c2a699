// The transport against an attacker on the path and against peers that do not hold the token, with a real
// `cfm serve` on loopback: records altered, rewritten or replayed by a relay end the session and store
// nothing, a whole grid's traffic shows no plaintext, a wrong token, a certificate or an older cfm fails in
// one line on both sides, OpenSSL's own client can ask for the status as the README shows, and nothing a
// peer sends before or after authentication stops the coordinator.
#include <atomic>
#include <regex>

#include "common/util/excerpt.h"
#include "orchestrator/cluster_fixture.h"
#include "orchestrator/tls_relay.h"

namespace cfm::test {
namespace {

namespace asio = boost::asio;
using nlohmann::json;
using Direction = TlsRelay::Direction;

constexpr char kApplicationData = 0x17;

// A client record carrying a submission: hello and the handshake's Finished are far smaller.
bool is_submission_record(Direction direction, const std::string& record) {
  return direction == Direction::ToCoordinator && record[0] == kApplicationData && record.size() > 300;
}

std::string deep_array(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

class SecureTransport : public Cluster {
 protected:
  int times_logged(const std::string& text) {
    const std::string log = coordinator_log();
    int n = 0;
    for (auto at = log.find(text); at != std::string::npos; at = log.find(text, at + 1)) ++n;
    return n;
  }

  // Sends bytes on a fresh TCP connection and returns what comes back until the coordinator closes it
  // (nothing, when it closed before the reply could be read). `leave`: the sending side is shut after the
  // bytes (else the peer stays, silent).
  std::string raw_exchange(const std::string& bytes, bool leave = true) {
    asio::ip::tcp::socket socket = connect();
    boost::system::error_code error;
    asio::write(socket, asio::buffer(bytes), error);  // the coordinator may refuse before it has read all
    if (leave) socket.shutdown(asio::ip::tcp::socket::shutdown_send, error);
    std::string reply;
    error = {};
    std::array<char, 4096> buffer{};
    while (!error) reply.append(buffer.data(), socket.read_some(asio::buffer(buffer), error));
    return reply;
  }

  // Any port nobody listens on now.
  static int free_port() {
    asio::io_context io;
    asio::ip::tcp::acceptor probe(io, {asio::ip::make_address("127.0.0.1"), 0});
    return probe.local_endpoint().port();
  }
};

TEST_F(SecureTransport, FlippingOneBitOfARecordEndsTheSessionAndStoresNothing) {
  start_coordinator();
  std::atomic<int> flipped{0};
  TlsRelay relay(port_, [&](Direction direction, std::string& record) {
    if (is_submission_record(direction, record) && flipped++ == 0) record[record.size() / 2] ^= 0x01;
    return true;
  });
  CommandResult s = submit(noop_grid(3, 10), "token", relay.address());
  EXPECT_NE(s.exit_code, 0) << s.output;
  EXPECT_EQ(flipped, 1);
  expect_logged("TLS record refused (decryption failed or bad record mac)");
  expect_unharmed();
}

TEST_F(SecureTransport, RewritingTheSubmitFrameStoresNothing) {
  start_coordinator();
  std::atomic<int> plaintext_seen{0}, rewritten{0};
  TlsRelay relay(port_, [&](Direction direction, std::string& record) {
    // Protocol 2's attack: find the grid name in the submit frame and change it. Nothing is readable now...
    if (record.find("faults") != std::string::npos || record.find("\"type\"") != std::string::npos)
      ++plaintext_seen;
    // ...so the most an attacker without the key can do is put a frame of its own in the record's place.
    if (is_submission_record(direction, record) && rewritten++ == 0) {
      std::string forged = frame_of(R"({"type":"submit","version":3,"grid":"attackers-grid","jobs":[]})");
      forged.resize(record.size() - 5, ' ');
      record.replace(5, std::string::npos, forged);
    }
    return true;
  });
  CommandResult s = submit(noop_grid(3, 10), "token", relay.address());
  EXPECT_NE(s.exit_code, 0) << s.output;
  EXPECT_EQ(rewritten, 1);
  EXPECT_EQ(plaintext_seen, 0);
  expect_logged("TLS record refused");
  expect_unharmed();
}

TEST_F(SecureTransport, AWholeGridsTrafficHoldsNoPlaintext) {
  start_coordinator();
  const std::string dataset = dir_ / "confidential-dataset";
  std::filesystem::create_directories(dataset);
  TlsRelay relay(port_, [](Direction, std::string&) { return true; });
  CommandResult s =
      submit(fmt::format("name: secret-grid\nfixed: {{method: noop, sleep_ms: 5, dataset: {}}}\n"
                         "axes: {{seed: [1, 2, 3, 4]}}\n",
                         dataset),
             "token", relay.address());
  ASSERT_EQ(s.exit_code, 0) << s.output;
  auto worker = start_worker("eavesdropped", {"--exit-when-done"}, relay.address());
  ASSERT_TRUE(wait_until([&] { return counts().succeeded == 4; }, 60s)) << log_of("eavesdropped");
  EXPECT_EQ(worker->wait(), 0);
  const std::string traffic = relay.captured(Direction::ToCoordinator) + relay.captured(Direction::ToClient);
  EXPECT_GT(traffic.size(), 4000u);  // the submission, 4 leases, 4 offers, heartbeats and results
  for (const std::string& secret :
       {std::string("\"type\""), std::string("confidential-dataset"), std::string("secret-grid"),
        std::string("lease_id"), std::string("eavesdropped"), std::string("noop")})
    EXPECT_EQ(traffic.find(secret), std::string::npos) << "'" << secret << "' crossed the wire in plain";
}

TEST_F(SecureTransport, AReplayedCaptureIsRefused) {
  start_coordinator();
  // The relay records a submission and cuts the connection before the coordinator gets the submit record.
  TlsRelay relay(port_, [](Direction direction, std::string& record) {
    return !is_submission_record(direction, record);
  });
  EXPECT_NE(submit(noop_grid(3, 10), "token", relay.address()).exit_code, 0);
  const std::string capture = relay.captured(Direction::ToCoordinator);
  ASSERT_NE(capture.find(kApplicationData), std::string::npos);
  // Everything the client sent, submission included, replayed on new connections.
  for (int replay = 0; replay < 3; ++replay) raw_exchange(capture);
  EXPECT_TRUE(wait_until([&] { return times_logged("failed the TLS handshake") == 3; }, 10s))
      << coordinator_log();
  expect_unharmed();
}

TEST_F(SecureTransport, AWrongTokenFailsTheHandshakeInEachDirection) {
  // A client with another token: both sides say so.
  start_coordinator();
  CommandResult wrong_client = submit(noop_grid(2, 10), "wrong");
  EXPECT_EQ(wrong_client.exit_code, 1);
  EXPECT_NE(wrong_client.output.find("coordinator at " + address() +
                                     " does not know this token (wrong token file?)"),
            std::string::npos)
      << wrong_client.output;
  expect_logged("does not know this token (wrong token file?)");
  expect_unharmed();
  // A coordinator with another token, and clients with the cluster's: the same, the other way round.
  coordinator_.reset();
  std::filesystem::remove(dir_ / "coordinator.log");
  write_private_file(dir_ / "right", kClusterToken + "\n");
  write_private_file(dir_ / "token", "the-coordinators-other-token\n");
  start_coordinator();
  CommandResult refused = status("right");
  EXPECT_EQ(refused.exit_code, 1);
  EXPECT_NE(refused.output.find("does not know this token (wrong token file?)"), std::string::npos)
      << refused.output;
  expect_logged("does not know this token (wrong token file?)");
}

TEST_F(SecureTransport, ACertificateInPlaceOfTheTokensKeyIsRefused) {
  CFM_REQUIRE(run_command("openssl version").exit_code == 0, "no openssl command", "openssl");
  CommandResult made =
      run_command(fmt::format("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "
                              "{} -out {} -subj /CN=impostor "
                              "-days 1",
                              dir_ / "key.pem", dir_ / "cert.pem"));
  ASSERT_EQ(made.exit_code, 0) << made.output;
  const int port = free_port();
  ChildProcess impostor({"/usr/bin/openssl", "s_server", "-quiet", "-tls1_3", "-accept", std::to_string(port),
                         "-cert", dir_ / "cert.pem", "-key", dir_ / "key.pem"},
                        dir_ / "impostor.log");
  port_ = port;
  CommandResult s;
  ASSERT_TRUE(wait_until([&] {
    s = status();
    return s.output.find("connecting to") == std::string::npos;  // up and answering
  }));
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.output.find("answered with a certificate instead of the token's key"), std::string::npos)
      << s.output;
}

TEST_F(SecureTransport, AnOlderPlainProtocolPeerIsToldInOneLineEitherWay) {
  start_coordinator();
  // An older cfm client says hello in a plain frame: it gets a plain error frame it can read.
  std::string reply = raw_exchange(
      frame_of(R"({"type":"hello","version":2,"name":"old","nonce":")" + std::string(64, 'a') + "\"}"));
  ASSERT_GT(reply.size(), 4u);
  json error = json::parse(reply.substr(4));
  EXPECT_EQ(error["type"], "error");
  EXPECT_EQ(
      error["reason"],
      "this coordinator speaks protocol version 3 (TLS 1.3 keyed by the token); run the same cfm release "
      "on every node");
  expect_logged(
      "sent a plain frame (a cfm older than protocol version 3); run the same cfm release on every node");
  // An older coordinator answers a TLS hello as it answered any bad frame: in plain.
  asio::io_context io;
  asio::ip::tcp::acceptor old(io, {asio::ip::make_address("127.0.0.1"), 0});
  std::thread old_coordinator([&] {
    asio::ip::tcp::socket socket(io);
    old.accept(socket);
    std::array<char, 4096> hello{};
    boost::system::error_code ignored;
    socket.read_some(asio::buffer(hello), ignored);
    asio::write(
        socket,
        asio::buffer(frame_of(
            R"json({"type":"error","version":2,"reason":"peer announced a frame of 369295616 bytes (limit 4096)"})json")),
        ignored);
  });
  CommandResult s = run_command(fmt::format("{} status --coordinator 127.0.0.1:{} --token-file {}", kCfm,
                                            old.local_endpoint().port(), dir_ / "token"));
  old_coordinator.join();
  EXPECT_EQ(s.exit_code, 1);
  EXPECT_NE(s.output.find("does not speak TLS 1.3"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("run the same cfm release on every node"), std::string::npos) << s.output;
  expect_unharmed();
}

// The README's commands, as written there, against a live coordinator.
TEST_F(SecureTransport, TheReadmesOpensslSessionGetsAStatusReply) {
  CFM_REQUIRE(run_command("openssl version && perl -v").exit_code == 0, "no openssl or perl command",
              "openssl perl");
  std::ifstream readme(std::string(CFM_SOURCE_DIR) + "/README.md");
  std::string text((std::istreambuf_iterator<char>(readme)), std::istreambuf_iterator<char>());
  std::smatch block;
  ASSERT_TRUE(std::regex_search(text, block, std::regex("```sh\n(# By hand[^`]*)```")))
      << "README.md has no '# By hand' shell block";
  start_coordinator();
  ASSERT_EQ(submit(noop_grid(2, 10)).exit_code, 0);
  std::string commands = std::regex_replace(block[1].str(), std::regex("head:7733"), address());
  std::ofstream(dir_ / "by-hand.sh") << commands;
  CommandResult s = run_command(fmt::format("cd {} && bash -eo pipefail by-hand.sh", dir_.path().string()));
  EXPECT_EQ(s.exit_code, 0) << s.output;
  EXPECT_NE(s.output.find(R"({"type":"welcome","version":3})"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find(R"("pending":2)"), std::string::npos) << s.output;
  EXPECT_NE(s.output.find("Ciphersuite: TLS_AES_128_GCM_SHA256"), std::string::npos) << s.output;
}

TEST_F(SecureTransport, AHundredThousandDeepMessageIsRefusedBeforeAndAfterAuthentication) {
  start_coordinator();
  const std::string deep = R"({"type":"status","version":3,"grid":)" + deep_array(100000) + "}";
  // Before TLS, as a plain frame: the answer to an older peer. After TLS and before hello: the size limit.
  // Either is refused after a few kilobytes, so the rest of the 200 KB may meet a closed connection.
  raw_exchange(frame_of(deep));
  expect_logged("sent a plain frame");
  {
    TlsPeer anonymous(port_, kClusterToken);
    boost::system::error_code error;
    asio::write(anonymous.stream(), asio::buffer(frame_of(deep)), error);
    EXPECT_TRUE(wait_until([&] { return coordinator_log().find("(limit 4096)") != std::string::npos; }, 10s));
  }
  // After hello: a clean error naming the limit, on a connection that then closes; 64 levels still parse.
  {
    auto peer = authenticated("deep");
    asio::write(peer->stream(), asio::buffer(frame_of(deep)));
    json reply = net::decode_body(peer->read());
    EXPECT_EQ(reply["reason"], "message nests deeper than 64 levels (the limit)");
  }
  {
    auto peer = authenticated("deep-but-allowed");
    json reply = peer->request(json::parse(R"({"type":"status","grid":)" + deep_array(63) + "}"));
    EXPECT_EQ(reply["type"], "error");
    EXPECT_LT(reply.dump().size(), 400u);
    EXPECT_NE(reply["reason"].get<std::string>().find("field 'grid' is not a string: [[[["),
              std::string::npos)
        << reply.dump();
  }
  expect_logged("message nests deeper than 64 levels");
  expect_unharmed();
}

TEST_F(SecureTransport, GarbageTruncatedAndOversizedRecordsGetACleanCloseWithALogLine) {
  start_coordinator(0, {"--handshake-seconds", "1"});
  struct Case {
    std::string bytes, logged;
    bool leave = true;
  };
  const std::string partial = std::string("\x16\x03\x01\x01\x00", 5) + "only part of a record";
  const std::vector<Case> cases = {
      {"GET / HTTP/1.1\r\n\r\n", "does not speak TLS 1.3 (http request)"},
      {std::string("\x16\x03\x01\xff\xff", 5) + std::string(64, 'x'), "does not speak TLS 1.3 ("},
      {std::string("\x16\x03\x01\x00\x05", 5) + "abcde", "failed the TLS handshake ("},
      {partial, "left during the TLS handshake"},
      {partial, "no TLS handshake within 1 s", false},  // a slow peer
  };
  for (const Case& c : cases) {
    const std::size_t seen = coordinator_log().size();
    std::string reply = raw_exchange(c.bytes, c.leave);
    // Nothing, or one TLS alert record (type 21) that says why.
    EXPECT_TRUE(reply.empty() || (reply.size() == 7 && reply[0] == 0x15))
        << "a reply to " << excerpt(c.bytes);
    std::string line;
    EXPECT_TRUE(wait_until(
        [&] { return (line = coordinator_log().substr(seen)).find("rejected") != std::string::npos; }, 10s));
    EXPECT_NE(line.find(c.logged), std::string::npos) << "'" << c.logged << "' not in " << line;
  }
  // After authentication: a record that is not one of the session's.
  auto peer = authenticated("garbler");
  asio::write(peer->stream().next_layer(),
              asio::buffer(std::string("\x17\x03\x03\x00\x20", 5) + std::string(32, 'g')));
  std::array<char, 64> buffer{};
  boost::system::error_code error;
  peer->stream().read_some(asio::buffer(buffer), error);
  EXPECT_TRUE(error) << "the session went on";
  EXPECT_TRUE(
      wait_until([&] { return coordinator_log().find("closed garbler@") != std::string::npos; }, 10s));
  expect_logged("TLS record refused");
  expect_unharmed();
}

}  // namespace
}  // namespace cfm::test
