// Wire framing (docs/architecture.md §5): a 4-byte big-endian length followed by that many bytes of UTF-8
// JSON. Every message is a JSON object with a "type" and the protocol "version". Frames above the size limit
// are refused before any allocation, so a garbage length cannot make a peer allocate gigabytes.
#pragma once

#include <array>
#include <cstdint>
#include <nlohmann/json_fwd.hpp>
#include <string>

namespace cfm::net {

// 2: handshake proofs bound to role and both nonces (version 1 peers are refused with a clear message).
constexpr int kProtocolVersion = 2;
constexpr std::uint32_t kMaxFrameBytes = 4u << 20;  // results with log tails stay far below this
// Before authentication only hello and auth arrive, a few hundred bytes: an anonymous peer cannot make
// the coordinator hold more than this per connection.
constexpr std::uint32_t kMaxHandshakeFrameBytes = 4096;

// Header bytes for a body of `size` bytes (throws ProtocolError above the limit).
std::array<unsigned char, 4> frame_header(std::size_t size);

// Body size announced by a header; throws ProtocolError when it exceeds `limit`.
std::uint32_t frame_body_size(const std::array<unsigned char, 4>& header,
                              std::uint32_t limit = kMaxFrameBytes);

// The full frame of a message (header + JSON); adds "version" if the message has none.
std::string encode_frame(nlohmann::json message);

// Parses a frame body: must be a JSON object with a string "type" and this protocol's "version". Errors
// quote the peer's input only as a short excerpt.
nlohmann::json decode_body(const std::string& body);

}  // namespace cfm::net
