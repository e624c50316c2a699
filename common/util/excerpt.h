// Quoting untrusted text (network input, file content) in error messages and logs: at most `limit`
// bytes, control and non-ASCII bytes shown as \xNN (so quoting an excerpt again changes nothing), and
// the full size said when it was cut. An error reply or log line built from an excerpt therefore stays
// short however large the input was, and a peer cannot inject line breaks into the log.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace cfm {

constexpr std::size_t kExcerptBytes = 64;

std::string excerpt(std::string_view text, std::size_t limit = kExcerptBytes);

}  // namespace cfm
