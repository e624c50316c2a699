// CFM's MVTec 3D-AD preprocessing of one organized point cloud (processing/preprocess_mvtec.py,
// docs/method.md §1.3): RANSAC plane on the 10-pixel border band, removal of points closer than 5 mm to
// the plane, zero padding to a square multiple of 100, and DBSCAN (eps 6 mm, 30 points) keeping the
// largest cluster. Fixes over the official script: RANSAC is seeded (reproducible), and the noise label
// can no longer win the cluster vote (the official rule could keep only noise); a cloud with no cluster
// at all is an error rather than a silently emptied file.
#pragma once

#include <cstdint>
#include <string>

#include "common/data/image.h"
#include "common/data/preprocess/plane_ransac.h"

namespace cfm {

struct MvtecPreprocessParams {
  int border = 10;
  double ransac_threshold = 0.004;
  int ransac_points = 50;
  int ransac_iterations = 1000;
  double removal_threshold = 0.005;
  double dbscan_eps = 0.006;
  int dbscan_min_points = 30;
  std::uint64_t seed = 0;
};

struct MvtecPreprocessStats {
  std::size_t points_in = 0;         // valid points of the input
  std::size_t points_off_plane = 0;  // valid points left after plane removal
  std::size_t points_out = 0;        // valid points written
  int clusters = 0;
  Plane plane;
  std::size_t plane_inliers = 0;
};

// `path` only names the file in errors (DataError: NaN/Inf, empty cloud, too few border points, no cluster).
PointImage preprocess_mvtec_cloud(const PointImage& xyz, const MvtecPreprocessParams& params,
                                  const std::string& path, MvtecPreprocessStats* stats = nullptr);

}  // namespace cfm
