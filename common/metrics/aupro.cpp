#include "common/metrics/aupro.h"

#include <algorithm>
#include <cmath>
#include <numeric>

#include "common/util/error.h"

namespace cfm {
namespace {

struct Regions {
  std::vector<std::vector<float>> scores;  // per region, ascending
  std::vector<float> ok;                   // scores outside every region, in pixel order until sorted
};

Regions collect_regions(const PixelMaps& maps, const std::vector<float>& divisors) {
  CFM_ASSERT(maps.scores.size() == maps.masks.size());
  CFM_ASSERT(divisors.empty() || divisors.size() == maps.scores.size());
  Regions r;
  std::size_t pixels = 0;
  for (const Image<float>& s : maps.scores) pixels += s.pixels.size();
  r.ok.reserve(pixels);
  for (std::size_t i = 0; i < maps.scores.size(); ++i) {
    const Image<float>& s = maps.scores[i];
    CFM_ASSERT(s.width == maps.masks[i].width && s.height == maps.masks[i].height);
    const float divisor = divisor_of(divisors, i);
    int count = 0;
    std::vector<int> labels = label_regions(maps.masks[i], &count);
    std::size_t first = r.scores.size();
    r.scores.resize(first + static_cast<std::size_t>(count));
    for (std::size_t p = 0; p < labels.size(); ++p) {
      if (labels[p] == 0)
        r.ok.push_back(s.pixels[p] / divisor);
      else
        r.scores[first + static_cast<std::size_t>(labels[p] - 1)].push_back(s.pixels[p] / divisor);
    }
  }
  for (auto& region : r.scores) std::sort(region.begin(), region.end());
  return r;
}

// Mean over regions of the fraction of pixels scoring strictly above `threshold`.
double pro_at(const Regions& r, float threshold) {
  double sum = 0;
  for (const auto& region : r.scores) {
    auto above = region.end() - std::upper_bound(region.begin(), region.end(), threshold);
    sum += static_cast<double>(above) / static_cast<double>(region.size());
  }
  return sum / static_cast<double>(r.scores.size());
}

}  // namespace

std::vector<int> label_regions(const ImageU8& mask, int* count) {
  std::vector<int> labels(mask.pixels.size(), 0);
  std::vector<std::size_t> stack;
  int next = 0;
  for (std::size_t start = 0; start < labels.size(); ++start) {
    if (!mask.pixels[start] || labels[start]) continue;
    labels[start] = ++next;
    stack.push_back(start);
    while (!stack.empty()) {
      std::size_t p = stack.back();
      stack.pop_back();
      int y = static_cast<int>(p / static_cast<std::size_t>(mask.width)),
          x = static_cast<int>(p % static_cast<std::size_t>(mask.width));
      for (int dy = -1; dy <= 1; ++dy)
        for (int dx = -1; dx <= 1; ++dx) {
          int yy = y + dy, xx = x + dx;
          if (yy < 0 || xx < 0 || yy >= mask.height || xx >= mask.width) continue;
          std::size_t q = static_cast<std::size_t>(yy) * static_cast<std::size_t>(mask.width) +
                          static_cast<std::size_t>(xx);
          if (mask.pixels[q] && !labels[q]) {
            labels[q] = next;
            stack.push_back(q);
          }
        }
    }
  }
  *count = next;
  return labels;
}

ProCurve pro_curve_official(const PixelMaps& maps, int thresholds, const std::vector<float>& divisors) {
  CFM_ASSERT(thresholds >= 2);
  Regions r = collect_regions(maps, divisors);
  ProCurve curve;
  curve.regions = r.scores.size();
  if (r.scores.empty() || r.ok.empty()) return curve;  // undefined: no anomalous region or no OK pixel
  const auto n = static_cast<std::int64_t>(r.ok.size());
  const double step = static_cast<double>(n - 1) / (thresholds - 1);  // numpy.linspace(0, n - 1, T)
  std::vector<std::size_t> positions;
  for (int k = 0; k < thresholds; ++k)
    positions.push_back(
        static_cast<std::size_t>(k == thresholds - 1 ? n - 1 : static_cast<std::int64_t>(k * step)));
  std::sort(r.ok.begin(), r.ok.end());  // the thresholds are order statistics of the OK scores
  std::vector<std::pair<double, double>> points;
  for (std::size_t k = 0; k < positions.size(); ++k)
    points.emplace_back(1.0 - static_cast<double>(positions[k] + 1) / static_cast<double>(n),
                        pro_at(r, r.ok[positions[k]]));
  points.emplace_back(1.0, 1.0);
  std::stable_sort(points.begin(), points.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  for (const auto& [fpr, pro] : points) {
    curve.fpr.push_back(fpr);
    curve.pro.push_back(pro);
  }
  return curve;
}

ProCurve pro_curve_exact(const PixelMaps& maps, const std::vector<float>& divisors) {
  Regions r = collect_regions(maps, divisors);
  ProCurve curve;
  curve.regions = r.scores.size();
  if (r.scores.empty() || r.ok.empty()) return curve;
  // Every pixel as (score, region: 0 = OK, i + 1 = region i), sorted once and walked from the highest score
  // down; each distinct score closes one curve point.
  std::vector<std::pair<float, std::uint32_t>> keys;
  keys.reserve(r.ok.size());
  for (float s : r.ok) keys.emplace_back(s, 0);
  for (std::size_t i = 0; i < r.scores.size(); ++i)
    for (float s : r.scores[i]) keys.emplace_back(s, static_cast<std::uint32_t>(i + 1));
  std::sort(keys.begin(), keys.end());
  const double regions = static_cast<double>(r.scores.size()),
               fpr_step = 1.0 / static_cast<double>(r.ok.size());
  curve.fpr.push_back(0);
  curve.pro.push_back(0);
  double fpr = 0, pro = 0;
  for (std::size_t i = keys.size(); i-- > 0;) {
    const std::uint32_t region = keys[i].second;
    if (region == 0)
      fpr += fpr_step;
    else
      pro += 1.0 / (regions * static_cast<double>(r.scores[region - 1].size()));
    if (i == 0 || keys[i - 1].first != keys[i].first) {
      curve.fpr.push_back(std::min(fpr, 1.0));
      curve.pro.push_back(std::min(pro, 1.0));
    }
  }
  curve.fpr.push_back(1);
  curve.pro.push_back(1);
  return curve;
}

double area_under_pro(const ProCurve& curve, double limit) {
  std::vector<double> x, y;
  for (std::size_t i = 0; i < curve.fpr.size(); ++i)
    if (std::isfinite(curve.fpr[i]) && std::isfinite(curve.pro[i])) {
      x.push_back(curve.fpr[i]);
      y.push_back(curve.pro[i]);
    }
  if (x.size() < 2) return std::nan("");
  double correction = 0;
  if (std::find(x.begin(), x.end(), limit) == x.end()) {
    std::size_t ins =
        static_cast<std::size_t>(std::upper_bound(x.begin(), x.end(), limit) - x.begin());  // bisect right
    if (ins == 0 || ins >= x.size()) return std::nan("");
    double y_at = y[ins - 1] + (y[ins] - y[ins - 1]) * (limit - x[ins - 1]) / (x[ins] - x[ins - 1]);
    correction = 0.5 * (y_at + y[ins - 1]) * (limit - x[ins - 1]);
  }
  double area = 0;
  for (std::size_t i = 1; i < x.size() && x[i] <= limit; ++i)
    area += 0.5 * (y[i] + y[i - 1]) * (x[i] - x[i - 1]);
  return (area + correction) / limit;
}

}  // namespace cfm
