// Text placed inside HTML or SVG markup: &, <, > and " escaped.
#pragma once

#include <string>

namespace cfm {

std::string escape_markup(const std::string& text);

}  // namespace cfm
