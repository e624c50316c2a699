#include "common/runtime/memory_reuse.h"

#include <cstdlib>  // defines __GLIBC__ under glibc

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace cfm {

bool keep_freed_memory_for_reuse() {
#if defined(__GLIBC__)
  constexpr int kLimit = 1 << 30;
  // Both: a fixed mmap threshold alone also fixes the trim threshold at its default (128 KiB), and the
  // heap top would still go back to the kernel after every large free.
  return mallopt(M_MMAP_THRESHOLD, kLimit) == 1 && mallopt(M_TRIM_THRESHOLD, kLimit) == 1;
#else
  return false;
#endif
}

}  // namespace cfm
