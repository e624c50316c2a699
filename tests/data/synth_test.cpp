#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/data/png_io.h"
#include "common/data/synth/scene.h"
#include "common/data/synth/synth_writer.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

using test::TempDir;

std::vector<std::pair<std::string, std::string>> tree_contents(const fs::path& root) {
  std::vector<std::pair<std::string, std::string>> files;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) {
      std::ifstream in(e.path(), std::ios::binary);
      files.emplace_back(fs::relative(e.path(), root).string(),
                         std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()));
    }
  std::sort(files.begin(), files.end());
  return files;
}

synth::SynthOptions small_options(const std::string& out, std::uint64_t seed) {
  synth::SynthOptions o = test::small_synth(out, 3, 100, 2, 1, 1);
  o.seed = seed;
  return o;
}

TEST(Synth, SameSeedGivesIdenticalFilesOtherSeedDiffers) {
  TempDir dir;
  synth::write_synthetic_dataset(small_options(dir / "a", 7));
  auto o = small_options(dir / "b", 7);
  o.threads = 1;  // thread count must not matter
  synth::write_synthetic_dataset(o);
  synth::write_synthetic_dataset(small_options(dir / "c", 8));
  auto a = tree_contents(dir / "a"), b = tree_contents(dir / "b"), c = tree_contents(dir / "c");
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), c.size());
  EXPECT_NE(a, c);
}

TEST(Synth, WritesTheExactMvtecLayout) {
  TempDir dir;
  synth::SynthSummary summary = synth::write_synthetic_dataset(small_options(dir / "d", 1));
  fs::path root = dir / "d";
  for (const char* path :
       {"cookie/train/good/rgb/000.png", "cookie/train/good/xyz/001.tiff", "cookie/train/good/gt/000.png",
        "cookie/validation/good/xyz/000.tiff", "cookie/test/good/gt/000.png", "cookie/test/crack/gt/000.png",
        "bagel/test/hole/xyz/000.tiff", "dowel/test/combined/rgb/000.png",
        "dowel/calibration/camera_parameters.json"})
    EXPECT_TRUE(fs::is_regular_file(root / path)) << path;
  PointImage xyz = read_xyz_tiff((root / "dowel/test/combined/xyz/000.tiff").string());
  EXPECT_EQ(xyz.width, 75);  // the non-square category: 3:4 like MVTec's tire
  EXPECT_EQ(xyz.height, 100);
  TiffInfo info = read_tiff_info((root / "cookie/train/good/xyz/000.tiff").string());
  EXPECT_EQ(info.bits_per_sample, 32);
  EXPECT_EQ(info.samples_per_pixel, 3);
  ImageU8 gt = read_png_luma((root / "cookie/test/bump/gt/000.png").string());
  for (std::uint8_t v : gt.pixels) ASSERT_TRUE(v == 0 || v == 255);
  EXPECT_EQ(summary.categories.size(), 3u);
  EXPECT_EQ(summary.files, 3u * 3 * (2 + 1 + 1 + 4));
}

TEST(Synth, RejectsBadOptions) {
  TempDir dir;
  auto o = small_options(dir / "x", 0);
  o.size = 150;
  EXPECT_THROW(synth::write_synthetic_dataset(o), UsageError);
  o = small_options(dir / "x", 0);
  o.train = 0;
  EXPECT_THROW(synth::write_synthetic_dataset(o), UsageError);
}

// Anomalies: on the object, 0.5-5 % of it, and of the declared kind.
TEST(Synth, DefectsAreRealisticInSizeAndLieOnTheObject) {
  auto styles = synth::category_styles(5);
  for (const auto& style : styles)
    for (synth::DefectKind kind : style.defects)
      for (std::uint64_t seed = 0; seed < 3; ++seed) {
        synth::MvtecSample s = synth::generate_mvtec_sample(style, 300, kind, seed);
        std::size_t object = 0, defect = 0, outside = 0;
        for (std::size_t i = 0; i < s.gt.pixels.size(); ++i) {
          object += s.object_mask.pixels[i] != 0;
          defect += s.gt.pixels[i] != 0;
          outside += s.gt.pixels[i] != 0 && s.object_mask.pixels[i] == 0;
        }
        double fraction = static_cast<double>(defect) / static_cast<double>(object);
        EXPECT_EQ(outside, 0u);
        EXPECT_GE(fraction, 0.004) << style.name << " " << synth::defect_folder(kind) << " seed " << seed;
        EXPECT_LE(fraction, 0.06) << style.name << " " << synth::defect_folder(kind) << " seed " << seed;
      }
}

// Geometry defects change xyz (and, through shading, the RGB); colour defects change only the RGB.
TEST(Synth, GeometryAndColourDefectsChangeTheRightModalities) {
  auto style = synth::category_styles(1)[0];
  auto make = [&](synth::DefectKind kind) {
    synth::SurfaceModel s = synth::make_object_surface(style, 200, 200, 0.16 / 200, 42);
    synth::apply_defect(s, kind, 43);
    return s;
  };
  synth::SurfaceModel good = make(synth::DefectKind::None), bump = make(synth::DefectKind::Bump),
                      stain = make(synth::DefectKind::Contamination);
  const double light[3] = {-0.4, -0.4, 1};
  ImageU8 rgb_good = synth::shade_surface(good, light, 1), rgb_bump = synth::shade_surface(bump, light, 1),
          rgb_stain = synth::shade_surface(stain, light, 1);
  double bump_rgb_change = 0, bump_height_change = 0, stain_rgb_change = 0;
  std::size_t bump_pixels = 0, stain_pixels = 0;
  for (std::size_t i = 0; i < good.height_m.pixels.size(); ++i) {
    if (bump.defect_mask.pixels[i]) {
      ++bump_pixels;
      bump_height_change += std::abs(bump.height_m.pixels[i] - good.height_m.pixels[i]);
      for (int c = 0; c < 3; ++c)
        bump_rgb_change += std::abs(rgb_bump.pixels[i * 3 + c] - rgb_good.pixels[i * 3 + c]);
    } else {
      ASSERT_EQ(bump.height_m.pixels[i], good.height_m.pixels[i]);
    }
    ASSERT_EQ(stain.height_m.pixels[i], good.height_m.pixels[i]);  // colour-only: geometry untouched
    if (stain.defect_mask.pixels[i]) {
      ++stain_pixels;
      for (int c = 0; c < 3; ++c)
        stain_rgb_change += std::abs(rgb_stain.pixels[i * 3 + c] - rgb_good.pixels[i * 3 + c]);
    }
  }
  ASSERT_GT(bump_pixels, 0u);
  ASSERT_GT(stain_pixels, 0u);
  EXPECT_GT(bump_height_change / bump_pixels, 0.3e-3);       // > 0.3 mm on average
  EXPECT_GT(bump_rgb_change / (3.0 * bump_pixels), 2.0);     // visible through shading
  EXPECT_GT(stain_rgb_change / (3.0 * stain_pixels), 20.0);  // clearly visible colour
}

TEST(Synth, CloudHasSensorHolesAndABackgroundPlane) {
  auto style = synth::category_styles(1)[0];
  synth::MvtecSample s = synth::generate_mvtec_sample(style, 400, synth::DefectKind::None, 3);
  std::size_t missing = 0, total = static_cast<std::size_t>(s.xyz.width) * s.xyz.height;
  for (std::size_t i = 0; i < total; ++i) missing += s.xyz.pixels[i * 3 + 2] == 0;
  EXPECT_GT(missing, total / 1000);  // holes exist
  EXPECT_LT(missing, total / 5);     // but most pixels are measured
  // Border pixels lie on the plane ~0.55 m away.
  EXPECT_NEAR(s.xyz.at(2, 200, 2), 0.55, 0.05);
}

}  // namespace
}  // namespace cfm
