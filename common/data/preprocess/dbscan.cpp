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
  nanoflann::SearchParams params;
  params.sorted = false;
  std::vector<std::pair<std::size_t, double>> neighbours;
  auto query = [&](std::size_t index) {
    neighbours.clear();
    tree.radiusSearch(points[index].data(), radius_squared, neighbours, params);
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
    for (const auto& n : neighbours) seeds.push_back(n.first);
    while (!seeds.empty()) {
      std::size_t s = seeds.back();
      seeds.pop_back();
      if (result.labels[s] == -1) result.labels[s] = cluster;  // border point, previously taken for noise
      if (result.labels[s] != kUnvisited) continue;
      result.labels[s] = cluster;
      query(s);
      if (static_cast<int>(neighbours.size()) >= min_points)
        for (const auto& n : neighbours)
          if (result.labels[n.first] < 0) seeds.push_back(n.first);
    }
  }
  return result;
}

}  // namespace cfm
