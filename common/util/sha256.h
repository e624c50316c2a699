// SHA-256 digests (OpenSSL) as lower-case hex, of bytes in memory or of a file streamed in blocks.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cfm {

std::string sha256_hex(std::string_view bytes);

// Streams the file (constant memory); throws IoError when it cannot be read.
std::string sha256_file_hex(const std::string& path);

std::string to_hex(const unsigned char* data, std::size_t size);

}  // namespace cfm
