#include "common/util/error.h"

#include <cstdio>
#include <cstdlib>

namespace cfm {

void assertion_failed(const char* expression, const char* function, const char* file, int line) {
  std::fprintf(stderr, "cfm: internal assertion failed: %s in %s (%s:%d)\n", expression, function, file,
               line);
  std::abort();
}

}  // namespace cfm
