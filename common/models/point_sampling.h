// Sampling and grouping for Point-MAE (docs/method.md §3.4 steps 1-3).
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace cfm {

// Farthest point sampling exactly as the pointnet2_ops CUDA kernel: the first centre is index 0; every
// point keeps the running minimum of float32 squared distances to the chosen centres (initially 1e10);
// the next centre is the arg-max (lowest index on ties); points with x²+y²+z² <= 1e-3 are never chosen.
// points: N x 3 on any device. Returns the `count` indices (int64) on the points' device: a scan per
// centre on the CPU, tensor operations elsewhere (the same values). Requires 1 <= count <= N.
at::Tensor farthest_point_sample(const at::Tensor& points, int count);
// The same for several clouds (each N_i x 3, all on one device): off the CPU one computation over all of
// them, so that a batch costs the per-centre steps of one cloud.
std::vector<at::Tensor> farthest_point_samples(const std::vector<at::Tensor>& clouds, int count);

// The official KNN's distances, centres x N: (points - centre).pow(2).sum(-1).sqrt() as that tensor
// expression computes them (float32 differences and squares, the three squares summed in order, then the
// square root), bit for bit.
at::Tensor centre_distances(const at::Tensor& points, const at::Tensor& centres);

// For every centre, the indices of its k nearest points (Euclidean, from explicit differences as the
// official KNN), nearest first: G x k int64. Computed `centres_per_chunk` centres at a time so that peak
// memory stays at chunk x N x 3 floats.
at::Tensor k_nearest_points(const at::Tensor& points, const at::Tensor& centres, int k,
                            std::int64_t centres_per_chunk);

}  // namespace cfm
