#include "common/data/preprocess/mvtec_preprocess.h"

#include <fmt/format.h>

#include <algorithm>
#include <map>

#include "common/data/preprocess/dbscan.h"
#include "common/data/sample_checks.h"
#include "common/util/error.h"

namespace cfm {
namespace {

bool is_valid(const PointImage& xyz, int y, int x) {
  return xyz.at(y, x, 0) != 0 && xyz.at(y, x, 1) != 0 && xyz.at(y, x, 2) != 0;
}

Eigen::Vector3d point_at(const PointImage& xyz, int y, int x) {
  return {xyz.at(y, x, 0), xyz.at(y, x, 1), xyz.at(y, x, 2)};
}

// Step 1: top rows, bottom rows, left columns, right columns (corners twice, as the official script).
std::vector<Eigen::Vector3d> border_points(const PointImage& xyz, int band) {
  std::vector<Eigen::Vector3d> points;
  auto take = [&](int y, int x) {
    if (is_valid(xyz, y, x)) points.push_back(point_at(xyz, y, x));
  };
  int rows = std::min(band, xyz.height), cols = std::min(band, xyz.width);
  for (int y = 0; y < rows; ++y)
    for (int x = 0; x < xyz.width; ++x) take(y, x);
  for (int y = xyz.height - rows; y < xyz.height; ++y)
    for (int x = 0; x < xyz.width; ++x) take(y, x);
  for (int y = 0; y < xyz.height; ++y)
    for (int x = 0; x < cols; ++x) take(y, x);
  for (int y = 0; y < xyz.height; ++y)
    for (int x = xyz.width - cols; x < xyz.width; ++x) take(y, x);
  return points;
}

PointImage pad_to_square(const PointImage& xyz) {
  int side = preprocessed_side(xyz.width, xyz.height);
  int top = (side - xyz.height) / 2, left = (side - xyz.width) / 2;
  PointImage out(side, side, 3);
  for (int y = 0; y < xyz.height; ++y)
    for (int x = 0; x < xyz.width; ++x)
      for (int c = 0; c < 3; ++c) out.at(y + top, x + left, c) = xyz.at(y, x, c);
  return out;
}

std::size_t count_valid(const PointImage& xyz) {
  std::size_t n = 0;
  for (int y = 0; y < xyz.height; ++y)
    for (int x = 0; x < xyz.width; ++x) n += is_valid(xyz, y, x) ? 1 : 0;
  return n;
}

}  // namespace

PointImage preprocess_mvtec_cloud(const PointImage& input, const MvtecPreprocessParams& p,
                                  const std::string& path, MvtecPreprocessStats* stats) {
  std::string problem = point_cloud_problem(input);
  if (!problem.empty()) throw DataError(path, problem);
  MvtecPreprocessStats local;
  MvtecPreprocessStats& s = stats ? *stats : local;
  s.points_in = count_valid(input);

  std::vector<Eigen::Vector3d> border = border_points(input, p.border);
  if (border.size() < static_cast<std::size_t>(p.ransac_points))
    throw DataError(
        path, fmt::format("cannot fit the background plane: only {} valid points in the {}-pixel border band "
                          "(need at least {})",
                          border.size(), p.border, p.ransac_points));
  PlaneFit fit = fit_plane_ransac(border, p.ransac_threshold, p.ransac_points, p.ransac_iterations, p.seed);
  s.plane = fit.plane;
  s.plane_inliers = fit.inliers;

  // Step 3: every pixel closer than the threshold to the plane becomes (0,0,0).
  PointImage cleaned = input;
  for (int y = 0; y < cleaned.height; ++y)
    for (int x = 0; x < cleaned.width; ++x)
      if (fit.plane.distance(point_at(cleaned, y, x)) < p.removal_threshold)
        for (int c = 0; c < 3; ++c) cleaned.at(y, x, c) = 0;
  s.points_off_plane = count_valid(cleaned);
  if (s.points_off_plane == 0) throw DataError(path, "no point left after removing the background plane");

  PointImage padded = pad_to_square(cleaned);

  // Step 5: DBSCAN over the valid points in raster order; keep the largest real cluster.
  std::vector<Eigen::Vector3d> points;
  std::vector<std::size_t> pixel_of_point;
  for (int y = 0; y < padded.height; ++y)
    for (int x = 0; x < padded.width; ++x)
      if (is_valid(padded, y, x)) {
        points.push_back(point_at(padded, y, x));
        pixel_of_point.push_back(static_cast<std::size_t>(y) * padded.width + x);
      }
  Clustering clustering = cluster_dbscan(points, p.dbscan_eps, p.dbscan_min_points);
  s.clusters = clustering.clusters;
  if (clustering.clusters == 0)
    throw DataError(
        path,
        fmt::format("no cluster of at least {} points within {} m after plane removal ({} points, all noise)",
                    p.dbscan_min_points, p.dbscan_eps, points.size()));
  std::vector<std::size_t> sizes(static_cast<std::size_t>(clustering.clusters), 0);
  for (int label : clustering.labels)
    if (label >= 0) ++sizes[static_cast<std::size_t>(label)];
  int chosen = static_cast<int>(std::max_element(sizes.begin(), sizes.end()) -
                                sizes.begin());  // smallest label on ties
  for (std::size_t i = 0; i < points.size(); ++i)
    if (clustering.labels[i] != chosen)
      for (int c = 0; c < 3; ++c) padded.pixels[pixel_of_point[i] * 3 + static_cast<std::size_t>(c)] = 0;
  s.points_out = sizes[static_cast<std::size_t>(chosen)];
  return padded;
}

}  // namespace cfm
