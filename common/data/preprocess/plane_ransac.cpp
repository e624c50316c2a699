#include "common/data/preprocess/plane_ransac.h"

#include <Eigen/Eigenvalues>
#include <cmath>
#include <random>

#include "common/util/error.h"

namespace cfm {

Plane fit_plane_least_squares(const std::vector<Eigen::Vector3d>& points) {
  CFM_ASSERT(points.size() >= 3);
  Eigen::Vector3d mean = Eigen::Vector3d::Zero();
  for (const auto& p : points) mean += p;
  mean /= static_cast<double>(points.size());
  Eigen::Matrix3d covariance = Eigen::Matrix3d::Zero();
  for (const auto& p : points) covariance += (p - mean) * (p - mean).transpose();
  Eigen::SelfAdjointEigenSolver<Eigen::Matrix3d> solver(covariance);
  Plane plane;
  plane.normal = solver.eigenvectors().col(0).normalized();  // eigenvalues ascending
  plane.offset = -plane.normal.dot(mean);
  return plane;
}

namespace {

PlaneFit score(const Plane& plane, const std::vector<Eigen::Vector3d>& points, double threshold) {
  PlaneFit fit{plane, 0, 0};
  double squared = 0;
  for (const auto& p : points) {
    double d = plane.distance(p);
    if (d < threshold) {
      ++fit.inliers;
      squared += d * d;
    }
  }
  fit.rmse = fit.inliers ? std::sqrt(squared / static_cast<double>(fit.inliers)) : 0;
  return fit;
}

}  // namespace

PlaneFit fit_plane_ransac(const std::vector<Eigen::Vector3d>& points, double distance_threshold,
                          int sample_size, int iterations, std::uint64_t seed) {
  CFM_ASSERT(sample_size >= 3 && points.size() >= static_cast<std::size_t>(sample_size));
  std::mt19937_64 engine(seed);
  std::vector<std::size_t> order(points.size());
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::vector<Eigen::Vector3d> sample(static_cast<std::size_t>(sample_size));
  PlaneFit best;
  for (int it = 0; it < iterations; ++it) {
    // Partial Fisher-Yates: sample_size distinct points.
    for (int k = 0; k < sample_size; ++k) {
      std::size_t remaining = order.size() - static_cast<std::size_t>(k);
      std::size_t j = static_cast<std::size_t>(k) + static_cast<std::size_t>(engine() % remaining);
      std::swap(order[static_cast<std::size_t>(k)], order[j]);
      sample[static_cast<std::size_t>(k)] = points[order[static_cast<std::size_t>(k)]];
    }
    PlaneFit candidate = score(fit_plane_least_squares(sample), points, distance_threshold);
    if (candidate.inliers > best.inliers || (candidate.inliers == best.inliers && candidate.rmse < best.rmse))
      best = candidate;
  }
  std::vector<Eigen::Vector3d> inliers;
  for (const auto& p : points)
    if (best.plane.distance(p) < distance_threshold) inliers.push_back(p);
  if (inliers.size() >= 3) {
    PlaneFit refined = score(fit_plane_least_squares(inliers), points, distance_threshold);
    if (refined.inliers >= best.inliers) best = refined;
  }
  return best;
}

}  // namespace cfm
