#include "common/models/point_sampling.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>

#include "common/models/smallest_per_row.h"
#include "common/runtime/device_code.h"
#include "common/util/error.h"

namespace cfm {

namespace {

// One scan over the points per centre, on the CPU.
at::Tensor farthest_point_sample_loop(const at::Tensor& points_in, int count) {
  const at::Tensor points = points_in.contiguous();
  const std::int64_t n = points.size(0);
  const float* p = points.data_ptr<float>();
  std::vector<float> nearest(static_cast<std::size_t>(n), 1e10f);
  at::Tensor chosen = torch::zeros({count}, torch::kInt64);
  std::int64_t* chosen_index = chosen.data_ptr<std::int64_t>();
  std::int64_t last = 0;
  for (int j = 1; j < count; ++j) {
    const float x1 = p[last * 3], y1 = p[last * 3 + 1], z1 = p[last * 3 + 2];
    std::int64_t best_index = 0;
    float best = -1;
    for (std::int64_t i = 0; i < n; ++i) {
      const float x2 = p[i * 3], y2 = p[i * 3 + 1], z2 = p[i * 3 + 2];
      const float magnitude = x2 * x2 + y2 * y2 + z2 * z2;
      if (magnitude <= 1e-3f) continue;
      const float dx = x2 - x1, dy = y2 - y1, dz = z2 - z1;
      const float d = dx * dx + dy * dy + dz * dz;
      const float d2 = std::min(d, nearest[static_cast<std::size_t>(i)]);
      nearest[static_cast<std::size_t>(i)] = d2;
      if (d2 > best) {
        best = d2;
        best_index = i;
      }
    }
    last = best_index;
    chosen_index[j] = last;
  }
  return chosen;
}

// The same values in tensor operations on the clouds' device, all clouds at once (B x N x 3, each padded
// to the largest N with copies of its point 0: a copy is never nearer to the chosen centres than its
// original, which comes first, so it is never chosen before it), with no value read back to the host (the
// next centres stay an index tensor). The squares are summed in the loop's order, and the points near the
// origin start at -1, below every distance, so that the running minimum keeps them there and the arg-max
// (its first maximum: the loop's lowest index on ties) never picks one unless all are.
std::vector<at::Tensor> farthest_point_samples_tensors(const std::vector<at::Tensor>& clouds, int count) {
  std::int64_t largest = 0;
  for (const at::Tensor& c : clouds) largest = std::max(largest, c.size(0));
  std::vector<at::Tensor> padded;
  for (const at::Tensor& c : clouds)
    padded.push_back(torch::cat({c, c.slice(0, 0, 1).expand({largest - c.size(0), 3})}).to(torch::kFloat32));
  const at::Tensor points = torch::stack(padded);  // B x N x 3
  auto squared_norms = [](const at::Tensor& v) {
    const at::Tensor squares = v * v;
    return squares.select(-1, 0) + squares.select(-1, 1) + squares.select(-1, 2);
  };
  const std::int64_t b = points.size(0);
  at::Tensor nearest = torch::full({b, largest}, 1e10f, points.options());
  nearest.masked_fill_(squared_norms(points) <= 1e-3f, -1.f);
  at::Tensor chosen = torch::zeros({b, count}, points.options().dtype(torch::kInt64));
  at::Tensor last = chosen.slice(1, 0, 1);  // B x 1
  for (int j = 1; j < count; ++j) {
    const at::Tensor centres = points.gather(1, last.unsqueeze(-1).expand({b, 1, 3}));  // B x 1 x 3
    at::minimum_out(nearest, nearest, squared_norms(points - centres));
    at::Tensor next = chosen.slice(1, j, j + 1);
    next.copy_(nearest.argmax(1, /*keepdim=*/true));
    last = next;
  }
  return chosen.unbind(0);
}

}  // namespace

std::vector<at::Tensor> farthest_point_samples(const std::vector<at::Tensor>& clouds, int count) {
  CFM_ASSERT(!clouds.empty());
  for (const at::Tensor& c : clouds)
    CFM_ASSERT(c.dim() == 2 && c.size(1) == 3 && count >= 1 && count <= c.size(0));
  if (!runs_cpu_loop(clouds[0])) return farthest_point_samples_tensors(clouds, count);
  std::vector<at::Tensor> chosen;
  for (const at::Tensor& c : clouds) chosen.push_back(farthest_point_sample_loop(c, count));
  return chosen;
}

at::Tensor farthest_point_sample(const at::Tensor& points, int count) {
  return farthest_point_samples({points}, count)[0];
}

// On the CPU one pass computes exactly the expression's values where the expression made five passes over
// a centres x N x 3 temporary (~0.6 s of a 3 s Point-MAE forward at N = 13 K); elsewhere the expression
// runs as it is.
at::Tensor centre_distances(const at::Tensor& points, const at::Tensor& centres) {
  if (!runs_cpu_loop(points) || !runs_cpu_loop(centres))
    return (points.unsqueeze(0) - centres.unsqueeze(1)).pow(2).sum(-1).sqrt();
  const at::Tensor p = points.contiguous(), c = centres.contiguous();
  const std::int64_t n = p.size(0), g = c.size(0);
  at::Tensor distances = torch::empty({g, n}, p.options());
  const float* pp = p.data_ptr<float>();
  const float* cc = c.data_ptr<float>();
  float* out = distances.data_ptr<float>();
  at::parallel_for(0, g, 1, [&](std::int64_t first, std::int64_t last) {
    for (std::int64_t j = first; j < last; ++j) {
      const float cx = cc[j * 3], cy = cc[j * 3 + 1], cz = cc[j * 3 + 2];
      float* row = out + j * n;
      for (std::int64_t i = 0; i < n; ++i) {
        const float dx = pp[i * 3] - cx, dy = pp[i * 3 + 1] - cy, dz = pp[i * 3 + 2] - cz;
        row[i] = std::sqrt(dx * dx + dy * dy + dz * dz);
      }
    }
  });
  return distances;
}

namespace {

// topk(k, 1, largest = false, sorted = true)'s indices for each row of `distances`: from one scan per row
// on the CPU (smallest_per_row), where a row's k + 1 smallest distances are all different, so that every
// correct topk gives that list; topk itself for the other rows (its order among equal distances is its
// own) and off the CPU. LibTorch's CPU topk took ~0.2 s for 1024 rows of 13 K points.
at::Tensor k_smallest_indices(const at::Tensor& distances, int k) {
  auto topk = [k](const at::Tensor& rows) {
    return std::get<1>(rows.topk(k, 1, /*largest=*/false, /*sorted=*/true));
  };
  if (!runs_cpu_loop(distances)) return topk(distances);
  SmallestPerRow smallest = smallest_per_row(distances.contiguous(), k);
  if (!smallest.tied_rows.empty()) {
    const at::Tensor tied = torch::tensor(smallest.tied_rows, torch::kInt64);
    smallest.indices.index_copy_(0, tied, topk(distances.index_select(0, tied)));
  }
  return smallest.indices;
}

}  // namespace

at::Tensor k_nearest_points(const at::Tensor& points, const at::Tensor& centres, int k,
                            std::int64_t centres_per_chunk) {
  torch::NoGradGuard no_grad;
  const std::int64_t g = centres.size(0);
  std::vector<at::Tensor> parts;
  for (std::int64_t start = 0; start < g; start += centres_per_chunk)
    parts.push_back(k_smallest_indices(
        centre_distances(points, centres.slice(0, start, std::min(g, start + centres_per_chunk))), k));
  return torch::cat(parts, 0);
}

}  // namespace cfm
