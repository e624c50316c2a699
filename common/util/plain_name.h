// Names that become one path component (a grid name in runs/<grid>.sqlite and gallery folders, a
// dataset category folder). Anything that arrives from a grid file or over the network is checked with
// this before it is joined to a path, so no name can climb out of its folder.
#pragma once

#include <cstddef>
#include <string>

namespace cfm {

constexpr std::size_t kMaxPlainNameBytes = 128;

// 1 to kMaxPlainNameBytes characters from [A-Za-z0-9._+-], not starting with '.' (so neither "..", a
// hidden file, a separator, a NUL nor an absolute path).
bool is_plain_name(const std::string& name);

// The rule above in words, for error messages.
constexpr const char* kPlainNameRule = "1-128 characters from A-Z a-z 0-9 . _ + -, not starting with '.'";

}  // namespace cfm
