#include "common/models/point_sampling.h"

#include <torch/torch.h>

#include "common/util/error.h"

namespace cfm {

std::vector<std::int64_t> farthest_point_sample(const at::Tensor& points_in, int count) {
  at::Tensor points = points_in.to(torch::kCPU, torch::kFloat32).contiguous();
  const std::int64_t n = points.size(0);
  CFM_ASSERT(count >= 1 && count <= n);
  const float* p = points.data_ptr<float>();
  std::vector<float> nearest(static_cast<std::size_t>(n), 1e10f);
  std::vector<std::int64_t> chosen(static_cast<std::size_t>(count), 0);
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
    chosen[static_cast<std::size_t>(j)] = last;
  }
  return chosen;
}

at::Tensor k_nearest_points(const at::Tensor& points, const at::Tensor& centres, int k,
                            std::int64_t centres_per_chunk) {
  torch::NoGradGuard no_grad;
  const std::int64_t g = centres.size(0);
  std::vector<at::Tensor> parts;
  for (std::int64_t start = 0; start < g; start += centres_per_chunk) {
    at::Tensor chunk = centres.slice(0, start, std::min(g, start + centres_per_chunk));
    at::Tensor distance = (points.unsqueeze(0) - chunk.unsqueeze(1)).pow(2).sum(-1).sqrt();  // chunk x N
    parts.push_back(std::get<1>(distance.topk(k, 1, /*largest=*/false, /*sorted=*/true)));
  }
  return torch::cat(parts, 0);
}

}  // namespace cfm
