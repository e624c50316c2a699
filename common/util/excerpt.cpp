#include "common/util/excerpt.h"

#include <fmt/format.h>

namespace cfm {

std::string excerpt(std::string_view text, std::size_t limit) {
  std::string shown;
  std::size_t used = 0;
  for (; used < text.size() && shown.size() < limit; ++used) {
    auto byte = static_cast<unsigned char>(text[used]);
    if (byte >= 0x20 && byte < 0x7f)
      shown += static_cast<char>(byte);
    else
      shown += fmt::format("\\x{:02x}", byte);
  }
  if (used < text.size()) shown += fmt::format("... ({} bytes)", text.size());
  return shown;
}

}  // namespace cfm
