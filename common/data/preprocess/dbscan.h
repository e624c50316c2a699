// DBSCAN as Open3D's PointCloud::ClusterDBSCAN, which CFM's preprocessing calls (docs/method.md §1.3
// step 5): a point is core when at least `min_points` points (itself included) lie closer than `eps`;
// clusters are numbered in the order of their first core point (index order, as Open3D discovers them);
// -1 is noise. A border point reachable from several clusters joins the lowest-numbered one.
//
// Two implementations with the same contract:
//  - cluster_dbscan: a uniform grid of cells of side eps/sqrt(3), in which all points of a cell are
//    neighbours of each other (Gunawan's exact grid DBSCAN). At MVTec densities (~1,800 points within
//    6 mm of each point at 800x800) per-point radius queries dominate; the grid decides whole cells at
//    once and is exact, so it replaces them.
//  - cluster_dbscan_kdtree: the textbook algorithm over radius queries of a nanoflann KD-tree (Debian's
//    libnanoflann-dev, header-only). Slower; kept as the independent reference the tests compare with.
#pragma once

#include <Eigen/Core>
#include <vector>

namespace cfm {

struct Clustering {
  std::vector<int> labels;  // per point: cluster index (0, 1, ...) or -1 for noise
  int clusters = 0;
};

Clustering cluster_dbscan(const std::vector<Eigen::Vector3d>& points, double eps, int min_points);
Clustering cluster_dbscan_kdtree(const std::vector<Eigen::Vector3d>& points, double eps, int min_points);

}  // namespace cfm
