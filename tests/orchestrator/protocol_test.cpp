#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "net/auth.h"
#include "net/client.h"
#include "net/frame.h"
#include "net/protocol_error.h"

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
  EXPECT_THROW(decode_body("not json"), ProtocolError);
  EXPECT_THROW(decode_body("[1, 2]"), ProtocolError);
  EXPECT_THROW(decode_body(R"({"version": 1})"), ProtocolError);
  EXPECT_THROW(decode_body(R"({"type": "status", "version": 2})"), ProtocolError);
  EXPECT_THROW(frame_header(kMaxFrameBytes + 1), ProtocolError);
}

TEST(Auth, HmacSha256MatchesRfc4231AndComparesProofs) {
  // RFC 4231, test case 2.
  EXPECT_EQ(hmac_sha256_hex("Jefe", "what do ya want for nothing?"), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
  std::string nonce = random_nonce();
  EXPECT_EQ(nonce.size(), 64u);
  EXPECT_NE(nonce, random_nonce());
  EXPECT_TRUE(proof_matches("secret", nonce, hmac_sha256_hex("secret", nonce)));
  EXPECT_FALSE(proof_matches("secret", nonce, hmac_sha256_hex("other", nonce)));
  EXPECT_FALSE(proof_matches("secret", nonce, ""));
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
