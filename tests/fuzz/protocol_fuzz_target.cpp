// libFuzzer target: everything a peer's bytes go through, once TLS has delivered them, before the
// coordinator or a worker acts on them (docs/architecture.md §5). The input is split as a connection would
// deliver it: a 4-byte length header (checked against both frame limits), a body (decoded as a frame), and
// that body read as every message of the protocol. Inputs reach hundreds of kilobytes and the seeds include
// deeply nested JSON, so the nesting limit and the bounded quoting of values are exercised. Allowed
// outcomes are a value or ProtocolError / a JSON error (what the coordinator answers with a short error
// reply); anything else — another exception, a crash, a stack overflow, a sanitizer report, a leak — is a
// finding.
//
// Built and run by tests/fuzz/run_protocol_fuzz.sh (clang++ -fsanitize=fuzzer,address,undefined).
#include <array>
#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

#include "common/net/frame.h"
#include "common/net/messages.h"
#include "common/net/protocol_error.h"

namespace {

template <typename Message>
void try_parse(const nlohmann::json& m) {
  try {
    Message parsed = Message::parse(m);
    (void)parsed.to_json();  // whatever was accepted can be written back
  } catch (const cfm::net::ProtocolError&) {
  } catch (const nlohmann::json::exception&) {
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace cfm::net;
  if (size < 4) return 0;
  std::array<unsigned char, 4> header{data[0], data[1], data[2], data[3]};
  for (std::uint32_t limit : {kMaxHandshakeFrameBytes, kMaxFrameBytes}) {
    try {
      (void)frame_body_size(header, limit);
    } catch (const ProtocolError&) {
    }
  }
  const std::string body(reinterpret_cast<const char*>(data) + 4, size - 4);
  nlohmann::json m;
  try {
    m = decode_body(body);
  } catch (const ProtocolError&) {
    return 0;
  } catch (const nlohmann::json::exception&) {
    return 0;
  }
  try {
    (void)type_of(m);
  } catch (const ProtocolError&) {
  }
  try_parse<Hello>(m);
  try_parse<ErrorReply>(m);
  try_parse<LeaseRequest>(m);
  try_parse<Idle>(m);
  try_parse<JobOfferMessage>(m);
  try_parse<Heartbeat>(m);
  try_parse<HeartbeatReply>(m);
  try_parse<ResultReport>(m);
  try_parse<FailureReport>(m);
  try_parse<Release>(m);
  try_parse<Submit>(m);
  try_parse<Submitted>(m);
  try_parse<StatusRequest>(m);
  try_parse<StatusReply>(m);
  try {
    (void)encode_frame(m);  // a decoded message can always be framed again
  } catch (const ProtocolError&) {
  }
  return 0;
}
