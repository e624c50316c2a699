#include "common/data/sample_checks.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace cfm {

int preprocessed_side(int width, int height) {
  auto round_up = [](int v) { return (v + 99) / 100 * 100; };
  return std::max(round_up(width), round_up(height));
}

std::string xyz_size_problem(int rgb_width, int rgb_height, int xyz_width, int xyz_height) {
  if (xyz_width != xyz_height && xyz_width == rgb_width && xyz_height == rgb_height)
    return fmt::format(
        "xyz is {}x{}, not square: the loader square-pads the RGB image but not the point cloud, "
        "so they would be misaligned; run `cfm preprocess mvtec` first (docs/method.md §1.3, §2.2)",
        xyz_width, xyz_height);
  if (xyz_width == rgb_width && xyz_height == rgb_height) return "";
  int side = preprocessed_side(rgb_width, rgb_height);
  if (xyz_width == side && xyz_height == side) return "";
  return fmt::format("xyz is {}x{} but the RGB image is {}x{} (expected {}x{}, or {}x{} after preprocessing)",
                     xyz_width, xyz_height, rgb_width, rgb_height, rgb_width, rgb_height, side, side);
}

std::string gt_size_problem(int rgb_width, int rgb_height, int gt_width, int gt_height) {
  if (gt_width == rgb_width && gt_height == rgb_height) return "";
  return fmt::format("GT mask is {}x{} but the RGB image is {}x{}", gt_width, gt_height, rgb_width,
                     rgb_height);
}

std::string point_cloud_problem(const PointImage& points) {
  std::size_t valid = 0;
  for (int y = 0; y < points.height; ++y)
    for (int x = 0; x < points.width; ++x) {
      double px = points.at(y, x, 0), py = points.at(y, x, 1), pz = points.at(y, x, 2);
      if (!std::isfinite(px) || !std::isfinite(py) || !std::isfinite(pz))
        return fmt::format("non-finite coordinate ({}, {}, {}) at row {}, column {}", px, py, pz, y, x);
      if (px != 0 && py != 0 && pz != 0) ++valid;
    }
  if (valid == 0) return "empty point cloud: no pixel has all three coordinates non-zero";
  return "";
}

}  // namespace cfm
