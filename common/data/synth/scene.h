// The synthetic stand-in for MVTec 3D-AD and Eyecandies: procedurally generated objects lying on a
// noisy background plane, seen by a depth sensor and a colour camera.
//
// A sample is built in three steps, each in its own file:
//   shapes.cpp   the object of a category as a surface model: height above the plane (metres) and
//                albedo per pixel, with per-sample pose, size and texture variation;
//   defects.cpp  an optional anomaly changing the geometry (bump, dent, hole, crack), the colour
//                (contamination, stain) or both (combined), with its exact GT mask;
//   render.cpp   the sensor: organized xyz with sensor-like holes, shadow bands and flying pixels, and an
//                RGB image whose shading depends on the geometry (normals, ambient occlusion, height).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/data/image.h"

namespace cfm::synth {

enum class ShapeKind { Cookie, Ring, Dowel, Potato, Gland };

enum class DefectKind { None, Bump, Dent, Hole, Crack, Contamination, Stain, Combined };

// MVTec-style folder name of a defect ("good" for None).
std::string defect_folder(DefectKind kind);

struct CategoryStyle {
  std::string name;
  ShapeKind shape;
  double aspect = 1.0;              // image width / height (MVTec's tire is 600x800: 0.75)
  double base_rgb[3];               // albedo of the object
  std::vector<DefectKind> defects;  // test defect folders of this category
};

// The first `count` category styles (5 distinct shapes; further categories reuse them with new names).
std::vector<CategoryStyle> category_styles(int count);

// Object surface above the background plane, in the image's pixel grid.
struct SurfaceModel {
  int width = 0, height = 0;
  double pitch = 0;       // metres per pixel on the plane
  Image<float> height_m;  // object height above the plane; 0 off the object
  Image<float> albedo;    // 3 channels in [0, 1], object and background
  ImageU8 object_mask;    // 255 on the object
  ImageU8 defect_mask;    // 255 on the anomaly (exact GT)
  ImageU8 missing;        // 255 where the sensor returns no point (hole floors)
  double specular = 0.1;
};

SurfaceModel make_object_surface(const CategoryStyle& style, int width, int height, double pitch,
                                 std::uint64_t seed);
void apply_defect(SurfaceModel& surface, DefectKind kind, std::uint64_t seed);

// Lambert + Blinn-Phong shading of the surface under one light direction (camera frame, z toward the
// scene), with ambient occlusion and sensor noise; returns 8-bit RGB.
ImageU8 shade_surface(const SurfaceModel& surface, const double light[3], std::uint64_t seed);

// MVTec 3D-AD-like sensor: a pinhole camera looking at a tilted plane ~0.55 m away.
struct MvtecView {
  ImageU8 rgb;
  PointImage xyz;  // metres, (0,0,0) where missing
};
MvtecView render_mvtec_view(const SurfaceModel& surface, std::uint64_t seed);

// One finished sample in the MVTec layout, plus the object mask (for tests of the preprocessing).
struct MvtecSample {
  ImageU8 rgb;
  PointImage xyz;
  ImageU8 gt;
  ImageU8 object_mask;
};
MvtecSample generate_mvtec_sample(const CategoryStyle& style, int image_height, DefectKind defect,
                                  std::uint64_t seed);

}  // namespace cfm::synth

namespace cfm::synth {

// Eyecandies-like sensor (docs/method.md §1.4): 512x512, f = 711.11 px, principal point (W/2, H/2), a
// 16-bit depth PNG normalised by [min, max], a world->camera pose, six lightings and a normal map.
// World frame: plane y = 0, up = -y, units of 0.1 m, which is what CFM's converter expects.
struct EyecandiesView {
  ImageU16 depth;
  double depth_min = 0, depth_max = 0;
  double pose[4][4];  // world -> camera
  ImageU8 images[6];  // all spotlights, bottom, right, top, left, global light box
  ImageU8 normals;    // (n + 1) / 2 * 255
};
EyecandiesView render_eyecandies_view(const SurfaceModel& surface, std::uint64_t seed);
constexpr double kEyecandiesFocal = 711.11;

}  // namespace cfm::synth
