#include <gtest/gtest.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/net/auth.h"
#include "common/net/client.h"
#include "common/net/frame.h"
#include "common/net/protocol_error.h"
#include "test_support.h"

namespace cfm::net {
namespace {

TEST(Frame, RoundTripWithBigEndianLengthAndVersion) {
  std::string frame = encode_frame({{"type", "status"}});
  ASSERT_GE(frame.size(), 4u);
  std::array<unsigned char, 4> header;
  std::copy(frame.begin(), frame.begin() + 4, header.begin());
  EXPECT_EQ(frame_body_size(header), frame.size() - 4);
  EXPECT_EQ(header[0], 0);  // big-endian: small sizes in the last byte
  nlohmann::json m = decode_body(frame.substr(4));
  EXPECT_EQ(m["type"], "status");
  EXPECT_EQ(m["version"], kProtocolVersion);
}

TEST(Frame, RejectsOversizedGarbageAndForeignVersions) {
  EXPECT_THROW(frame_body_size({0xff, 0xff, 0xff, 0xff}), ProtocolError);
  EXPECT_THROW(frame_body_size({0, 0, 0, 0}), ProtocolError);
  EXPECT_THROW(frame_body_size({0, 0, 0x10, 0x01}, kMaxHandshakeFrameBytes),
               ProtocolError);  // 4097 before authentication
  EXPECT_EQ(frame_body_size({0, 0, 0x10, 0x00}, kMaxHandshakeFrameBytes), 4096u);
  EXPECT_THROW(decode_body("not json"), ProtocolError);
  EXPECT_THROW(decode_body("[1, 2]"), ProtocolError);
  EXPECT_THROW(decode_body(R"({"version": 2})"), ProtocolError);
  EXPECT_THROW(decode_body(R"({"type": "status", "version": 3})"), ProtocolError);
  EXPECT_THROW(frame_header(kMaxFrameBytes + 1), ProtocolError);
}

TEST(Frame, AnOldPeerIsToldAboutTheProtocolVersion) {
  try {
    decode_body(R"({"type": "hello", "version": 1, "name": "old", "nonce": "abc"})");
    FAIL() << "a version 1 hello was accepted";
  } catch (const ProtocolError& e) {
    EXPECT_NE(
        std::string(e.what()).find("peer speaks protocol version 1, this cfm speaks protocol version 2"),
        std::string::npos)
        << e.what();
  }
}

TEST(Frame, ErrorsQuoteHugeInputOnlyAsAnExcerpt) {
  // The attack of issue 17: a type (or version) just under the frame limit must not come back whole.
  nlohmann::json huge_version = {{"type", "hello"}, {"version", nlohmann::json::array()}};
  for (int i = 0; i < 200000; ++i) huge_version["version"].push_back(1234567);
  std::string huge_type(4u << 20, 'x');
  for (const std::string& body :
       {huge_version.dump(), nlohmann::json{{"type", huge_type}, {"version", 1}}.dump()}) {
    try {
      decode_body(body);
      FAIL();
    } catch (const ProtocolError& e) {
      EXPECT_LT(std::string(e.what()).size(), 400u);
      EXPECT_NE(std::string(e.what()).find(" bytes)"), std::string::npos)
          << e.what();  // says how much it left out
    }
  }
}

TEST(Auth, HmacSha256MatchesRfc4231) {
  // RFC 4231, test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string nonce = random_nonce();
  EXPECT_TRUE(is_nonce(nonce));
  EXPECT_NE(nonce, random_nonce());
  EXPECT_FALSE(is_nonce(std::string(63, 'a')));
  EXPECT_FALSE(is_nonce(std::string(64, 'A')));
  EXPECT_FALSE(is_nonce(std::string(64, 'g')));
}

TEST(Auth, ProofsAreBoundToTheRoleAndBothNonces) {
  // Expected values from Python: hmac.new(token, b"cfm <role> proof\n" + cn + b"\n" + sn, sha256).
  const std::string token = "correct horse battery", cn(64, 'a'), sn(64, 'b');
  EXPECT_EQ(handshake_proof(token, Role::Coordinator, cn, sn),
            "861dde5a4c5fbccc956ca33443dd27ec5ea6070d8a358d35fb9fec19d8277343");
  EXPECT_EQ(handshake_proof(token, Role::Client, cn, sn),
            "ff8bc92fabb47e289b33de1e315a0549a30582d59f90153f4003e630dd5c73a0");
  std::string client_proof = handshake_proof(token, Role::Client, cn, sn);
  EXPECT_TRUE(proof_matches(token, Role::Client, cn, sn, client_proof));
  EXPECT_FALSE(
      proof_matches(token, Role::Coordinator, cn, sn, client_proof));  // not valid in the other direction
  EXPECT_FALSE(
      proof_matches(token, Role::Client, sn, cn, client_proof));  // nor with the nonces swapped (reflection)
  EXPECT_FALSE(proof_matches(token, Role::Client, cn, random_nonce(),
                             client_proof));  // nor on another connection (replay)
  EXPECT_FALSE(proof_matches("another token, 21 b", Role::Client, cn, sn, client_proof));
  EXPECT_FALSE(proof_matches(token, Role::Client, cn, sn, ""));
}

std::string error_of(const std::function<void()>& action) {
  try {
    action();
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(TokenFile, NewTokenIsPrivateRandomAndNotOverwritten) {
  test::TempDir dir;
  std::string path = dir / "token";
  write_new_token_file(path, false);
  struct stat info {};
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);
  std::string token = read_token_file(path);
  EXPECT_TRUE(is_nonce(token)) << token;  // 32 random bytes in hex
  EXPECT_NE(error_of([&] { write_new_token_file(path, false); }).find("exists"), std::string::npos);
  EXPECT_EQ(read_token_file(path), token);  // untouched
  chmod(path.c_str(), 0644);
  write_new_token_file(path, true);
  ASSERT_EQ(stat(path.c_str(), &info), 0);
  EXPECT_EQ(info.st_mode & 0777, 0600u);  // a replaced file is made private too
  EXPECT_NE(read_token_file(path), token);
}

TEST(TokenFile, ReadableByOthersOrShortIsRefusedWithTheFix) {
  test::TempDir dir;
  std::string path = dir / "token";
  std::ofstream(path) << "a-long-enough-shared-secret\n";
  chmod(path.c_str(), 0644);
  std::string error = error_of([&] { read_token_file(path); });
  EXPECT_NE(error.find("readable by other users (mode 0644)"), std::string::npos) << error;
  EXPECT_NE(error.find("chmod 600 " + path), std::string::npos) << error;
  chmod(path.c_str(), 0640);
  EXPECT_NE(error_of([&] { read_token_file(path); }).find("mode 0640"), std::string::npos);
  chmod(path.c_str(), 0600);
  EXPECT_EQ(read_token_file(path), "a-long-enough-shared-secret");
  std::ofstream(path) << "  x  \n";
  error = error_of([&] { read_token_file(path); });
  EXPECT_NE(error.find("the token is 1 bytes; use at least 16"), std::string::npos) << error;
  std::ofstream(path) << std::string(15, 'k') << "\n";
  EXPECT_NE(error_of([&] { read_token_file(path); }).find("is 15 bytes"), std::string::npos);
  std::ofstream(path) << std::string(16, 'k') << "\n";
  EXPECT_EQ(read_token_file(path), std::string(16, 'k'));
  EXPECT_NE(error_of([&] { read_token_file(dir / "missing"); }).find("cannot read the token file"),
            std::string::npos);
}

TEST(Endpoint, ParsesHostPortAndRejectsNonsense) {
  Endpoint e = parse_endpoint("node1:7733");
  EXPECT_EQ(e.host, "node1");
  EXPECT_EQ(e.port, 7733);
  EXPECT_EQ(parse_endpoint("[::1]:80").host, "::1");
  EXPECT_THROW(parse_endpoint("node1"), UsageError);
  EXPECT_THROW(parse_endpoint("node1:http"), UsageError);
  EXPECT_THROW(parse_endpoint("node1:99999"), UsageError);
}

}  // namespace
}  // namespace cfm::net
