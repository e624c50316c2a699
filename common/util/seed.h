// Deriving independent, reproducible seeds from a base seed and a name (FNV-1a), so that work items get
// the same random stream whatever the thread or processing order.
#pragma once

#include <cstdint>
#include <string>

namespace cfm {

inline std::uint64_t derive_seed(std::uint64_t seed, const std::string& identity) {
  std::uint64_t h = 1469598103934665603ull ^ seed;
  for (unsigned char c : identity) h = (h ^ c) * 1099511628211ull;
  return h;
}

}  // namespace cfm
