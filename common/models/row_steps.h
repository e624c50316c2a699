// Work over the rows of a matrix, shared out over LibTorch's intra-op threads: each thread takes one
// contiguous range of rows and goes through it in steps of at most `step` rows, so that a step's
// intermediates stay small whatever the row count. Inside RowParallelThreads (thread_policy.h) each
// thread's matrix products run on that thread, so rows split this way use every core.
//
//   for_row_steps(rows, 512, [&](std::int64_t first, std::int64_t last) { ... rows [first, last) ... });
#pragma once

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstdint>

namespace cfm {

template <typename Fn>
void for_row_steps(std::int64_t rows, std::int64_t step, const Fn& fn) {
  at::parallel_for(0, rows, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t first = begin; first < end; first += step) fn(first, std::min(end, first + step));
  });
}

}  // namespace cfm
