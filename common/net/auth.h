// Shared-token authentication as HMAC-SHA256 challenge-response (design.md §5): the server sends a
// random nonce, the client answers HMAC(token, nonce); the token itself never crosses the wire.
#pragma once

#include <string>

namespace cfm::net {

// 32 random bytes from OpenSSL's CSPRNG, hex-encoded.
std::string random_nonce();

// Lower-case hex HMAC-SHA256 of `message` under `token`.
std::string hmac_sha256_hex(const std::string& token, const std::string& message);

// Constant-time comparison of the expected and received proofs.
bool proof_matches(const std::string& token, const std::string& nonce, const std::string& proof);

// Reads a token file: the first line, surrounding whitespace removed; refuses an empty token.
std::string read_token_file(const std::string& path);

}  // namespace cfm::net
