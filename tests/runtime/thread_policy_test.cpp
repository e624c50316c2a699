#include "common/runtime/thread_policy.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

namespace cfm {
namespace {

TEST(ThreadPolicy, EachProcessGetsItsShareOfTheCoresForTheMatrixProducts) {
  const int cores = usable_cores();
  ThreadPolicy alone = choose_thread_policy(0, 1);
  EXPECT_EQ(alone.cores, cores);
  EXPECT_EQ(alone.blas_threads, cores);
  EXPECT_EQ(alone.intra_op_threads, 1);
  EXPECT_FALSE(alone.requested);
  ThreadPolicy crowded = choose_thread_policy(0, cores * 4);  // more processes than cores: one each
  EXPECT_EQ(crowded.blas_threads, 1);
  ThreadPolicy halves = choose_thread_policy(0, 2);
  EXPECT_EQ(halves.blas_threads, std::max(1, cores / 2));
  ThreadPolicy asked = choose_thread_policy(3, 8);  // an explicit setting wins over the share
  EXPECT_EQ(asked.blas_threads, 3);
  EXPECT_TRUE(asked.requested);
  EXPECT_NE(describe(asked).find("requested"), std::string::npos) << describe(asked);
}

TEST(ThreadPolicy, ApplyingItSetsBothPools) {
  ThreadPolicy p = choose_thread_policy(3, 1);
  p.intra_op_threads = 2;
  apply_thread_policy(p);
  EXPECT_EQ(at::get_num_threads(), 2);
  // Debian's LibTorch runs on OpenBLAS (setup.sh installs it): its own count must be the policy's.
  auto get = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  ASSERT_NE(get, nullptr) << "LibTorch is not running on OpenBLAS here";
  EXPECT_EQ(get(), 3);
  apply_thread_policy(choose_thread_policy(1, 1));
  EXPECT_EQ(get(), 1);
  EXPECT_EQ(at::get_num_threads(), 1);
}

TEST(ThreadPolicy, RowParallelThreadsHandsTheShareToLibTorchsPoolWhileAlive) {
  auto blas_threads = reinterpret_cast<int (*)()>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  ASSERT_NE(blas_threads, nullptr) << "LibTorch is not running on OpenBLAS here";
  apply_thread_policy(choose_thread_policy(2, 1));
  {
    RowParallelThreads cores;
    EXPECT_EQ(blas_threads(), 1);
    EXPECT_EQ(at::get_num_threads(), 2);
    // cfm is compiled with OpenMP: its at::parallel_for loops really run on both threads.
    std::vector<int> thread_of_item(2, -1);
    at::parallel_for(0, 2, 1, [&](std::int64_t first, std::int64_t last) {
      for (std::int64_t i = first; i < last; ++i) thread_of_item[i] = at::get_thread_num();
    });
    EXPECT_NE(thread_of_item[0], thread_of_item[1]);
    {
      RowParallelThreads nested;  // leaves the pools alone, also when it ends
    }
    EXPECT_EQ(blas_threads(), 1);
    EXPECT_EQ(at::get_num_threads(), 2);
  }
  EXPECT_EQ(blas_threads(), 2);
  EXPECT_EQ(at::get_num_threads(), 1);
  apply_thread_policy(choose_thread_policy(1, 1));  // one thread: nothing to split
  {
    RowParallelThreads cores;
    EXPECT_EQ(blas_threads(), 1);
    EXPECT_EQ(at::get_num_threads(), 1);
  }
}

}  // namespace
}  // namespace cfm
