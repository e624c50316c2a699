#include "common/data/preprocess/dbscan.h"

#include <nanoflann.hpp>

namespace cfm {
namespace {

struct CloudAdaptor {
  const std::vector<Eigen::Vector3d>& points;
  std::size_t kdtree_get_point_count() const { return points.size(); }
  double kdtree_get_pt(std::size_t index, std::size_t dim) const {
    return points[index][static_cast<Eigen::Index>(dim)];
  }
  template <class Box>
  bool kdtree_get_bbox(Box&) const {
    return false;
  }
};

using KdTree = nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, CloudAdaptor>,
                                                   CloudAdaptor, 3, std::size_t>;

// Collects the indices within a squared radius, in the tree's visiting order. Our own result set, because
// nanoflann's radiusSearch changed its signature and result type after 1.4 (Debian 12 ships 1.4.2,
// Debian 13 1.7.1) while findNeighbors with a result set of this shape is the same in both.
struct NeighboursWithin {
  using DistanceType = double;
  double radius_squared;
  std::vector<std::size_t>& indices;
  bool addPoint(double distance, std::size_t index) {
    if (distance < radius_squared) indices.push_back(index);
    return true;  // keep searching: a radius query wants every point inside
  }
  double worstDist() const { return radius_squared; }
  bool full() const { return true; }
  void sort() {}  // DBSCAN does not need the neighbours ordered
};

}  // namespace

Clustering cluster_dbscan_kdtree(const std::vector<Eigen::Vector3d>& points, double eps, int min_points) {
  constexpr int kUnvisited = -2;
  Clustering result;
  result.labels.assign(points.size(), kUnvisited);
  if (points.empty()) return result;
  CloudAdaptor adaptor{points};
  KdTree tree(3, adaptor, nanoflann::KDTreeSingleIndexAdaptorParams(16));
  tree.buildIndex();
  const double radius_squared = eps * eps;  // nanoflann's L2 metrics work on squared distances
  std::vector<std::size_t> neighbours;
  auto query = [&](std::size_t index) {
    neighbours.clear();
    NeighboursWithin within{radius_squared, neighbours};
    tree.findNeighbors(within, points[index].data(), {});
  };
  std::vector<std::size_t> seeds;
  for (std::size_t i = 0; i < points.size(); ++i) {
    if (result.labels[i] != kUnvisited) continue;
    query(i);
    if (static_cast<int>(neighbours.size()) < min_points) {
      result.labels[i] = -1;
      continue;
    }
    int cluster = result.clusters++;
    result.labels[i] = cluster;
    seeds.clear();
    for (std::size_t n : neighbours) seeds.push_back(n);
    while (!seeds.empty()) {
      std::size_t s = seeds.back();
      seeds.pop_back();
      if (result.labels[s] == -1) result.labels[s] = cluster;  // border point, previously taken for noise
      if (result.labels[s] != kUnvisited) continue;
      result.labels[s] = cluster;
      query(s);
      if (static_cast<int>(neighbours.size()) >= min_points)
        for (std::size_t n : neighbours)
          if (result.labels[n] < 0) seeds.push_back(n);
    }
  }
  return result;
}

}  // namespace cfm
