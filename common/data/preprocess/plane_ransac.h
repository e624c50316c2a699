// Robust plane fit with RANSAC, restating Open3D's PointCloud::SegmentPlane as CFM's preprocessing uses
// it (docs/method.md §1.3 step 2): hypotheses from `sample_size` random points fitted by least squares,
// scored by inlier fitness then RMSE, and the best hypothesis refitted to its inliers. Unlike the official
// call, the random draws are seeded, so preprocessing is reproducible.
#pragma once

#include <Eigen/Core>
#include <cstdint>
#include <vector>

namespace cfm {

struct Plane {
  Eigen::Vector3d normal{0, 0, 1};  // unit length
  double offset = 0;                // plane: normal . p + offset = 0
  double distance(const Eigen::Vector3d& p) const { return std::abs(normal.dot(p) + offset); }
};

struct PlaneFit {
  Plane plane;
  std::size_t inliers = 0;
  double rmse = 0;
};

// Total least-squares plane through `points` (smallest-eigenvalue direction of the covariance).
Plane fit_plane_least_squares(const std::vector<Eigen::Vector3d>& points);

// Requires at least `sample_size` points (the caller reports the error with the file name).
PlaneFit fit_plane_ransac(const std::vector<Eigen::Vector3d>& points, double distance_threshold,
                          int sample_size, int iterations, std::uint64_t seed);

}  // namespace cfm
