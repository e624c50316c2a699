#include "common/data/heat_map.h"

#include <algorithm>

namespace cfm {

ImageU8 heat_map(const Image<float>& map) {
  float peak = map.pixels.empty() ? 0.f : *std::max_element(map.pixels.begin(), map.pixels.end());
  ImageU8 rgb(map.width, map.height, 3);
  for (std::size_t i = 0; i < map.pixels.size(); ++i) {
    float t = peak > 0 ? map.pixels[i] / peak : 0.f;
    rgb.pixels[i * 3] = static_cast<std::uint8_t>(255 * std::min(1.f, 2 * t));
    rgb.pixels[i * 3 + 1] = static_cast<std::uint8_t>(255 * std::max(0.f, 2 * t - 1));
    rgb.pixels[i * 3 + 2] = static_cast<std::uint8_t>(255 * std::max(0.f, 0.5f - t));
  }
  return rgb;
}

}  // namespace cfm
