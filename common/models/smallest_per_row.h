// The k smallest entries of every row of a matrix by one scan per row, for the two places where the
// official code sorts (or topk's) whole rows only to keep their first few: the 3 nearest centres of the
// alignment (a full sort) and the k nearest points of Point-MAE's grouping (topk).
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace cfm {

struct SmallestPerRow {
  at::Tensor values;   // rows x k, ascending
  at::Tensor indices;  // rows x k, int64 column indices
  // Rows whose k + 1 smallest values are not all different (or that hold fewer than k + 1 finite values).
  // Elsewhere the list is what any correct sort or topk returns; in these rows the order among equal
  // values is the algorithm's own choice (LibTorch's sort and topk are not stable), so callers recompute
  // them with the operation whose choice they must reproduce.
  std::vector<std::int64_t> tied_rows;
};

// `d`: rows x columns, CPU float32, contiguous; 1 <= k <= columns. For small k each row keeps its k + 1
// smallest values in a sorted buffer as it is scanned (most entries are rejected by one comparison); for
// larger k one selection (nth_element) per row finds them. Rows are spread over LibTorch's intra-op threads.
SmallestPerRow smallest_per_row(const at::Tensor& d, int k);

}  // namespace cfm
