// Wire framing (docs/architecture.md §5), inside the TLS stream: a 4-byte big-endian length followed by that
// many bytes of UTF-8 JSON. Every message is a JSON object with a "type" and the protocol "version". Frames
// above the size limit are refused before any allocation, so a garbage length cannot make a peer allocate
// gigabytes, and nesting deeper than kMaxJsonDepth is refused while parsing, so no message can exhaust the
// stack of the code that reads, quotes or frees it.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace cfm::net {

// 3: TLS 1.3 keyed by the token (tls.h) in place of version 2's challenge-response over plain TCP.
constexpr int kProtocolVersion = 3;
constexpr std::uint32_t kMaxFrameBytes = 4u << 20;  // results with log tails stay far below this
// The first frame, hello, is a few dozen bytes: until it has arrived a peer cannot make the coordinator
// hold more than this per connection.
constexpr std::uint32_t kMaxHandshakeFrameBytes = 4096;
// cfm's messages nest a few levels (a job's configuration, a result's sections).
constexpr int kMaxJsonDepth = 64;

// Header bytes for a body of `size` bytes (throws ProtocolError above the limit).
std::array<unsigned char, 4> frame_header(std::size_t size);

// Body size announced by a header; throws ProtocolError when it exceeds `limit`.
std::uint32_t frame_body_size(const std::array<unsigned char, 4>& header,
                              std::uint32_t limit = kMaxFrameBytes);

// The full frame of a message (header + JSON); adds "version" if the message has none.
std::string encode_frame(nlohmann::json message);

// Parses a frame body: must be a JSON object, nested at most kMaxJsonDepth deep, with a string "type" and
// this protocol's "version". Errors quote the peer's input only as a short excerpt.
nlohmann::json decode_body(const std::string& body);

}  // namespace cfm::net
