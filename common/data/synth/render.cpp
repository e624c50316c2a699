// The sensors. Geometry and appearance come from the same surface model, so a geometric defect also
// changes the image (through normals, occlusion and shadows) and a colour defect does not touch the xyz.
#include <algorithm>
#include <cmath>

#include "common/data/synth/scene.h"
#include "common/data/synth/synth_random.h"

namespace cfm::synth {
namespace {

struct Vec3 {
  double x, y, z;
};
Vec3 normalized(Vec3 v) {
  double n = std::sqrt(v.x * v.x + v.y * v.y + v.z * v.z);
  return {v.x / n, v.y / n, v.z / n};
}
double dot(Vec3 a, Vec3 b) { return a.x * b.x + a.y * b.y + a.z * b.z; }

// Surface normal in the "up" frame (z toward the camera) from central differences of the height.
Vec3 surface_normal(const SurfaceModel& s, int x, int y) {
  auto h = [&](int xx, int yy) {
    return static_cast<double>(
        s.height_m.at(std::clamp(yy, 0, s.height - 1), std::clamp(xx, 0, s.width - 1)));
  };
  double gx = (h(x + 1, y) - h(x - 1, y)) / (2 * s.pitch);
  double gy = (h(x, y + 1) - h(x, y - 1)) / (2 * s.pitch);
  return normalized({-gx, -gy, 1});
}

// Box-blurred height (separable running sums), for ambient occlusion.
Image<float> blurred_height(const SurfaceModel& s, int radius) {
  Image<float> tmp(s.width, s.height, 1), out(s.width, s.height, 1);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      double sum = 0;
      int n = 0;
      for (int k = std::max(0, x - radius); k <= std::min(s.width - 1, x + radius); ++k, ++n)
        sum += s.height_m.at(y, k);
      tmp.at(y, x) = static_cast<float>(sum / n);
    }
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      double sum = 0;
      int n = 0;
      for (int k = std::max(0, y - radius); k <= std::min(s.height - 1, y + radius); ++k, ++n)
        sum += tmp.at(k, x);
      out.at(y, x) = static_cast<float>(sum / n);
    }
  return out;
}

// True where the surface point is hidden from a directional source (a light, or a projector) by higher
// parts of the object: march toward the source and compare with the ray's height.
ImageU8 occlusion_from(const SurfaceModel& s, Vec3 direction) {
  ImageU8 hidden(s.width, s.height, 1);
  Vec3 d = normalized(direction);
  double horizontal = std::hypot(d.x, d.y);
  if (horizontal < 1e-6) return hidden;
  double step_x = d.x / horizontal, step_y = d.y / horizontal;
  double rise_per_px = d.z / horizontal * s.pitch;
  float max_height = *std::max_element(s.height_m.pixels.begin(), s.height_m.pixels.end());
  int max_steps = static_cast<int>(max_height / rise_per_px) + 2;
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      double h0 = s.height_m.at(y, x);
      for (int k = 1; k <= max_steps; ++k) {
        int xx = static_cast<int>(x + 0.5 + k * step_x), yy = static_cast<int>(y + 0.5 + k * step_y);
        if (xx < 0 || yy < 0 || xx >= s.width || yy >= s.height) break;
        if (s.height_m.at(yy, xx) > h0 + k * rise_per_px + 1e-4) {
          hidden.at(y, x) = 255;
          break;
        }
      }
    }
  return hidden;
}

std::uint8_t to_byte(double v) {
  return static_cast<std::uint8_t>(std::clamp(std::lround(v * 255.0), 0L, 255L));
}

}  // namespace

ImageU8 shade_surface(const SurfaceModel& s, const double light[3], std::uint64_t seed) {
  Rng rng(seed);
  Vec3 l = normalized({light[0], light[1], light[2]});
  Vec3 half = normalized({l.x, l.y, l.z + 1});
  ImageU8 shadow = occlusion_from(s, l);
  Image<float> around = blurred_height(s, std::max(2, s.width / 80));
  ImageU8 rgb(s.width, s.height, 3);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      Vec3 n = surface_normal(s, x, y);
      double diffuse = std::max(0.0, dot(n, l)) * (shadow.at(y, x) ? 0.25 : 1.0);
      double cavity = (around.at(y, x) - s.height_m.at(y, x)) / 3e-3;  // deeper than the surroundings
      double occlusion = std::clamp(1.0 - 0.6 * cavity, 0.35, 1.0);
      double specular = shadow.at(y, x) ? 0 : s.specular * std::pow(std::max(0.0, dot(n, half)), 30);
      for (int c = 0; c < 3; ++c) {
        double v =
            s.albedo.at(y, x, c) * (0.28 + 0.72 * diffuse) * occlusion + specular + rng.normal() * 0.006;
        rgb.at(y, x, c) = to_byte(v);
      }
    }
  return rgb;
}

MvtecView render_mvtec_view(const SurfaceModel& s, std::uint64_t seed) {
  Rng rng(seed);
  ValueNoise waviness(rng.bits());
  // Tilted plane ~0.55 m from a pinhole camera whose pixels cover `pitch` metres on the plane.
  double z0 = rng.uniform(0.52, 0.58);
  Vec3 plane_normal = normalized({rng.uniform(-0.06, 0.06), rng.uniform(-0.06, 0.06), 1});
  double focal = z0 / s.pitch, cx = s.width / 2.0, cy = s.height / 2.0;
  // A structured-light projector beside the camera leaves occlusion bands next to the object's walls.
  ImageU8 projector_shadow = occlusion_from(s, {rng.uniform(0.25, 0.4), rng.uniform(-0.1, 0.1), 1});
  MvtecView view;
  view.xyz = PointImage(s.width, s.height, 3);
  ImageU8 dropout(s.width, s.height, 1);
  int blobs = 3 + rng.index(5);
  for (int b = 0; b < blobs; ++b) {  // specular / dark-surface drop-outs
    double bx = rng.uniform(0, s.width), by = rng.uniform(0, s.height);
    double r = rng.uniform(0.003, 0.012) * s.height + 1;
    for (int y = std::max(0, static_cast<int>(by - r)); y < std::min(s.height, static_cast<int>(by + r) + 1);
         ++y)
      for (int x = std::max(0, static_cast<int>(bx - r)); x < std::min(s.width, static_cast<int>(bx + r) + 1);
           ++x)
        if (std::hypot(x - bx, y - by) < r) dropout.at(y, x) = 255;
  }
  double scale = 6.0 / s.height;
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      if (s.missing.at(y, x) || projector_shadow.at(y, x) || dropout.at(y, x) || rng.uniform() < 0.002)
        continue;
      Vec3 ray{(x + 0.5 - cx) / focal, (y + 0.5 - cy) / focal, 1};
      double t = plane_normal.z * z0 / dot(plane_normal, ray);
      double offset = s.height_m.at(y, x) + rng.normal() * 0.2e-3 +
                      0.3e-3 * (waviness.fbm(x * scale, y * scale, 2) - 0.5);
      if (rng.uniform() < 0.0003) offset += rng.uniform(0.015, 0.04);  // flying pixel, isolated outlier
      view.xyz.at(y, x, 0) = t * ray.x - offset * plane_normal.x;
      view.xyz.at(y, x, 1) = t * ray.y - offset * plane_normal.y;
      view.xyz.at(y, x, 2) = t * ray.z - offset * plane_normal.z;
    }
  const double light[3] = {rng.uniform(-0.6, -0.3), rng.uniform(-0.6, -0.3), 1.0};
  view.rgb = shade_surface(s, light, rng.bits());
  return view;
}

EyecandiesView render_eyecandies_view(const SurfaceModel& s, std::uint64_t seed) {
  Rng rng(seed);
  EyecandiesView view;
  // Camera looking straight down from D units above the plane y = 0 (world up = -y), image top toward +z.
  // World -> camera rotation rows: x_c = x_w, y_c = -z_w, z_c = +y_w (a proper rotation).
  double distance = 2.2 * rng.uniform(0.98, 1.02);
  double camera[3] = {rng.uniform(-0.03, 0.03), -distance, rng.uniform(-0.03, 0.03)};
  const double rotation[3][3] = {{1, 0, 0}, {0, 0, -1}, {0, 1, 0}};
  for (int r = 0; r < 3; ++r) {
    view.pose[r][3] = 0;
    for (int c = 0; c < 3; ++c) {
      view.pose[r][c] = rotation[r][c];
      view.pose[r][3] -= rotation[r][c] * camera[c];
    }
  }
  view.pose[3][0] = view.pose[3][1] = view.pose[3][2] = 0;
  view.pose[3][3] = 1;
  // Heights are in metres; world units are 0.1 m. Depth along the optical axis = distance - height.
  view.depth_min = distance - 0.5;
  view.depth_max = distance + 0.1;
  view.depth = ImageU16(s.width, s.height, 1);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      double depth = distance - s.height_m.at(y, x) * 10.0 + rng.normal() * 0.0005;
      double code = (depth - view.depth_min) / (view.depth_max - view.depth_min) * 65535.0;
      view.depth.at(y, x) = static_cast<std::uint16_t>(std::clamp(std::lround(code), 0L, 65535L));
    }
  const double lights[6][3] = {{0, 0, 1},    {0, 0.8, 1},  {0.8, 0, 1},
                               {0, -0.8, 1}, {-0.8, 0, 1}, {0.1, -0.1, 1}};
  for (int i = 0; i < 6; ++i) view.images[i] = shade_surface(s, lights[i], rng.bits());
  view.normals = ImageU8(s.width, s.height, 3);
  for (int y = 0; y < s.height; ++y)
    for (int x = 0; x < s.width; ++x) {
      Vec3 n = surface_normal(s, x, y);
      view.normals.at(y, x, 0) = to_byte((n.x + 1) / 2);
      view.normals.at(y, x, 1) = to_byte((n.y + 1) / 2);
      view.normals.at(y, x, 2) = to_byte((n.z + 1) / 2);
    }
  return view;
}

MvtecSample generate_mvtec_sample(const CategoryStyle& style, int image_height, DefectKind defect,
                                  std::uint64_t seed) {
  Rng rng(seed);
  int width = static_cast<int>(std::lround(image_height * style.aspect));
  double pitch = 0.16 / image_height;  // the image spans 16 cm: objects of ~10 cm, ~0.2 mm/px at 800 px
  SurfaceModel surface = make_object_surface(style, width, image_height, pitch, rng.bits());
  apply_defect(surface, defect, rng.bits());
  MvtecView view = render_mvtec_view(surface, rng.bits());
  return {std::move(view.rgb), std::move(view.xyz), std::move(surface.defect_mask),
          std::move(surface.object_mask)};
}

}  // namespace cfm::synth
