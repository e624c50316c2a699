// Quoting an untrusted JSON value in an error message or log line: its text, cut at `limit` bytes, built
// without ever writing more than that (a 4 MiB array costs as little to quote as a number), in excerpt()'s
// alphabet (printable ASCII; other bytes as \xNN).
#pragma once

#include <cstddef>
#include <nlohmann/json_fwd.hpp>
#include <string>

#include "common/util/excerpt.h"

namespace cfm {

std::string json_excerpt(const nlohmann::json& value, std::size_t limit = kExcerptBytes);

}  // namespace cfm
