#include "common/data/resample.h"

#include <algorithm>
#include <cmath>
#include <cstdint>

#include "common/util/error.h"

namespace cfm {

ImageU8 square_pad_edge(const ImageU8& image) {
  int side = std::max(image.width, image.height);
  if (image.width == side && image.height == side) return image;
  int left = (side - image.width) / 2;
  int top = (side - image.height) / 2;
  ImageU8 out(side, side, image.channels);
  for (int y = 0; y < side; ++y) {
    int sy = std::clamp(y - top, 0, image.height - 1);
    for (int x = 0; x < side; ++x) {
      int sx = std::clamp(x - left, 0, image.width - 1);
      for (int c = 0; c < image.channels; ++c) out.at(y, x, c) = image.at(sy, sx, c);
    }
  }
  return out;
}

namespace {

// ---- Pillow Resample.c, restated ------------------------------------------------------------------
constexpr int kPrecisionBits = 32 - 8 - 2;

double bicubic_filter(double x) {
  constexpr double a = -0.5;
  if (x < 0.0) x = -x;
  if (x < 1.0) return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
  if (x < 2.0) return (((x - 5) * x + 8) * x - 4) * a;
  return 0.0;
}

// Per output index: first source index, number of taps, and fixed-point weights (precompute_coeffs +
// normalize_coeffs_8bpc).
struct ResampleCoefficients {
  int taps_per_output = 0;
  std::vector<int> first;
  std::vector<int> count;
  std::vector<std::int32_t> weights;  // out_size * taps_per_output
};

ResampleCoefficients precompute_coefficients(int in_size, int out_size) {
  constexpr double kSupport = 2.0;
  double scale = static_cast<double>(in_size) / out_size;
  double filter_scale = std::max(scale, 1.0);
  double support = kSupport * filter_scale;
  ResampleCoefficients c;
  c.taps_per_output = static_cast<int>(std::ceil(support)) * 2 + 1;
  c.first.resize(out_size);
  c.count.resize(out_size);
  c.weights.assign(static_cast<std::size_t>(out_size) * c.taps_per_output, 0);
  std::vector<double> k(c.taps_per_output);
  for (int xx = 0; xx < out_size; ++xx) {
    double center = (xx + 0.5) * scale;
    double inverse_scale = 1.0 / filter_scale;
    int xmin = std::max(static_cast<int>(center - support + 0.5), 0);
    int xmax = std::min(static_cast<int>(center + support + 0.5), in_size) - xmin;
    double total = 0.0;
    for (int x = 0; x < xmax; ++x) {
      k[x] = bicubic_filter((x + xmin - center + 0.5) * inverse_scale);
      total += k[x];
    }
    for (int x = 0; x < xmax; ++x) {
      double w = total != 0.0 ? k[x] / total : k[x];
      double scaled = w * (1 << kPrecisionBits);
      c.weights[static_cast<std::size_t>(xx) * c.taps_per_output + x] =
          static_cast<std::int32_t>(w < 0 ? -0.5 + scaled : 0.5 + scaled);
    }
    c.first[xx] = xmin;
    c.count[xx] = xmax;
  }
  return c;
}

std::uint8_t clip8(std::int32_t value) {
  if (value >= (1 << kPrecisionBits << 8)) return 255;
  if (value <= 0) return 0;
  return static_cast<std::uint8_t>(value >> kPrecisionBits);
}

// One separable pass along x (horizontal = true) or y. Rows [row_offset, row_offset + out.height) of the
// input feed a horizontal pass, as Pillow crops to the rows the vertical pass needs.
ImageU8 resample_pass(const ImageU8& in, const ResampleCoefficients& c, bool horizontal, int out_width,
                      int out_height, int row_offset) {
  ImageU8 out(out_width, out_height, in.channels);
  for (int y = 0; y < out_height; ++y)
    for (int x = 0; x < out_width; ++x) {
      int o = horizontal ? x : y;
      const std::int32_t* k = &c.weights[static_cast<std::size_t>(o) * c.taps_per_output];
      for (int ch = 0; ch < in.channels; ++ch) {
        std::int32_t sum = 1 << (kPrecisionBits - 1);
        for (int t = 0; t < c.count[o]; ++t) {
          int s = c.first[o] + t;
          std::uint8_t v = horizontal ? in.at(y + row_offset, s, ch) : in.at(s, x, ch);
          sum += v * k[t];
        }
        out.at(y, x, ch) = clip8(sum);
      }
    }
  return out;
}

}  // namespace

ImageU8 pillow_resize_bicubic(const ImageU8& image, int out_width, int out_height) {
  CFM_ASSERT(out_width > 0 && out_height > 0 && !image.empty());
  bool need_horizontal = out_width != image.width;
  bool need_vertical = out_height != image.height;
  ResampleCoefficients horizontal = precompute_coefficients(image.width, out_width);
  ResampleCoefficients vertical = precompute_coefficients(image.height, out_height);
  // Rows the vertical pass reads: Pillow runs the horizontal pass only over them.
  int first_row = vertical.first[0];
  int last_row = vertical.first[out_height - 1] + vertical.count[out_height - 1];
  ImageU8 current = image;
  if (need_horizontal) {
    if (need_vertical) {
      for (int& f : vertical.first) f -= first_row;
      current = resample_pass(image, horizontal, true, out_width, last_row - first_row, first_row);
    } else {
      current = resample_pass(image, horizontal, true, out_width, image.height, 0);
    }
  }
  if (need_vertical) current = resample_pass(current, vertical, false, out_width, out_height, 0);
  return current;
}

ImageU8 pillow_resize_nearest(const ImageU8& image, int out_width, int out_height) {
  // Pillow's ImagingScaleAffine: xin = (int)(scale * (x + 0.5)), in double precision.
  auto indices = [](int in_size, int out_size) {
    std::vector<int> index(out_size);
    double scale = static_cast<double>(in_size) / out_size;
    for (int i = 0; i < out_size; ++i) index[i] = std::min(static_cast<int>(scale * (i + 0.5)), in_size - 1);
    return index;
  };
  std::vector<int> xs = indices(image.width, out_width), ys = indices(image.height, out_height);
  ImageU8 out(out_width, out_height, image.channels);
  for (int y = 0; y < out_height; ++y)
    for (int x = 0; x < out_width; ++x)
      for (int c = 0; c < image.channels; ++c) out.at(y, x, c) = image.at(ys[y], xs[x], c);
  return out;
}

std::vector<int> torch_nearest_source_indices(int in_size, int out_size) {
  std::vector<int> index(out_size);
  // ATen's nearest_idx: identity and exact 2x upsampling are special-cased; otherwise the scale is a float.
  float scale = static_cast<float>(in_size) / static_cast<float>(out_size);
  for (int i = 0; i < out_size; ++i) {
    if (in_size == out_size)
      index[i] = i;
    else if (out_size == 2 * in_size)
      index[i] = i >> 1;
    else
      index[i] = std::min(static_cast<int>(std::floor(static_cast<float>(i) * scale)), in_size - 1);
  }
  return index;
}

PointImage resize_points_nearest(const PointImage& points, int out_width, int out_height) {
  std::vector<int> xs = torch_nearest_source_indices(points.width, out_width);
  std::vector<int> ys = torch_nearest_source_indices(points.height, out_height);
  PointImage out(out_width, out_height, points.channels);
  for (int y = 0; y < out_height; ++y)
    for (int x = 0; x < out_width; ++x)
      for (int c = 0; c < points.channels; ++c) out.at(y, x, c) = points.at(ys[y], xs[x], c);
  return out;
}

}  // namespace cfm
