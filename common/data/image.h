// A plain interleaved image (row-major, channels innermost), independent of LibTorch so that readers,
// writers, resamplers and the generator compile fast.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cfm {

template <typename T>
struct Image {
  int width = 0;
  int height = 0;
  int channels = 0;
  std::vector<T> pixels;  // height * width * channels values

  Image() = default;
  Image(int width_, int height_, int channels_, T fill = T())
      : width(width_),
        height(height_),
        channels(channels_),
        pixels(static_cast<std::size_t>(width_) * height_ * channels_, fill) {}

  std::size_t index(int y, int x, int c = 0) const {
    return (static_cast<std::size_t>(y) * width + x) * channels + c;
  }
  T& at(int y, int x, int c = 0) { return pixels[index(y, x, c)]; }
  const T& at(int y, int x, int c = 0) const { return pixels[index(y, x, c)]; }
  bool empty() const { return pixels.empty(); }
  bool same_size(int w, int h) const { return width == w && height == h; }
};

using ImageU8 = Image<std::uint8_t>;
using ImageU16 = Image<std::uint16_t>;
// Organized point cloud: HxWx3 coordinates, (0,0,0) where the sensor has no measurement.
using PointImage = Image<double>;

}  // namespace cfm
