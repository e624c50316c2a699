#include "common/cfm/scorer.h"

#include <torch/torch.h>

#include "common/util/error.h"

namespace cfm {

at::Tensor normalised_discrepancy(const at::Tensor& prediction, const at::Tensor& target) {
  auto unit = [](const at::Tensor& v) { return v / v.norm(2, 1, true).clamp_min(1e-12); };  // F.normalize
  return (unit(prediction) - unit(target)).norm(2, 1);
}

at::Tensor box_filter(const at::Tensor& map, int size, int passes) {
  CFM_ASSERT(map.dim() >= 2 && size % 2 == 1);
  // A direct convolution written as a sum of shifted copies, on the map's device: each output adds the
  // window's products in row-major order from +0, what a loop over the window computes (values outside the
  // image add +0 * w = +0, which changes no sum).
  const std::int64_t h = map.size(-2), w = map.size(-1), r = size / 2;
  const float weight = 1.0f / static_cast<float>(size * size);
  at::Tensor current = map.to(torch::kFloat32);
  for (int pass = 0; pass < passes; ++pass) {
    const at::Tensor padded = torch::constant_pad_nd(current, {r, r, r, r}, 0);
    at::Tensor sum = torch::zeros_like(current);
    for (std::int64_t dy = 0; dy < size; ++dy)
      for (std::int64_t dx = 0; dx < size; ++dx)
        sum.add_(padded.narrow(-2, dy, h).narrow(-1, dx, w) * weight);
    current = sum;
  }
  return current;
}

AnomalyMaps score_sample(const at::Tensor& rgb_patch, const at::Tensor& rgb_prediction,
                         const at::Tensor& xyz_patch, const at::Tensor& xyz_prediction,
                         const at::Tensor& empty, int grid) {
  torch::NoGradGuard no_grad;
  AnomalyMaps maps;
  at::Tensor keep = (~empty).to(torch::kFloat32);
  maps.map_3d = (normalised_discrepancy(xyz_prediction, xyz_patch) * keep).reshape({grid, grid});
  maps.map_2d = (normalised_discrepancy(rgb_prediction, rgb_patch) * keep).reshape({grid, grid});
  maps.combined = smooth_anomaly_maps(maps.map_2d * maps.map_3d * keep.reshape({grid, grid}));
  return maps;
}

at::Tensor smooth_anomaly_maps(const at::Tensor& products) {
  return box_filter(box_filter(products, 5, 5), 7, 3);
}

AnomalyMaps discrepancy_maps(const at::Tensor& kept, const at::Tensor& rgb_rows,
                             const at::Tensor& rgb_prediction, const at::Tensor& xyz_rows,
                             const at::Tensor& xyz_prediction, int grid) {
  torch::NoGradGuard no_grad;
  AnomalyMaps maps;
  auto scattered = [&](const at::Tensor& values) {
    return torch::zeros({grid * grid}, values.options()).index_copy_(0, kept, values).reshape({grid, grid});
  };
  maps.map_3d = scattered(normalised_discrepancy(xyz_prediction, xyz_rows));
  maps.map_2d = scattered(normalised_discrepancy(rgb_prediction, rgb_rows));
  return maps;
}

}  // namespace cfm
