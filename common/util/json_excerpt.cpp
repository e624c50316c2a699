#include "common/util/json_excerpt.h"

#include <nlohmann/json.hpp>

namespace cfm {
namespace {

// Appends `value`'s JSON text to `out` while `out` is shorter than `limit`: containers stop at the element
// that reaches it, strings are cut before they are escaped. Recursion follows the value's nesting, which
// decode_body bounds for everything a peer sends (kMaxJsonDepth).
void append_bounded(const nlohmann::json& value, std::string& out, std::size_t limit) {
  if (out.size() >= limit) return;
  if (value.is_string()) {
    const auto& text = value.get_ref<const std::string&>();
    out += nlohmann::json(text.substr(0, limit - out.size())).dump();
  } else if (value.is_object()) {
    out += '{';
    for (auto item = value.begin(); item != value.end() && out.size() < limit; ++item) {
      if (item != value.begin()) out += ',';
      append_bounded(nlohmann::json(item.key().substr(0, limit)), out, limit);
      out += ':';
      append_bounded(item.value(), out, limit);
    }
    out += '}';
  } else if (value.is_array()) {
    out += '[';
    for (auto item = value.begin(); item != value.end() && out.size() < limit; ++item) {
      if (item != value.begin()) out += ',';
      append_bounded(*item, out, limit);
    }
    out += ']';
  } else {
    out += value.dump();  // a number, true, false or null: a few bytes
  }
}

}  // namespace

std::string json_excerpt(const nlohmann::json& value, std::size_t limit) {
  std::string text;
  append_bounded(value, text, limit + 1);
  std::string quoted = excerpt(text, limit);
  if (text.size() > limit) quoted = quoted.substr(0, quoted.rfind("... (")) + "...";
  return quoted;
}

}  // namespace cfm
