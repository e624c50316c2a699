// SHA-256 digests (OpenSSL), used wherever cfm needs a stable, platform-independent hash.
#pragma once

#include <string>
#include <string_view>

namespace cfm {

// Lower-case hex SHA-256 of `bytes`.
std::string sha256_hex(std::string_view bytes);

}  // namespace cfm
