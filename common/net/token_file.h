// The shared token of a cluster: who holds it may submit jobs, and every connection to the coordinator
// is keyed by it (common/net/tls.h). It lives in a file that only its owner may read.
#pragma once

#include <cstddef>
#include <string>

namespace cfm::net {

constexpr std::size_t kMinTokenBytes = 16;  // shorter shared secrets are refused

// Refuses a token shorter than kMinTokenBytes; `origin` names where it came from in the message.
void check_token_strength(const std::string& token, const std::string& origin);

// Reads a token file: the first line, surrounding whitespace removed. Refuses a file that group or
// others may read (the token lets its holder submit jobs) and a token that is too short.
std::string read_token_file(const std::string& path);

// Writes a fresh random token (32 bytes, hex) to a new file created with mode 0600; refuses to replace
// an existing file unless `replace`.
void write_new_token_file(const std::string& path, bool replace);

}  // namespace cfm::net
