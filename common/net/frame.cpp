#include "common/net/frame.h"

#include <nlohmann/json.hpp>

#include "common/net/protocol_error.h"
#include "common/util/excerpt.h"
#include "common/util/json_excerpt.h"

namespace cfm::net {

std::array<unsigned char, 4> frame_header(std::size_t size) {
  if (size > kMaxFrameBytes)
    throw ProtocolError("frame of " + std::to_string(size) + " bytes exceeds the limit of " +
                        std::to_string(kMaxFrameBytes));
  auto n = static_cast<std::uint32_t>(size);
  return {static_cast<unsigned char>(n >> 24), static_cast<unsigned char>(n >> 16),
          static_cast<unsigned char>(n >> 8), static_cast<unsigned char>(n)};
}

std::uint32_t frame_body_size(const std::array<unsigned char, 4>& h, std::uint32_t limit) {
  std::uint32_t n =
      (std::uint32_t{h[0]} << 24) | (std::uint32_t{h[1]} << 16) | (std::uint32_t{h[2]} << 8) | h[3];
  if (n > limit)
    throw ProtocolError("peer announced a frame of " + std::to_string(n) + " bytes (limit " +
                        std::to_string(limit) + ")");
  if (n == 0) throw ProtocolError("empty frame");
  return n;
}

std::string encode_frame(nlohmann::json message) {
  if (!message.contains("version")) message["version"] = kProtocolVersion;
  std::string body = message.dump();
  auto header = frame_header(body.size());
  return std::string(header.begin(), header.end()) + body;
}

namespace {

// Stops the parser at the first array or object that would be nested deeper than kMaxJsonDepth, before
// anything below it is built.
bool within_depth(int depth, nlohmann::json::parse_event_t event, nlohmann::json&) {
  using event_t = nlohmann::json::parse_event_t;
  if (depth >= kMaxJsonDepth && (event == event_t::object_start || event == event_t::array_start))
    throw ProtocolError("message nests deeper than " + std::to_string(kMaxJsonDepth) + " levels (the limit)");
  return true;
}

}  // namespace

nlohmann::json decode_body(const std::string& body) {
  nlohmann::json j = nlohmann::json::parse(body, within_depth, false);
  if (j.is_discarded()) throw ProtocolError("frame is not valid JSON");
  if (!j.is_object()) throw ProtocolError("message is not a JSON object");
  if (!j.contains("type") || !j["type"].is_string()) throw ProtocolError("message has no string 'type'");
  if (!j.contains("version") || j["version"] != kProtocolVersion)
    throw ProtocolError("peer speaks protocol version " +
                        (j.contains("version") ? json_excerpt(j["version"]) : std::string("(none)")) +
                        ", this cfm speaks protocol version " + std::to_string(kProtocolVersion) +
                        " (message type '" + excerpt(j["type"].get<std::string>()) +
                        "'; run the same cfm release on every node)");
  return j;
}

}  // namespace cfm::net
