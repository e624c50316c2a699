#include "common/models/smallest_per_row.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <mutex>
#include <utility>

#include "common/util/error.h"

namespace cfm {
namespace {

// Few kept values: a sorted buffer, updated as the row is scanned (most entries fail one comparison).
constexpr int kBufferUpTo = 8;

// The row's `kept` smallest values, ascending, with their columns; a column of -1 when the row has fewer
// finite values. A tie moves ahead of the value it equals, so the caller's check sees it.
void smallest_by_buffer(const float* row, std::int64_t columns,
                        std::vector<std::pair<float, std::int64_t>>& kept) {
  std::fill(kept.begin(), kept.end(), std::make_pair(static_cast<float>(INFINITY), std::int64_t{-1}));
  for (std::int64_t j = 0; j < columns; ++j) {
    const float x = row[j];
    if (!(x <= kept.back().first)) continue;  // NaN too
    std::size_t slot = kept.size() - 1;
    for (; slot > 0 && x <= kept[slot - 1].first; --slot) kept[slot] = kept[slot - 1];
    kept[slot] = {x, j};
  }
}

// Many kept values: nth_element finds the kept-th smallest, then the entries up to it are sorted. (A
// buffer would shift ~k entries per insertion, and rows of a depth image approach their centre in scan
// order, inserting at the front again and again.)
void smallest_by_selection(const float* row, std::int64_t columns, std::size_t wanted,
                           std::vector<float>& scratch, std::vector<std::pair<float, std::int64_t>>& kept) {
  scratch.assign(row, row + columns);
  if (std::any_of(scratch.begin(), scratch.end(), [](float x) { return std::isnan(x); })) {
    kept.assign(wanted, std::make_pair(static_cast<float>(NAN), std::int64_t{-1}));
    return;  // no strict weak order: leave the row to the caller's fallback
  }
  std::nth_element(scratch.begin(), scratch.begin() + static_cast<std::ptrdiff_t>(wanted - 1), scratch.end());
  const float threshold = scratch[wanted - 1];
  kept.clear();
  for (std::int64_t j = 0; j < columns; ++j)
    if (row[j] <= threshold) kept.emplace_back(row[j], j);
  std::sort(kept.begin(), kept.end());
  kept.resize(wanted);
}

}  // namespace

SmallestPerRow smallest_per_row(const at::Tensor& d, int k) {
  CFM_ASSERT(d.is_cpu() && d.scalar_type() == torch::kFloat32 && d.is_contiguous() && d.dim() == 2);
  const std::int64_t rows = d.size(0), columns = d.size(1);
  CFM_ASSERT(k >= 1 && k <= columns);
  const auto kept_count =
      static_cast<std::size_t>(std::min<std::int64_t>(k + 1, columns));  // k+1: see a tie at k
  SmallestPerRow out;
  out.values = torch::empty({rows, k}, d.options());
  out.indices = torch::empty({rows, k}, d.options().dtype(torch::kInt64));
  const float* all = d.data_ptr<float>();
  float* values = out.values.data_ptr<float>();
  std::int64_t* indices = out.indices.data_ptr<std::int64_t>();
  std::mutex tied_mutex;
  at::parallel_for(0, rows, 64, [&](std::int64_t first, std::int64_t last) {
    std::vector<std::pair<float, std::int64_t>> kept(kept_count);
    std::vector<float> scratch;
    for (std::int64_t row = first; row < last; ++row) {
      const float* r = all + row * columns;
      if (k <= kBufferUpTo) {
        smallest_by_buffer(r, columns, kept);
      } else {
        smallest_by_selection(r, columns, kept_count, scratch, kept);
      }
      bool distinct = kept.back().second >= 0;
      for (std::size_t i = 1; i < kept.size() && distinct; ++i) distinct = kept[i - 1].first < kept[i].first;
      if (!distinct) {
        std::lock_guard<std::mutex> lock(tied_mutex);
        out.tied_rows.push_back(row);
      }
      for (int i = 0; i < k; ++i) {
        values[row * k + i] = kept[static_cast<std::size_t>(i)].first;
        indices[row * k + i] = kept[static_cast<std::size_t>(i)].second;
      }
    }
  });
  std::sort(out.tied_rows.begin(), out.tied_rows.end());
  return out;
}

}  // namespace cfm
