// Wall-clock time as Unix seconds (the unit of every timestamp in the results database).
#pragma once

#include <chrono>

namespace cfm {

inline double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

}  // namespace cfm
