// Category objects as surface models. Every object stands on the plane with steep walls at least 5 mm
// high (like the real objects, whose sides rise well above the 5 mm plane-removal threshold of
// docs/method.md §1.3), then carries a category-specific profile, surface texture and albedo. Albedo is
// tied to geometry (baked rims, dark chocolate chips that protrude, potato eyes that are dimples, wood
// grain that is slightly raised), so the 2D and 3D modalities are related as on real objects.
#include <algorithm>
#include <cmath>

#include "common/data/synth/scene.h"
#include "common/data/synth/synth_random.h"

namespace cfm::synth {
namespace {

constexpr double kMm = 1e-3;

struct Pose {
  double cx, cy, angle, radius_px;
};

// Object-local coordinates (u, v) in units of the object radius.
void to_local(const Pose& pose, int x, int y, double& u, double& v) {
  double dx = x + 0.5 - pose.cx, dy = y + 0.5 - pose.cy;
  double c = std::cos(pose.angle), s = std::sin(pose.angle);
  u = (c * dx + s * dy) / pose.radius_px;
  v = (-s * dx + c * dy) / pose.radius_px;
}

struct Texel {
  double height = 0;  // metres, > 0 on the object
  double rgb[3] = {0, 0, 0};
};

void set_albedo(Texel& t, const double base[3], double factor) {
  for (int c = 0; c < 3; ++c) t.rgb[c] = std::clamp(base[c] * factor, 0.0, 1.0);
}

Texel cookie(double u, double v, const double base[3], const ValueNoise& noise) {
  Texel t;
  double r = std::hypot(u, v) * (1.0 + 0.05 * (noise.at(3 * std::atan2(v, u) + 10, 0.5) - 0.5));
  if (r >= 1) return t;
  double chips = noise.fbm(u * 6 + 40, v * 6 + 40, 2);
  t.height = 9 * kMm + 3 * kMm * (1 - r * r) + 0.4 * kMm * noise.fbm(u * 5, v * 5, 3);
  set_albedo(t, base, (0.85 + 0.3 * noise.fbm(u * 9, v * 9, 3)) * (1 - 0.35 * std::pow(r, 4)));
  if (chips > 0.68) {  // chocolate chips: dark and raised
    t.height += 0.9 * kMm;
    const double chip[3] = {0.28, 0.17, 0.11};
    set_albedo(t, chip, 1.0);
  }
  return t;
}

Texel ring(double u, double v, const double base[3], const ValueNoise& noise) {
  Texel t;
  double r = std::hypot(u, v);
  double d = std::abs(r - 0.62) / 0.38;
  if (d >= 1) return t;
  double profile = std::sqrt(1 - d * d);
  t.height = 6.5 * kMm + 13 * kMm * profile + 0.3 * kMm * noise.fbm(u * 8, v * 8, 3);
  // Crust darker on top (height-dependent), lighter on the sides, plus seeds.
  set_albedo(t, base, (1.15 - 0.45 * profile) * (0.9 + 0.2 * noise.fbm(u * 12, v * 12, 2)));
  if (noise.at(u * 30 + 7, v * 30 + 7) > 0.93) {
    const double seed_colour[3] = {0.93, 0.88, 0.72};
    set_albedo(t, seed_colour, 1.0);
    t.height += 0.4 * kMm;
  }
  return t;
}

Texel dowel(double u, double v, const double base[3], const ValueNoise& noise) {
  Texel t;
  double along = std::clamp(v, -1.15, 1.15);  // capsule along the local v axis
  double d = std::hypot(u, v - along) / 0.34;
  if (d >= 1) return t;
  double grain = 0.5 + 0.5 * std::sin(u * 45 + 4 * noise.fbm(u * 2, v * 6, 3));
  t.height = 6.5 * kMm + 9 * kMm * std::sqrt(1 - d * d) + 0.12 * kMm * grain;
  set_albedo(t, base, 0.8 + 0.3 * grain);
  return t;
}

Texel potato(double u, double v, const double base[3], const ValueNoise& noise) {
  Texel t;
  double angle = std::atan2(v, u);
  double r =
      std::hypot(u, v) / (0.85 + 0.25 * noise.fbm(std::cos(angle) * 1.5 + 3, std::sin(angle) * 1.5 + 3, 3));
  if (r >= 1) return t;
  t.height = 7 * kMm + 18 * kMm * std::pow(1 - r * r, 0.7) + 0.6 * kMm * noise.fbm(u * 4, v * 4, 4);
  set_albedo(t, base, 0.8 + 0.35 * noise.fbm(u * 7 + 5, v * 7 + 5, 4));
  double eye = noise.at(u * 7 + 70, v * 7 + 70);
  if (eye > 0.86) {  // eyes: dark dimples
    t.height -= 0.9 * kMm * (eye - 0.86) / 0.14;
    set_albedo(t, base, 0.45);
  }
  return t;
}

Texel gland(double u, double v, const double base[3], const ValueNoise& noise) {
  Texel t;
  double hexagon = 0;
  for (int k = 0; k < 3; ++k)
    hexagon = std::max(hexagon, std::abs(u * std::cos(k * M_PI / 3) + v * std::sin(k * M_PI / 3)));
  if (hexagon >= 0.95) return t;
  double r = std::hypot(u, v);
  // Levels joined by ramps (not vertical walls), so that the object stays one connected surface for
  // the DBSCAN of the preprocessing, whose eps is 6 mm.
  auto ramp = [](double edge, double value, double width) {
    return std::clamp((edge - value) / width + 0.5, 0.0, 1.0);
  };
  double boss = ramp(0.55, r, 0.12), bore = ramp(0.22, r, 0.08);
  t.height = 8 * kMm + boss * (8 * kMm + 0.5 * kMm * std::sin(r * 90)) - bore * 8.5 * kMm;
  double shade = 0.95 + boss * (0.1 + 0.08 * std::sin(r * 90)) - bore * 0.6;
  set_albedo(t, base, shade * (0.95 + 0.1 * noise.fbm(u * 20, v * 20, 2)));
  return t;
}

Texel object_texel(ShapeKind shape, double u, double v, const double base[3], const ValueNoise& noise) {
  switch (shape) {
    case ShapeKind::Cookie:
      return cookie(u, v, base, noise);
    case ShapeKind::Ring:
      return ring(u, v, base, noise);
    case ShapeKind::Dowel:
      return dowel(u, v, base, noise);
    case ShapeKind::Potato:
      return potato(u, v, base, noise);
    case ShapeKind::Gland:
      return gland(u, v, base, noise);
  }
  return Texel{};
}

}  // namespace

std::string defect_folder(DefectKind kind) {
  switch (kind) {
    case DefectKind::None:
      return "good";
    case DefectKind::Bump:
      return "bump";
    case DefectKind::Dent:
      return "dent";
    case DefectKind::Hole:
      return "hole";
    case DefectKind::Crack:
      return "crack";
    case DefectKind::Contamination:
      return "contamination";
    case DefectKind::Stain:
      return "stain";
    case DefectKind::Combined:
      return "combined";
  }
  return "unknown";
}

std::vector<CategoryStyle> category_styles(int count) {
  using D = DefectKind;
  const std::vector<CategoryStyle> base = {
      {"cookie",
       ShapeKind::Cookie,
       1.0,
       {0.80, 0.58, 0.33},
       {D::Bump, D::Crack, D::Contamination, D::Combined}},
      {"bagel", ShapeKind::Ring, 1.0, {0.74, 0.47, 0.22}, {D::Dent, D::Hole, D::Stain, D::Combined}},
      {"dowel",
       ShapeKind::Dowel,
       0.75,
       {0.78, 0.63, 0.44},
       {D::Crack, D::Bump, D::Contamination, D::Combined}},
      {"potato", ShapeKind::Potato, 1.0, {0.72, 0.60, 0.40}, {D::Hole, D::Dent, D::Stain, D::Combined}},
      {"gland", ShapeKind::Gland, 1.0, {0.62, 0.62, 0.66}, {D::Bump, D::Hole, D::Contamination, D::Combined}},
  };
  std::vector<CategoryStyle> styles;
  for (int i = 0; i < count; ++i) {
    CategoryStyle style = base[static_cast<std::size_t>(i) % base.size()];
    if (i >= static_cast<int>(base.size())) style.name += std::to_string(i / base.size() + 1);
    styles.push_back(style);
  }
  return styles;
}

SurfaceModel make_object_surface(const CategoryStyle& style, int width, int height, double pitch,
                                 std::uint64_t seed) {
  Rng rng(seed);
  ValueNoise noise(rng.bits());
  ValueNoise background_noise(rng.bits());
  SurfaceModel s;
  s.width = width;
  s.height = height;
  s.pitch = pitch;
  s.height_m = Image<float>(width, height, 1);
  s.albedo = Image<float>(width, height, 3);
  s.object_mask = ImageU8(width, height, 1);
  s.defect_mask = ImageU8(width, height, 1);
  s.missing = ImageU8(width, height, 1);
  s.specular = style.shape == ShapeKind::Gland ? 0.45 : 0.08;
  Pose pose;
  int shorter = std::min(width, height);
  pose.cx = width / 2.0 + rng.uniform(-0.04, 0.04) * shorter;
  pose.cy = height / 2.0 + rng.uniform(-0.04, 0.04) * shorter;
  pose.radius_px = shorter * 0.30 * rng.uniform(0.9, 1.08);
  // Elongated objects stay roughly along the long image axis so that they fit.
  pose.angle = style.shape == ShapeKind::Dowel ? rng.uniform(-0.2, 0.2) : rng.uniform(0, 2 * M_PI);
  if (style.shape == ShapeKind::Dowel) pose.radius_px = height * 0.36 * rng.uniform(0.92, 1.05);
  double tint[3];
  for (double& t : tint) t = rng.uniform(0.94, 1.06);
  double base[3];
  for (int c = 0; c < 3; ++c) base[c] = style.base_rgb[c] * tint[c];
  double background_level = rng.uniform(0.30, 0.42);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      double u, v;
      to_local(pose, x, y, u, v);
      Texel t = object_texel(style.shape, u, v, base, noise);
      if (t.height > 0) {
        s.height_m.at(y, x) = static_cast<float>(t.height);
        s.object_mask.at(y, x) = 255;
        for (int c = 0; c < 3; ++c) s.albedo.at(y, x, c) = static_cast<float>(t.rgb[c]);
      } else {  // conveyor-belt-like background: grey-blue with fine grain
        double g =
            background_level * (0.85 + 0.3 * background_noise.fbm(x * 64.0 / shorter, y * 64.0 / shorter, 3));
        s.albedo.at(y, x, 0) = static_cast<float>(g * 0.92);
        s.albedo.at(y, x, 1) = static_cast<float>(g * 0.97);
        s.albedo.at(y, x, 2) = static_cast<float>(g * 1.08);
      }
    }
  return s;
}

}  // namespace cfm::synth
