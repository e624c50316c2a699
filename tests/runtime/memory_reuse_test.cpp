#include "common/runtime/memory_reuse.h"

#include <gtest/gtest.h>
#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

namespace cfm {
namespace {

long minor_page_faults() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_minflt;
}

// A 64 MB block (above glibc's largest adaptive mmap threshold) allocated, written and freed.
void use_large_block() {
  constexpr std::size_t kBytes = 64 << 20;
  char* block = static_cast<char*>(std::malloc(kBytes));
  ASSERT_NE(block, nullptr);
  std::memset(block, 1, kBytes);
  __asm__ volatile("" : : "r"(block) : "memory");  // the writes must happen
  std::free(block);
}

// The second large block reuses the first one's pages: no page is mapped and cleared again (a fresh
// 64 MB block takes 16,384 minor faults).
TEST(MemoryReuse, ALargeBlockFreedIsReusedWithoutNewPageFaults) {
  ASSERT_TRUE(keep_freed_memory_for_reuse());
  use_large_block();
  const long before = minor_page_faults();
  use_large_block();
  EXPECT_LT(minor_page_faults() - before, 1000);
}

}  // namespace
}  // namespace cfm
