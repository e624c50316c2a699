// Anomalies with exact GT masks. Sizes are drawn so that a defect covers 0.5-5 % of the object, as in
// the real datasets; every defect lies on the object and its mask is exactly where the surface or the
// colour changed.
#include <algorithm>
#include <cmath>
#include <vector>

#include "common/data/synth/scene.h"
#include "common/data/synth/synth_random.h"

namespace cfm::synth {
namespace {

constexpr double kMm = 1e-3;
constexpr float kMinHeight = 6.5 * kMm;  // keeps defects above the 5 mm plane-removal threshold

// An ellipse on the object: normalised distance d(x, y) < 1 inside.
struct Footprint {
  double cx, cy, a, b, angle;
  double distance(int x, int y) const {
    double dx = x + 0.5 - cx, dy = y + 0.5 - cy;
    double c = std::cos(angle), s = std::sin(angle);
    double u = (c * dx + s * dy) / a, v = (-s * dx + c * dy) / b;
    return std::sqrt(u * u + v * v);
  }
};

std::size_t object_area(const SurfaceModel& s) {
  return static_cast<std::size_t>(std::count(s.object_mask.pixels.begin(), s.object_mask.pixels.end(), 255));
}

// Draws a footprint covering `fraction` of the object, at least 90 % of it on the object.
Footprint place_footprint(const SurfaceModel& s, double fraction, Rng& rng) {
  std::vector<std::size_t> object_pixels;
  for (std::size_t i = 0; i < s.object_mask.pixels.size(); ++i)
    if (s.object_mask.pixels[i]) object_pixels.push_back(i);
  double area = fraction * static_cast<double>(object_pixels.size());
  double aspect = rng.uniform(0.55, 1.0);
  Footprint f{0, 0, std::sqrt(area / (M_PI * aspect)), 0, rng.uniform(0, M_PI)};
  f.b = f.a * aspect;
  Footprint best = f;
  double best_inside = -1;
  for (int attempt = 0; attempt < 40 && best_inside < 0.9; ++attempt) {
    std::size_t p =
        object_pixels[static_cast<std::size_t>(rng.index(static_cast<int>(object_pixels.size())))];
    f.cx = static_cast<double>(p % s.width) + 0.5;
    f.cy = static_cast<double>(p / s.width) + 0.5;
    std::size_t inside = 0, total = 0;
    for (int y = std::max(0, static_cast<int>(f.cy - f.a));
         y < std::min(s.height, static_cast<int>(f.cy + f.a) + 1); ++y)
      for (int x = std::max(0, static_cast<int>(f.cx - f.a));
           x < std::min(s.width, static_cast<int>(f.cx + f.a) + 1); ++x)
        if (f.distance(x, y) < 1) {
          ++total;
          inside += s.object_mask.at(y, x) ? 1 : 0;
        }
    double ratio = total ? static_cast<double>(inside) / static_cast<double>(total) : 0;
    if (ratio > best_inside) {
      best_inside = ratio;
      best = f;
    }
  }
  return best;
}

template <typename Fn>
void for_each_in(const SurfaceModel& s, const Footprint& f, double reach, Fn&& fn) {
  double r = std::max(f.a, f.b) * reach + 1;
  for (int y = std::max(0, static_cast<int>(f.cy - r));
       y < std::min(s.height, static_cast<int>(f.cy + r) + 1); ++y)
    for (int x = std::max(0, static_cast<int>(f.cx - r));
         x < std::min(s.width, static_cast<int>(f.cx + r) + 1); ++x)
      if (s.object_mask.at(y, x)) fn(x, y, f.distance(x, y));
}

void raise_or_sink(SurfaceModel& s, const Footprint& f, double amplitude) {
  for_each_in(s, f, 1.0, [&](int x, int y, double d) {
    if (d >= 1) return;
    double w = (1 - d * d) * (1 - d * d);
    float& h = s.height_m.at(y, x);
    h = std::max(kMinHeight, static_cast<float>(h + amplitude * w));
    s.defect_mask.at(y, x) = 255;
  });
}

void hole(SurfaceModel& s, const Footprint& f, Rng& rng) {
  double depth = rng.uniform(4, 8) * kMm;
  for_each_in(s, f, 1.0, [&](int x, int y, double d) {
    if (d >= 1) return;
    double w = d < 0.75 ? 1.0 : (1 - d) / 0.25;  // steep wall, flat floor
    float& h = s.height_m.at(y, x);
    h = std::max(kMinHeight, static_cast<float>(h - depth * w));
    s.defect_mask.at(y, x) = 255;
    if (d < 0.45) s.missing.at(y, x) = 255;  // the sensor cannot see the bottom of a narrow hole
  });
}

void crack(SurfaceModel& s, double fraction, Rng& rng) {
  Footprint start = place_footprint(s, fraction * 0.2, rng);
  double width = std::max(2.0, 0.006 * std::min(s.width, s.height));
  auto target = static_cast<std::size_t>(fraction * static_cast<double>(object_area(s)));
  double depth = rng.uniform(2.0, 3.5) * kMm;
  double x = start.cx, y = start.cy, heading = rng.uniform(0, 2 * M_PI);
  double r = width / 2 + 0.5;
  std::size_t marked = 0;
  // Walk until the crack covers its share of the object; turn away when the next step leaves it.
  for (int step = 0; marked < target && step < 200000; ++step) {
    heading += rng.normal() * 0.06;
    double nx = x + 0.5 * std::cos(heading), ny = y + 0.5 * std::sin(heading);
    int ix = static_cast<int>(nx), iy = static_cast<int>(ny);
    if (ix < 0 || iy < 0 || ix >= s.width || iy >= s.height || !s.object_mask.at(iy, ix)) {
      heading += rng.uniform(0.5, 1.0) * M_PI;
      continue;
    }
    x = nx;
    y = ny;
    for (int yy = static_cast<int>(y - r); yy <= static_cast<int>(y + r); ++yy)
      for (int xx = static_cast<int>(x - r); xx <= static_cast<int>(x + r); ++xx) {
        if (xx < 0 || yy < 0 || xx >= s.width || yy >= s.height || !s.object_mask.at(yy, xx)) continue;
        double d = std::hypot(xx + 0.5 - x, yy + 0.5 - y) / (width / 2);
        if (d >= 1) continue;
        float dug = std::max(kMinHeight, static_cast<float>(s.height_m.at(yy, xx) - depth * (1 - d)));
        if (!s.defect_mask.at(yy, xx)) {
          s.defect_mask.at(yy, xx) = 255;
          ++marked;
          s.height_m.at(yy, xx) = dug;
        }
      }
  }
}

// Colour changes: a noise-warped blob with a foreign colour (contamination) or a darkening (stain).
void recolour(SurfaceModel& s, const Footprint& f, bool stain, Rng& rng) {
  ValueNoise noise(rng.bits());
  static const double kContaminants[3][3] = {{0.20, 0.26, 0.18}, {0.92, 0.92, 0.88}, {0.10, 0.10, 0.12}};
  const double* colour = kContaminants[rng.index(3)];
  double scale = 3.0 / std::max(f.a, 1.0);
  for_each_in(s, f, 1.3, [&](int x, int y, double d) {
    double warped = d + 0.35 * (noise.fbm(x * scale, y * scale, 3) - 0.5);
    if (stain) {
      double alpha = std::clamp((1 - warped) / 0.3, 0.0, 1.0) * 0.85;
      const double dark[3] = {0.45, 0.38, 0.30};
      for (int c = 0; c < 3; ++c)
        s.albedo.at(y, x, c) = static_cast<float>(s.albedo.at(y, x, c) * (1 - alpha + alpha * dark[c]));
      if (warped < 0.85) s.defect_mask.at(y, x) = 255;
    } else if (warped < 1) {
      double grain = 0.85 + 0.3 * noise.at(x * scale * 4, y * scale * 4);
      for (int c = 0; c < 3; ++c)
        s.albedo.at(y, x, c) = static_cast<float>(std::clamp(colour[c] * grain, 0.0, 1.0));
      s.defect_mask.at(y, x) = 255;
    }
  });
}

}  // namespace

void apply_defect(SurfaceModel& s, DefectKind kind, std::uint64_t seed) {
  if (kind == DefectKind::None) return;
  Rng rng(seed);
  double fraction = std::exp(rng.uniform(std::log(0.006), std::log(0.045)));
  switch (kind) {
    case DefectKind::Bump:
      raise_or_sink(s, place_footprint(s, fraction, rng), rng.uniform(1.5, 3.0) * kMm);
      break;
    case DefectKind::Dent:
      raise_or_sink(s, place_footprint(s, fraction, rng), -rng.uniform(1.5, 3.0) * kMm);
      break;
    case DefectKind::Hole:
      hole(s, place_footprint(s, fraction, rng), rng);
      break;
    case DefectKind::Crack:
      crack(s, fraction, rng);
      break;
    case DefectKind::Contamination:
      recolour(s, place_footprint(s, fraction, rng), false, rng);
      break;
    case DefectKind::Stain:
      recolour(s, place_footprint(s, fraction, rng), true, rng);
      break;
    case DefectKind::Combined: {
      Footprint f = place_footprint(s, fraction, rng);
      raise_or_sink(s, f, (rng.uniform() < 0.5 ? 1 : -1) * rng.uniform(1.5, 3.0) * kMm);
      recolour(s, f, false, rng);
      break;
    }
    case DefectKind::None:
      break;
  }
}

}  // namespace cfm::synth
