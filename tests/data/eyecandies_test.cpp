#include <filesystem>

#include "common/data/dataset.h"
#include "common/data/preprocess/eyecandies_convert.h"
#include "common/data/synth/scene.h"
#include "common/data/synth/synth_writer.h"
#include "common/data/tiff_io.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

using test::TempDir;

TEST(EyecandiesConvert, BackProjectionOfAConstantDepthWithIdentityPose) {
  ImageU16 depth(512, 512, 1, 32768);
  const double identity[4][4] = {{1, 0, 0, 0}, {0, 1, 0, 0}, {0, 0, 1, 0}, {0, 0, 0, 1}};
  PointImage p = eyecandies_depth_to_points(depth, 1.0, 3.0, identity);
  float d = 32768.0f / 65535.0f * 2.0f + 1.0f;  // float32 as numpy
  EXPECT_NEAR(p.at(0, 0, 0), d * (0 - 256) / 711.11, 1e-9);
  EXPECT_NEAR(p.at(10, 300, 0), d * (300 - 256) / 711.11, 1e-9);
  EXPECT_NEAR(p.at(10, 300, 1), d * (10 - 256) / 711.11, 1e-9);
  EXPECT_NEAR(p.at(10, 300, 2), d, 1e-9);
}

TEST(EyecandiesConvert, KeepsTheObjectAndZeroesTheBackground) {
  auto style = synth::category_styles(2)[1];
  double pitch = 2.2 * 0.1 / synth::kEyecandiesFocal;
  synth::SurfaceModel surface = synth::make_object_surface(style, 512, 512, pitch, 3);
  synth::EyecandiesView view = synth::render_eyecandies_view(surface, 4);
  PointImage p = eyecandies_depth_to_points(view.depth, view.depth_min, view.depth_max, view.pose);
  remove_eyecandies_background(p);
  std::size_t object = 0, kept = 0, background_x_nonzero = 0;
  for (int y = 0; y < 512; ++y)
    for (int x = 0; x < 512; ++x) {
      bool valid = p.at(y, x, 0) != 0 && p.at(y, x, 1) != 0 && p.at(y, x, 2) != 0;
      if (surface.object_mask.at(y, x)) {
        ++object;
        kept += valid;
      } else {
        background_x_nonzero += p.at(y, x, 0) != 0;
      }
    }
  EXPECT_GE(static_cast<double>(kept), 0.99 * static_cast<double>(object));
  EXPECT_EQ(background_x_nonzero, 0u);  // background points end with x = 0 (docs/method.md §1.5 step 3)
}

TEST(EyecandiesConvert, RawLayoutConvertsToTheMvtecLikeLayout) {
  TempDir dir;
  synth::write_synthetic_dataset(
      test::small_synth(dir / "raw", 1, 800, 2, 1, 2, synth::DatasetFormat::Eyecandies));
  std::size_t files = 0;
  for (const auto& e : fs::directory_iterator(dir / "raw/Cookie/train/data")) files += e.is_regular_file();
  EXPECT_EQ(files, 2u * 17);  // 17 files per sample, as the official converter assumes
  EXPECT_TRUE(fs::is_regular_file(dir / "raw/Cookie/test_public/data/00_image_4.png"));
  EXPECT_TRUE(fs::is_regular_file(dir / "raw/Cookie/val/data/000_depth.png"));

  EyecandiesConvertOptions c;
  c.in = dir / "raw";
  c.out = dir / "out";
  c.progress = false;
  BatchReport report = convert_eyecandies_dataset(c);
  EXPECT_EQ(report.done, 2u + 4u);
  EXPECT_TRUE(report.failures.empty());
  Dataset dataset(dir / "out");
  ASSERT_EQ(dataset.categories(), std::vector<std::string>{"Cookie"});
  auto test = dataset.samples("Cookie", "test");
  ASSERT_EQ(test.size(), 4u);
  int bad = 0;
  for (const auto& s : test) bad += s.defect == "bad";
  EXPECT_EQ(bad, 2);
  TiffInfo info = read_tiff_info(dir / "out/Cookie/train/good/xyz/000.tiff");
  EXPECT_EQ(info.bits_per_sample, 64);  // float64, as the official converter writes
  EXPECT_EQ(info.width, 512);
  EXPECT_TRUE(dataset.scan(true, true).ok());
}

}  // namespace
}  // namespace cfm
