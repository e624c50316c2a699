#include <fmt/format.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/net/client.h"
#include "common/net/frame.h"
#include "common/net/protocol_error.h"
#include "common/net/tls.h"
#include "common/net/token_file.h"
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
  EXPECT_THROW(decode_body(R"({"version": 3})"), ProtocolError);
  EXPECT_THROW(decode_body(R"({"type": "status", "version": 2})"), ProtocolError);
  EXPECT_THROW(frame_header(kMaxFrameBytes + 1), ProtocolError);
}

TEST(Frame, AnOldPeerIsToldAboutTheProtocolVersion) {
  try {
    decode_body(R"({"type": "hello", "version": 2, "name": "old", "nonce": "abc"})");
    FAIL() << "a version 2 hello was accepted";
  } catch (const ProtocolError& e) {
    EXPECT_NE(
        std::string(e.what()).find("peer speaks protocol version 2, this cfm speaks protocol version 3"),
        std::string::npos)
        << e.what();
  }
}

std::string nested(int depth) {
  return R"({"type":"status","version":3,"grid":)" + std::string(depth - 1, '[') +
         std::string(depth - 1, ']') + "}";
}

TEST(Frame, NestingIsLimitedWhileParsing) {
  EXPECT_NO_THROW(decode_body(nested(kMaxJsonDepth)));  // the object and 63 arrays inside it
  for (int depth : {kMaxJsonDepth + 1, 1000, 100000}) {
    try {
      decode_body(nested(depth));
      FAIL() << depth << " levels were accepted";
    } catch (const ProtocolError& e) {
      EXPECT_STREQ(e.what(), "message nests deeper than 64 levels (the limit)");
    }
  }
  EXPECT_THROW(decode_body(R"({"type":"status","version":3,"a":)" + std::string(100000, '{') + "}"),
               ProtocolError);
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
      EXPECT_NE(std::string(e.what()).find("..."), std::string::npos) << e.what();  // says it left some out
    }
  }
}

TEST(Tls, TheKeyIsHmacSha256OfTheLabelUnderTheToken) {
  // Expected values from Python: hmac.new(token, b"cfm tls psk v1", hashlib.sha256).hexdigest()
  auto hex = [](const PreSharedKey& key) {
    std::string text;
    for (unsigned char byte : key) text += fmt::format("{:02x}", byte);
    return text;
  };
  EXPECT_EQ(hex(pre_shared_key("0123456789abcdef0123")),
            "43ebb2ff184acb22b58c8eebe7f4c1b8a0e66d1e613e02ce4fc12287c29845c7");
  EXPECT_EQ(hex(pre_shared_key("s3cret-token-for-the-tests")),
            "84359fc06bbee5fa1792b994b2b8995aa4d103a8fe342e49dadae04aee183893");
  EXPECT_NE(pre_shared_key("0123456789abcdef0123"), pre_shared_key("0123456789abcdef0124"));
}

// What a client does with a failed handshake: retry a broken connection, stop on a wrong token or peer.
TEST(Tls, HandshakeFailuresSayWhatToDoAndWhetherARetryCanHelp) {
  auto openssl = [](int reason) {
    return boost::system::error_code(static_cast<int>(ERR_PACK(ERR_LIB_SSL, 0, reason)),
                                     boost::asio::error::get_ssl_category());
  };
  HandshakeProblem wrong_token = explain_handshake_failure(openssl(SSL_R_BINDER_DOES_NOT_VERIFY));
  EXPECT_EQ(wrong_token.reason, "does not know this token (wrong token file?)");
  EXPECT_FALSE(wrong_token.worth_retrying);
  EXPECT_EQ(explain_handshake_failure(openssl(SSL_R_TLSV1_ALERT_DECRYPT_ERROR)).reason, wrong_token.reason);
  HandshakeProblem old_peer = explain_handshake_failure(openssl(SSL_R_WRONG_VERSION_NUMBER));
  EXPECT_EQ(old_peer.reason.rfind("does not speak TLS 1.3 (wrong version number)", 0), 0u) << old_peer.reason;
  EXPECT_FALSE(old_peer.worth_retrying);
  EXPECT_FALSE(explain_handshake_failure(openssl(SSL_R_CERTIFICATE_VERIFY_FAILED)).worth_retrying);
  HandshakeProblem left = explain_handshake_failure(boost::asio::ssl::error::stream_truncated);
  EXPECT_EQ(left.reason, "left during the TLS handshake");
  EXPECT_TRUE(left.worth_retrying);
  EXPECT_TRUE(explain_handshake_failure(boost::asio::error::connection_reset).worth_retrying);
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
  EXPECT_EQ(token.size(), 64u);  // 32 random bytes in hex
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef"), std::string::npos) << token;
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
