#include "common/features/feature_alignment.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>

#include "common/models/smallest_per_row.h"
#include "common/runtime/device_code.h"

namespace cfm {

at::Tensor valid_pixel_indices(const at::Tensor& cloud) {
  at::Tensor flat = cloud.reshape({3, -1});
  return (flat != 0).all(0).nonzero().squeeze(1);
}

namespace {

// The first 3 columns of a full ascending sort of each row of `d` (N x G), values and indices, as the
// official code takes them: from one scan per row (smallest_per_row). A row with a tie among its 4
// smallest (the d² expansion often rounds two centres equal near a centre) goes through the full sort as
// before, because which of the tied centres comes first is then the sort's choice (LibTorch's CPU sort is
// not stable). Rows are independent, so the sorted rows give the same result in any grouping.
std::pair<at::Tensor, at::Tensor> three_smallest_per_row(const at::Tensor& d, std::int64_t rows_per_chunk) {
  auto sort_rows = [&](const at::Tensor& rows, at::Tensor& values, at::Tensor& indices) {
    for (std::int64_t start = 0; start < rows.size(0); start += rows_per_chunk) {
      at::Tensor chunk = rows.slice(0, start, std::min(rows.size(0), start + rows_per_chunk));
      auto [sorted, order] = d.index_select(0, chunk).sort(1);
      values.index_copy_(0, chunk, sorted.slice(1, 0, 3));
      indices.index_copy_(0, chunk, order.slice(1, 0, 3));
    }
  };
  if (!runs_cpu_loop(d) || !d.is_contiguous()) {  // e.g. on a GPU: sort all
    at::Tensor values = torch::empty({d.size(0), 3}, d.options()),
               indices = torch::empty({d.size(0), 3}, d.options().dtype(torch::kInt64));
    sort_rows(torch::arange(d.size(0), indices.options()), values, indices);
    return {values, indices};
  }
  SmallestPerRow smallest = smallest_per_row(d, 3);
  sort_rows(torch::tensor(smallest.tied_rows, torch::kInt64), smallest.values, smallest.indices);
  return {smallest.values, smallest.indices};
}

}  // namespace

at::Tensor interpolate_point_features(const at::Tensor& points, const at::Tensor& centres,
                                      const at::Tensor& features, std::int64_t points_per_chunk) {
  torch::NoGradGuard no_grad;
  // square_distance as the official code, in one product over all points (N x G floats, 200 MB at 50k
  // points and G = 1024): -2 p.c, then + |p|², then + |c|². The expansion cancels badly for points next
  // to a centre, so the same operation order and product shape as the reference keep the results equal.
  at::Tensor d = -2 * torch::matmul(points, centres.transpose(0, 1));
  d += points.pow(2).sum(-1).unsqueeze(1);
  d += centres.pow(2).sum(-1).unsqueeze(0);
  auto [nearest, index] = three_smallest_per_row(d, points_per_chunk);
  d = at::Tensor();
  at::Tensor reciprocal = 1.0 / (nearest + 1e-8);
  at::Tensor weight = reciprocal / reciprocal.sum(1, true);      // N x 3
  at::Tensor by_centre = features.transpose(0, 1).contiguous();  // G x C
  if (!runs_cpu_loop(by_centre)) {
    std::vector<at::Tensor> parts;  // the N x 3 x C gather is done in chunks
    for (std::int64_t start = 0; start < points.size(0); start += points_per_chunk) {
      std::int64_t end = std::min(points.size(0), start + points_per_chunk);
      at::Tensor gathered = by_centre.index({index.slice(0, start, end)});  // n x 3 x C
      parts.push_back((gathered * weight.slice(0, start, end).unsqueeze(-1)).sum(1));
    }
    return torch::cat(parts, 0);
  }
  // On the CPU the weighted sum of the three rows is one pass, without the N x 3 x C gather: each product
  // rounded to float, then summed in the order (w0 f0 + w1 f1) + w2 f2 -- the operations, and so the
  // values, of the gather-multiply-sum above.
  const std::int64_t n = points.size(0), c = by_centre.size(1);
  at::Tensor out = torch::empty({n, c}, by_centre.options());
  const float* f = by_centre.data_ptr<float>();
  const at::Tensor weights = weight.contiguous();  // kept alive while `w` points into it
  const float* w = weights.data_ptr<float>();
  const std::int64_t* j = index.data_ptr<std::int64_t>();
  float* o = out.data_ptr<float>();
  at::parallel_for(0, n, 256, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t p = begin; p < end; ++p) {
      const float *f0 = f + j[p * 3] * c, *f1 = f + j[p * 3 + 1] * c, *f2 = f + j[p * 3 + 2] * c;
      const float w0 = w[p * 3], w1 = w[p * 3 + 1], w2 = w[p * 3 + 2];
      float* row = o + p * c;
      for (std::int64_t k = 0; k < c; ++k) {
        const float a = f0[k] * w0, b = f1[k] * w1, d = f2[k] * w2;
        row[k] = (a + b) + d;
      }
    }
  });
  return out;
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

// The official expression: the features scattered into an S x S image, AvgPool2d(3, 1, 0), then
// AdaptiveAvgPool2d(S); on the features' device.
at::Tensor pool_on_the_grid_with_tensors(const at::Tensor& point_features, const at::Tensor& pixel_indices,
                                         int grid) {
  const std::int64_t c = point_features.size(1);
  at::Tensor image = torch::zeros({grid * grid, c}, point_features.options())
                         .index_copy_(0, pixel_indices, point_features)
                         .transpose(0, 1)
                         .reshape({1, c, grid, grid});
  at::Tensor pooled = torch::adaptive_avg_pool2d(torch::avg_pool2d(image, 3, 1, 0), {grid, grid});
  return pooled.reshape({c, grid * grid}).transpose(0, 1).contiguous();
}

}  // namespace

at::Tensor point_features_to_grid(const at::Tensor& point_features, const at::Tensor& pixel_indices,
                                  int grid) {
  torch::NoGradGuard no_grad;
  // AvgPool2d(3, 1, 0) then AdaptiveAvgPool2d(S) of the scattered features, computed directly on the
  // pixel-major S² x C layout from the valid pixels alone. The kernels add the 3x3 window in row-major
  // order starting from 0 and divide by 9, then add the pooled values of the adaptive window in row-major
  // order and divide by its height and width. An empty pixel holds +0, and s + 0 = s exactly (s is never
  // -0 when the sum starts from +0), so skipping empty pixels -- and all-empty windows, which stay 0 --
  // leaves every value as the kernels compute it, with a fraction of the work: a pooled position is
  // computed once, and only where its window holds a valid pixel.
  if (!runs_cpu_loop(point_features))
    return pool_on_the_grid_with_tensors(point_features, pixel_indices, grid);
  const std::int64_t s = grid, p = grid - 2, c = point_features.size(1);
  const at::Tensor features = point_features.contiguous();
  const at::Tensor pixels = pixel_indices.contiguous();
  std::vector<std::int64_t> row_of_pixel(static_cast<std::size_t>(s * s), -1);
  const std::int64_t* pixel = pixels.data_ptr<std::int64_t>();
  for (std::int64_t i = 0; i < pixels.size(0); ++i) row_of_pixel[static_cast<std::size_t>(pixel[i])] = i;

  // Pooled positions whose window holds a valid pixel get a row of `pooled`; the others are 0.
  std::vector<std::int64_t> row_of_pooled(static_cast<std::size_t>(p * p), -1), pooled_positions;
  for (std::int64_t py = 0; py < p; ++py)
    for (std::int64_t px = 0; px < p; ++px) {
      bool any = false;
      for (std::int64_t dy = 0; dy < 3 && !any; ++dy)
        for (std::int64_t dx = 0; dx < 3 && !any; ++dx)
          any = row_of_pixel[static_cast<std::size_t>((py + dy) * s + px + dx)] >= 0;
      if (!any) continue;
      row_of_pooled[static_cast<std::size_t>(py * p + px)] =
          static_cast<std::int64_t>(pooled_positions.size());
      pooled_positions.push_back(py * p + px);
    }
  const float* in = features.data_ptr<float>();
  at::Tensor pooled =
      torch::empty({static_cast<std::int64_t>(pooled_positions.size()), c}, features.options());
  float* pooled_values = pooled.data_ptr<float>();
  at::parallel_for(0, pooled.size(0), 64, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t r = begin; r < end; ++r) {
      const std::int64_t py = pooled_positions[static_cast<std::size_t>(r)] / p,
                         px = pooled_positions[static_cast<std::size_t>(r)] % p;
      float* o = pooled_values + r * c;
      std::fill(o, o + c, 0.f);
      for (std::int64_t dy = 0; dy < 3; ++dy)
        for (std::int64_t dx = 0; dx < 3; ++dx) {
          const std::int64_t row = row_of_pixel[static_cast<std::size_t>((py + dy) * s + px + dx)];
          if (row < 0) continue;
          const float* v = in + row * c;
          for (std::int64_t k = 0; k < c; ++k) o[k] += v[k];
        }
      for (std::int64_t k = 0; k < c; ++k) o[k] /= 9.f;
    }
  });

  at::Tensor out = torch::zeros({s * s, c}, features.options());
  float* result = out.data_ptr<float>();
  const std::vector<Window> windows = adaptive_windows(p, s);
  at::parallel_for(0, s, 1, [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t oy = begin; oy < end; ++oy) {
      const Window wy = windows[static_cast<std::size_t>(oy)];
      for (std::int64_t ox = 0; ox < s; ++ox) {
        const Window wx = windows[static_cast<std::size_t>(ox)];
        float* o = result + (oy * s + ox) * c;  // zeros
        bool any = false;
        for (std::int64_t py = wy.first; py <= wy.last; ++py)
          for (std::int64_t px = wx.first; px <= wx.last; ++px) {
            const std::int64_t r = row_of_pooled[static_cast<std::size_t>(py * p + px)];
            if (r < 0) continue;
            const float* v = pooled_values + r * c;
            for (std::int64_t k = 0; k < c; ++k) o[k] += v[k];
            any = true;
          }
        if (!any) continue;
        const float kh = static_cast<float>(wy.last - wy.first + 1),
                    kw = static_cast<float>(wx.last - wx.first + 1);
        for (std::int64_t k = 0; k < c; ++k) o[k] = o[k] / kh / kw;
      }
    }
  });
  return out;
}

at::Tensor rgb_features_to_grid(const at::Tensor& feature_map, int grid) {
  torch::NoGradGuard no_grad;
  at::Tensor up = torch::upsample_bilinear2d(feature_map.unsqueeze(0), {grid, grid}, /*align_corners=*/false);
  return up.reshape({feature_map.size(0), -1}).transpose(0, 1).contiguous();
}

at::Tensor empty_pixel_mask(const at::Tensor& xyz_patch) { return xyz_patch.sum(1) == 0; }

}  // namespace cfm
