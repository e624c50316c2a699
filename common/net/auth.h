// Shared-token mutual authentication as HMAC-SHA256 challenge-response (docs/architecture.md, "Wire
// protocol"). The client sends a fresh nonce, the coordinator answers with its own nonce and its proof,
// the client answers with its proof. Each proof is bound to its role and to both nonces:
//   proof(role) = HMAC(token, "cfm <role> proof\n" <client nonce> "\n" <server nonce>)
// so an answer taken from one connection or one direction is never valid in another (no reflection,
// no replay), and the token itself never crosses the wire.
#pragma once

#include <cstddef>
#include <string>

namespace cfm::net {

enum class Role { Coordinator, Client };

constexpr std::size_t kNonceChars = 64;     // 32 random bytes, lower-case hex
constexpr std::size_t kMinTokenBytes = 16;  // shorter shared secrets are refused

// 32 random bytes from OpenSSL's CSPRNG, hex-encoded.
std::string random_nonce();

// True for exactly kNonceChars lower-case hex characters.
bool is_nonce(const std::string& text);

// Lower-case hex HMAC-SHA256 of `message` under `token`.
std::string hmac_sha256_hex(const std::string& token, const std::string& message);

// The proof that the party in `role` holds the token, for the handshake with these two nonces.
std::string handshake_proof(const std::string& token, Role role, const std::string& client_nonce,
                            const std::string& server_nonce);

// Constant-time check of a received proof.
bool proof_matches(const std::string& token, Role role, const std::string& client_nonce,
                   const std::string& server_nonce, const std::string& proof);

// Refuses a token shorter than kMinTokenBytes; `origin` names where it came from in the message.
void check_token_strength(const std::string& token, const std::string& origin);

// Reads a token file: the first line, surrounding whitespace removed. Refuses a file that group or
// others may read (the token lets its holder submit jobs) and a token that is too short.
std::string read_token_file(const std::string& path);

// Writes a fresh random token (32 bytes, hex) to a new file created with mode 0600; refuses to replace
// an existing file unless `replace`.
void write_new_token_file(const std::string& path, bool replace);

}  // namespace cfm::net
