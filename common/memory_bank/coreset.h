// Greedy coreset sub-sampling of a memory bank (docs/method.md §11.2), as PatchCore / M3DM do it: the
// bank's rows are first projected to a Johnson-Lindenstrauss dimension by a sparse random projection
// (scikit-learn's SparseRandomProjection: density 1/sqrt(d), entries ±sqrt(1/density)/sqrt(k)), then
// greedy k-center selection starts from row 0 and repeatedly adds the row farthest from the rows chosen
// so far. The projection is seeded here (the original draws it unseeded), so a job is reproducible.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>

namespace cfm {

// scikit-learn's johnson_lindenstrauss_min_dim: floor(4 ln(n) / (eps²/2 - eps³/3)).
std::int64_t johnson_lindenstrauss_dim(std::int64_t samples, double eps);

// A features x components projection matrix (float32, CPU), drawn from `seed`.
at::Tensor sparse_random_projection(std::int64_t features, std::int64_t components, std::uint64_t seed);

// Indices (int64, CPU) of `count` rows of `rows` chosen by greedy k-center from row 0, in selection order.
// Distances are Euclidean; ties go to the lowest index (argmax). `count` is clamped to [1, rows].
at::Tensor greedy_k_center(const at::Tensor& rows, std::int64_t count);

// The coreset of `bank`: projected when the JL dimension is positive and at most the feature count
// (otherwise, as in the original, the rows are used as they are), then greedy k-center.
at::Tensor coreset_indices(const at::Tensor& bank, std::int64_t count, double eps, std::uint64_t seed);

}  // namespace cfm
