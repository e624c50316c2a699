#include "common/cfm/feature_alignment.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

namespace cfm {

at::Tensor valid_pixel_indices(const at::Tensor& cloud) {
  at::Tensor flat = cloud.reshape({3, -1});
  return (flat != 0).all(0).nonzero().squeeze(1);
}

at::Tensor interpolate_point_features(const at::Tensor& points, const at::Tensor& centres,
                                      const at::Tensor& features, std::int64_t points_per_chunk) {
  torch::NoGradGuard no_grad;
  // square_distance as the official code, in one product over all points (N x G floats, 200 MB at 50k
  // points and G = 1024): -2 p.c, then + |p|², then + |c|². The expansion cancels badly for points next
  // to a centre, so the same operation order and product shape as the reference keep the results equal.
  at::Tensor d = -2 * torch::matmul(points, centres.transpose(0, 1));
  d += points.pow(2).sum(-1).unsqueeze(1);
  d += centres.pow(2).sum(-1).unsqueeze(0);
  // Each row fully sorted and cut to 3, as the official code: a top-k would break ties between equal
  // float distances differently (the expansion makes such ties common near a centre). Rows are sorted
  // independently, so sorting in chunks gives the same result with bounded memory.
  std::vector<at::Tensor> nearest_parts, index_parts;
  for (std::int64_t start = 0; start < points.size(0); start += points_per_chunk) {
    auto [sorted, order] = d.slice(0, start, std::min(points.size(0), start + points_per_chunk)).sort(1);
    nearest_parts.push_back(sorted.slice(1, 0, 3));
    index_parts.push_back(order.slice(1, 0, 3));
  }
  d = at::Tensor();
  at::Tensor nearest = torch::cat(nearest_parts, 0), index = torch::cat(index_parts, 0);
  at::Tensor reciprocal = 1.0 / (nearest + 1e-8);
  at::Tensor weight = reciprocal / reciprocal.sum(1, true);  // N x 3
  at::Tensor by_centre = features.transpose(0, 1);           // G x C
  std::vector<at::Tensor> parts;                             // the N x 3 x C gather is done in chunks
  for (std::int64_t start = 0; start < points.size(0); start += points_per_chunk) {
    std::int64_t end = std::min(points.size(0), start + points_per_chunk);
    at::Tensor gathered = by_centre.index({index.slice(0, start, end)});  // n x 3 x C
    parts.push_back((gathered * weight.slice(0, start, end).unsqueeze(-1)).sum(1));
  }
  return torch::cat(parts, 0);
}

namespace {

// AdaptiveAvgPool's window along one axis: output o averages inputs [floor(o*in/out), ceil((o+1)*in/out)).
struct Window {
  std::int64_t first, last;  // inclusive
};
std::vector<Window> adaptive_windows(std::int64_t in, std::int64_t out) {
  std::vector<Window> windows(static_cast<std::size_t>(out));
  for (std::int64_t o = 0; o < out; ++o)
    windows[static_cast<std::size_t>(o)] = {o * in / out, ((o + 1) * in + out - 1) / out - 1};
  return windows;
}

// Row `py` of AvgPool2d(3, stride 1, no padding) over a pixel-major S x S x C grid: (S - 2) x C values,
// each the sum of its 3x3 window in row-major order, divided by 9 (the order and division of the CPU kernel).
void pooled_row(const float* grid, std::int64_t s, std::int64_t c, std::int64_t py, float* out) {
  for (std::int64_t px = 0; px < s - 2; ++px) {
    float* o = out + px * c;
    std::fill(o, o + c, 0.f);
    for (std::int64_t dy = 0; dy < 3; ++dy)
      for (std::int64_t dx = 0; dx < 3; ++dx) {
        const float* v = grid + ((py + dy) * s + px + dx) * c;
        for (std::int64_t k = 0; k < c; ++k) o[k] += v[k];
      }
    for (std::int64_t k = 0; k < c; ++k) o[k] /= 9.f;
  }
}

}  // namespace

at::Tensor point_features_to_grid(const at::Tensor& point_features, const at::Tensor& pixel_indices,
                                  int grid) {
  torch::NoGradGuard no_grad;
  // AvgPool2d(3, 1, 0) then AdaptiveAvgPool2d(S), computed directly on the pixel-major S² x C layout:
  // every step reads whole contiguous feature vectors, no S² x C temporaries besides input and output,
  // and the result needs no transpose. Sums run in the kernels' order, so values match them.
  const std::int64_t s = grid, c = point_features.size(1);
  at::Tensor full =
      torch::zeros({s * s, c}, point_features.options().device(torch::kCPU).dtype(torch::kFloat32));
  full.index_copy_(0, pixel_indices.cpu(), point_features.cpu().to(torch::kFloat32));
  at::Tensor out = torch::empty({s * s, c}, full.options());
  const float* in = full.data_ptr<float>();
  float* result = out.data_ptr<float>();
  const std::vector<Window> windows = adaptive_windows(s - 2, s);
  at::parallel_for(0, s, 1, [&](std::int64_t begin, std::int64_t end) {
    std::vector<float> first_row(static_cast<std::size_t>((s - 2) * c)), last_row(first_row.size());
    for (std::int64_t oy = begin; oy < end; ++oy) {
      const Window wy = windows[static_cast<std::size_t>(oy)];
      pooled_row(in, s, c, wy.first, first_row.data());
      if (wy.last != wy.first) pooled_row(in, s, c, wy.last, last_row.data());
      for (std::int64_t ox = 0; ox < s; ++ox) {
        const Window wx = windows[static_cast<std::size_t>(ox)];
        float* o = result + (oy * s + ox) * c;
        std::fill(o, o + c, 0.f);
        for (std::int64_t py = wy.first; py <= wy.last; ++py) {
          const float* row = py == wy.first ? first_row.data() : last_row.data();
          for (std::int64_t px = wx.first; px <= wx.last; ++px)
            for (std::int64_t k = 0; k < c; ++k) o[k] += row[px * c + k];
        }
        const float kh = static_cast<float>(wy.last - wy.first + 1),
                    kw = static_cast<float>(wx.last - wx.first + 1);
        for (std::int64_t k = 0; k < c; ++k) o[k] = o[k] / kh / kw;
      }
    }
  });
  return out.to(point_features.device());
}

at::Tensor rgb_features_to_grid(const at::Tensor& feature_map, int grid) {
  torch::NoGradGuard no_grad;
  at::Tensor up = torch::upsample_bilinear2d(feature_map.unsqueeze(0), {grid, grid}, /*align_corners=*/false);
  return up.reshape({feature_map.size(0), -1}).transpose(0, 1).contiguous();
}

at::Tensor empty_pixel_mask(const at::Tensor& xyz_patch) { return xyz_patch.sum(1) == 0; }

}  // namespace cfm
