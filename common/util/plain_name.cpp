#include "common/util/plain_name.h"

namespace cfm {

bool is_plain_name(const std::string& name) {
  static const char* allowed = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._+-";
  return !name.empty() && name.size() <= kMaxPlainNameBytes && name.front() != '.' &&
         name.find_first_not_of(allowed) == std::string::npos;
}

}  // namespace cfm
