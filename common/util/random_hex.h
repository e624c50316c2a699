// Random identifiers and secrets: bytes from OpenSSL's CSPRNG, written as lower-case hex.
#pragma once

#include <cstddef>
#include <string>

namespace cfm {

// `bytes` random bytes as 2 * `bytes` lower-case hex characters; throws Error when OpenSSL has none.
std::string random_hex(std::size_t bytes);

}  // namespace cfm
