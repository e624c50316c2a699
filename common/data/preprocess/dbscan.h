// DBSCAN as Open3D's PointCloud::ClusterDBSCAN, which CFM's preprocessing calls (cfm-method.md §1.3
// step 5): a point is core when at least `min_points` points (itself included) lie within `eps`; labels are
// assigned in index order of discovery; -1 is noise. Neighbourhoods come from a nanoflann KD-tree
// (Debian's libnanoflann-dev: header-only, exact radius search, no heavy dependency like Open3D or PCL) and
// are queried once per point instead of being stored, so memory stays linear in the number of points.
#pragma once

#include <vector>

#include <Eigen/Core>

namespace cfm {

struct Clustering {
  std::vector<int> labels;  // per point: cluster index (0, 1, ...) or -1 for noise
  int clusters = 0;
};

Clustering cluster_dbscan(const std::vector<Eigen::Vector3d>& points, double eps, int min_points);

}  // namespace cfm
