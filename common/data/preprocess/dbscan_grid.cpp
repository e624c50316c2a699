// Exact grid DBSCAN (see dbscan.h). Steps: bin points into cells of side eps/sqrt(3); mark core points
// (whole cells at once when they hold >= min_points); union neighbouring cells whose core points come
// closer than eps; attach border points; number clusters by their first core point.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <numeric>
#include <unordered_map>

#include "common/data/preprocess/dbscan.h"

namespace cfm {
namespace {

struct CellKey {
  std::int64_t x, y, z;
  bool operator==(const CellKey& o) const { return x == o.x && y == o.y && z == o.z; }
};
struct CellKeyHash {
  std::size_t operator()(const CellKey& k) const {
    return static_cast<std::size_t>(k.x * 73856093LL ^ k.y * 19349663LL ^ k.z * 83492791LL);
  }
};

struct Grid {
  std::vector<CellKey> keys;
  std::vector<std::vector<std::size_t>> members;     // point indices per cell, ascending
  std::vector<std::vector<std::size_t>> neighbours;  // cells whose boxes come closer than eps
};

// Offsets of cells that can hold a point closer than eps: |d| <= 2 per axis, excluding the 8 corners
// (+-2, +-2, +-2), whose closest distance is exactly eps. Face neighbours first, so that unions happen early.
std::vector<CellKey> neighbour_offsets() {
  std::vector<CellKey> offsets;
  for (int dx = -2; dx <= 2; ++dx)
    for (int dy = -2; dy <= 2; ++dy)
      for (int dz = -2; dz <= 2; ++dz)
        if (!(std::abs(dx) == 2 && std::abs(dy) == 2 && std::abs(dz) == 2)) offsets.push_back({dx, dy, dz});
  std::stable_sort(offsets.begin(), offsets.end(), [](const CellKey& a, const CellKey& b) {
    return std::abs(a.x) + std::abs(a.y) + std::abs(a.z) < std::abs(b.x) + std::abs(b.y) + std::abs(b.z);
  });
  return offsets;
}

Grid build_grid(const std::vector<Eigen::Vector3d>& points, double side) {
  Grid grid;
  std::unordered_map<CellKey, std::size_t, CellKeyHash> index;
  index.reserve(points.size() / 8 + 16);
  for (std::size_t i = 0; i < points.size(); ++i) {
    CellKey key{static_cast<std::int64_t>(std::floor(points[i].x() / side)),
                static_cast<std::int64_t>(std::floor(points[i].y() / side)),
                static_cast<std::int64_t>(std::floor(points[i].z() / side))};
    auto [it, inserted] = index.try_emplace(key, grid.keys.size());
    if (inserted) {
      grid.keys.push_back(key);
      grid.members.emplace_back();
    }
    grid.members[it->second].push_back(i);
  }
  std::vector<CellKey> offsets = neighbour_offsets();
  grid.neighbours.resize(grid.keys.size());
  for (std::size_t c = 0; c < grid.keys.size(); ++c)
    for (const CellKey& d : offsets) {
      if (d.x == 0 && d.y == 0 && d.z == 0) continue;
      auto it = index.find({grid.keys[c].x + d.x, grid.keys[c].y + d.y, grid.keys[c].z + d.z});
      if (it != index.end()) grid.neighbours[c].push_back(it->second);
    }
  return grid;
}

struct UnionFind {
  std::vector<std::size_t> parent;
  explicit UnionFind(std::size_t n) : parent(n) { std::iota(parent.begin(), parent.end(), 0); }
  std::size_t find(std::size_t a) {
    while (parent[a] != a) a = parent[a] = parent[parent[a]];
    return a;
  }
  void unite(std::size_t a, std::size_t b) { parent[find(a)] = find(b); }
};

}  // namespace

Clustering cluster_dbscan(const std::vector<Eigen::Vector3d>& points, double eps, int min_points) {
  Clustering result;
  result.labels.assign(points.size(), -1);
  if (points.empty()) return result;
  const double eps2 = eps * eps;
  auto close = [&](std::size_t a, std::size_t b) { return (points[a] - points[b]).squaredNorm() < eps2; };
  Grid grid = build_grid(points, eps / std::sqrt(3.0));
  const std::size_t cells = grid.keys.size();
  const auto needed = static_cast<std::size_t>(std::max(min_points, 0));

  // Core points. A cell's own points are all within eps of each other.
  std::vector<char> core(points.size(), 0);
  std::vector<std::vector<std::size_t>> core_members(cells);
  for (std::size_t c = 0; c < cells; ++c) {
    const auto& own = grid.members[c];
    for (std::size_t p : own) {
      std::size_t count = own.size();
      for (std::size_t n = 0; n < grid.neighbours[c].size() && count < needed; ++n)
        for (std::size_t q : grid.members[grid.neighbours[c][n]])
          if (close(p, q) && ++count >= needed) break;
      if (count >= needed) {
        core[p] = 1;
        core_members[c].push_back(p);
      }
    }
  }

  // Cells with core points whose core points come closer than eps belong to one cluster.
  UnionFind sets(cells);
  for (std::size_t c = 0; c < cells; ++c) {
    if (core_members[c].empty()) continue;
    for (std::size_t n : grid.neighbours[c]) {
      if (n < c || core_members[n].empty() || sets.find(c) == sets.find(n)) continue;
      bool linked = false;
      for (std::size_t p : core_members[c]) {
        for (std::size_t q : core_members[n])
          if (close(p, q)) {
            linked = true;
            break;
          }
        if (linked) break;
      }
      if (linked) sets.unite(c, n);
    }
  }

  // Number clusters by their first core point in index order.
  std::vector<int> cluster_of_root(cells, -1);
  std::vector<std::size_t> cell_of(points.size());
  for (std::size_t c = 0; c < cells; ++c)
    for (std::size_t p : grid.members[c]) cell_of[p] = c;
  for (std::size_t p = 0; p < points.size(); ++p) {
    if (!core[p]) continue;
    std::size_t root = sets.find(cell_of[p]);
    if (cluster_of_root[root] < 0) cluster_of_root[root] = result.clusters++;
    result.labels[p] = cluster_of_root[root];
  }

  // Border points: the lowest-numbered cluster with a core point closer than eps.
  for (std::size_t p = 0; p < points.size(); ++p) {
    if (core[p]) continue;
    std::size_t c = cell_of[p];
    int best = -1;
    auto consider = [&](std::size_t cell) {
      if (core_members[cell].empty()) return;
      int label = cluster_of_root[sets.find(cell)];
      if (best >= 0 && label >= best) return;
      for (std::size_t q : core_members[cell])
        if (close(p, q)) {
          best = label;
          return;
        }
    };
    consider(c);
    for (std::size_t n : grid.neighbours[c]) consider(n);
    result.labels[p] = best;
  }
  return result;
}

}  // namespace cfm
