#include "common/features/sample_loader.h"

#include <torch/torch.h>

#include "common/data/dataset.h"
#include "common/data/png_io.h"
#include "common/data/resample.h"
#include "common/data/synth/synth_writer.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace cfm {
namespace {

using test::TempDir;

TEST(Transforms, RgbIsImagenetNormalisedChw) {
  ImageU8 flat(300, 200, 3);
  for (std::size_t p = 0; p < flat.pixels.size() / 3; ++p) {
    flat.pixels[p * 3] = 128;
    flat.pixels[p * 3 + 1] = 0;
    flat.pixels[p * 3 + 2] = 255;
  }
  at::Tensor t = rgb_to_tensor(flat, 224);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 224, 224}));
  EXPECT_FLOAT_EQ(t[0][10][20].item<float>(), (128.0f / 255.0f - 0.485f) / 0.229f);
  EXPECT_FLOAT_EQ(t[1][100][100].item<float>(), (0.0f - 0.456f) / 0.224f);
  EXPECT_FLOAT_EQ(t[2][223][223].item<float>(), (1.0f - 0.406f) / 0.225f);
}

TEST(Transforms, CloudUsesTorchNearestAndMaskIsThresholded) {
  PointImage cloud(800, 800, 3);
  for (int y = 0; y < 800; ++y)
    for (int x = 0; x < 800; ++x) {
      cloud.at(y, x, 0) = x;
      cloud.at(y, x, 1) = y;
      cloud.at(y, x, 2) = 1;
    }
  at::Tensor t = cloud_to_tensor(cloud, 224);
  ASSERT_EQ(t.sizes(), (std::vector<int64_t>{3, 224, 224}));
  EXPECT_EQ(t[0][5][2].item<float>(), 7.0f);   // floor(2 * 800/224) = 7
  EXPECT_EQ(t[1][5][2].item<float>(), 17.0f);  // floor(5 * 3.5714) = 17
  ImageU8 mask(800, 800, 1);
  for (int y = 0; y < 800; ++y)
    for (int x = 0; x < 800; ++x) mask.at(y, x) = x >= 400 ? 200 : 100;  // 200/255 > 0.5 -> 1, 100/255 -> 0
  at::Tensor m = mask_to_tensor(mask, 224);
  EXPECT_EQ(m[0][0][200].item<float>(), 1.0f);
  EXPECT_EQ(m[0][0][50].item<float>(), 0.0f);
  EXPECT_EQ(m.sum().item<float>(), 224.0f * 112.0f);
}

class SampleLoader : public ::testing::Test {
 protected:
  void SetUp() override {
    synth::SynthOptions o = test::small_synth(dir_ / "data", 1, 200, 1, 0, 1);
    synth::write_synthetic_dataset(o);
    dataset_ = std::make_unique<Dataset>(o.out);
  }
  TempDir dir_;
  std::unique_ptr<Dataset> dataset_;
};

TEST_F(SampleLoader, LoadsTheTensorsTheMethodUses) {
  auto test = dataset_->samples("cookie", "test");
  for (const SampleFiles& files : test) {
    SampleTensors s = load_sample(files);
    EXPECT_EQ(s.rgb.sizes(), (std::vector<int64_t>{3, 224, 224}));
    EXPECT_EQ(s.cloud.sizes(), (std::vector<int64_t>{3, 224, 224}));
    EXPECT_EQ(s.gt.sizes(), (std::vector<int64_t>{1, 224, 224}));
    EXPECT_EQ(s.label, files.label);
    if (files.label == 0)
      EXPECT_EQ(s.gt.sum().item<float>(), 0.0f);
    else
      EXPECT_GT(s.gt.sum().item<float>(), 0.0f);
    // The cloud equals the nearest-resized TIFF.
    PointImage resized = resize_points_nearest(read_xyz_tiff(files.xyz), 224, 224);
    EXPECT_EQ(s.cloud[2][100][117].item<float>(), static_cast<float>(resized.at(100, 117, 2)));
  }
  SampleTensors small = load_sample(test[0], 56, 112);  // configurable grid and ViT input
  EXPECT_EQ(small.cloud.sizes(), (std::vector<int64_t>{3, 56, 56}));
  EXPECT_EQ(small.gt.sizes(), (std::vector<int64_t>{1, 56, 56}));
  EXPECT_EQ(small.rgb.sizes(), (std::vector<int64_t>{3, 112, 112}));
}

TEST_F(SampleLoader, BadSamplesAreTypedErrorsNamingTheFile) {
  SampleFiles files = dataset_->samples("cookie", "test")[1];  // an anomalous one
  ASSERT_EQ(files.label, 1);
  write_png(files.gt, ImageU8(100, 200, 1));
  try {
    load_sample(files);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), files.gt);
  }
  write_xyz_tiff(files.xyz, PointImage(200, 200, 3));
  try {
    load_sample(files);
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), files.xyz);
    EXPECT_NE(e.problem().find("empty point cloud"), std::string::npos);
  }
  PointImage nan_cloud(200, 200, 3, 0.5);
  nan_cloud.at(1, 2, 2) = std::nan("");
  write_xyz_tiff(files.xyz, nan_cloud);
  EXPECT_THROW(load_sample(files), DataError);
  write_xyz_tiff(files.xyz, PointImage(150, 150, 3, 0.5));
  EXPECT_THROW(load_sample(files), DataError);
  files.rgb += ".missing";
  EXPECT_THROW(load_sample(files), IoError);
}

}  // namespace
}  // namespace cfm
