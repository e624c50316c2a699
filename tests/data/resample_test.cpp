#include "common/data/resample.h"

#include <random>

#include "common/data/png_io.h"
#include "common/data/synth/scene.h"
#include "test_support.h"

namespace cfm {
namespace {

using test::TempDir;

TEST(TorchNearest, HandDerivedIndices) {
  // scale = 800/224 = 3.5714285 in float: index i -> floor(i * scale).
  std::vector<int> idx = torch_nearest_source_indices(800, 224);
  EXPECT_EQ(idx[0], 0);
  EXPECT_EQ(idx[1], 3);
  EXPECT_EQ(idx[2], 7);
  EXPECT_EQ(idx[223], 796);
  EXPECT_EQ(torch_nearest_source_indices(224, 224)[100], 100);  // identity
  EXPECT_EQ(torch_nearest_source_indices(112, 224)[101], 50);   // exact 2x upsampling: i >> 1
  std::vector<int> up = torch_nearest_source_indices(3, 7);     // scale 3/7: 0 0 0 1 1 2 2
  EXPECT_EQ(up, (std::vector<int>{0, 0, 0, 1, 1, 2, 2}));
}

TEST(PillowNearest, UsesHalfPixelCentres) {
  // floor((i + 0.5) * 800 / 224): 1, 5, 8, ... differs from PyTorch's 0, 3, 7.
  ImageU8 line(800, 1, 1);
  for (int x = 0; x < 800; ++x) line.pixels[x] = static_cast<std::uint8_t>(x % 256);
  ImageU8 out = pillow_resize_nearest(line, 224, 1);
  EXPECT_EQ(out.pixels[0], 1);
  EXPECT_EQ(out.pixels[1], 5);
  EXPECT_EQ(out.pixels[2], 8);
  EXPECT_EQ(out.pixels[223], 798 % 256);  // floor(223.5 * 3.5714) = 798
}

TEST(SquarePad, ReplicatesEdgesAndCentresWithFloor) {
  ImageU8 image(2, 5, 1);  // 2 wide, 5 high -> pad 1 left, 2 right
  for (int y = 0; y < 5; ++y) {
    image.at(y, 0) = static_cast<std::uint8_t>(10 + y);
    image.at(y, 1) = static_cast<std::uint8_t>(20 + y);
  }
  ImageU8 out = square_pad_edge(image);
  ASSERT_EQ(out.width, 5);
  ASSERT_EQ(out.height, 5);
  for (int y = 0; y < 5; ++y) {
    EXPECT_EQ(out.at(y, 0), 10 + y);
    EXPECT_EQ(out.at(y, 1), 10 + y);
    EXPECT_EQ(out.at(y, 2), 20 + y);
    EXPECT_EQ(out.at(y, 3), 20 + y);
    EXPECT_EQ(out.at(y, 4), 20 + y);
  }
}

TEST(PillowBicubic, ConstantImageStaysConstantAndIdentityIsACopy) {
  ImageU8 flat(317, 211, 3, 77);
  ImageU8 out = pillow_resize_bicubic(flat, 224, 224);
  for (std::uint8_t v : out.pixels) ASSERT_EQ(v, 77);
  ImageU8 noise(224, 224, 3);
  std::mt19937 rng(3);
  for (auto& v : noise.pixels) v = static_cast<std::uint8_t>(rng() % 256);
  EXPECT_EQ(pillow_resize_bicubic(noise, 224, 224).pixels, noise.pixels);
}

// Parity with Pillow itself (Debian's python3-pil): SquarePad + resize, compared pixel by pixel.
class PillowParity : public ::testing::Test {
 protected:
  void SetUp() override { CFM_REQUIRE_PYTHON("PIL, numpy", "python3-pil python3-numpy"); }
  ImageU8 reference(const std::string& mode, const ImageU8& input, int size) {
    write_png(dir_ / "in.png", input);
    std::string command = "/usr/bin/python3 " CFM_SOURCE_DIR "/tools/pillow_reference.py " + mode + " " +
                          (dir_ / "in.png") + " " + std::to_string(size) + " " + (dir_ / "out.png");
    test::CommandResult r = test::run_command(command);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return mode == "rgb" ? read_png_rgb(dir_ / "out.png") : read_png_luma(dir_ / "out.png");
  }
  static int max_difference(const ImageU8& a, const ImageU8& b) {
    EXPECT_EQ(a.pixels.size(), b.pixels.size());
    int worst = 0;
    for (std::size_t i = 0; i < std::min(a.pixels.size(), b.pixels.size()); ++i)
      worst = std::max(worst, std::abs(int(a.pixels[i]) - int(b.pixels[i])));
    return worst;
  }
  TempDir dir_;
};

TEST_F(PillowParity, RgbBicubicOnRenderedImagesSquareAndNonSquare) {
  auto styles = synth::category_styles(3);
  for (int category : {0, 2}) {  // 800x800 cookie and 600x800 dowel (like MVTec's tire)
    synth::MvtecSample sample = synth::generate_mvtec_sample(styles[static_cast<std::size_t>(category)], 800,
                                                             synth::DefectKind::Combined, 11);
    ImageU8 ours = pillow_resize_bicubic(square_pad_edge(sample.rgb), 224, 224);
    EXPECT_EQ(max_difference(ours, reference("rgb", sample.rgb, 224)), 0) << "category " << category;
  }
}

TEST_F(PillowParity, RgbBicubicOnNoiseOddSizesAndUpscaling) {
  std::mt19937 rng(5);
  for (auto [w, h, size] :
       {std::tuple{517, 333, 224}, std::tuple{100, 100, 224}, std::tuple{640, 480, 112}}) {
    ImageU8 noise(w, h, 3);
    for (auto& v : noise.pixels) v = static_cast<std::uint8_t>(rng() % 256);
    ImageU8 ours = pillow_resize_bicubic(square_pad_edge(noise), size, size);
    EXPECT_EQ(max_difference(ours, reference("rgb", noise, size)), 0) << w << "x" << h << " -> " << size;
  }
}

TEST_F(PillowParity, GtNearestOnNonSquareMask) {
  auto styles = synth::category_styles(3);
  synth::MvtecSample sample = synth::generate_mvtec_sample(styles[2], 800, synth::DefectKind::Crack, 4);
  ImageU8 ours = pillow_resize_nearest(square_pad_edge(sample.gt), 224, 224);
  EXPECT_EQ(max_difference(ours, reference("gt", sample.gt, 224)), 0);
}

}  // namespace
}  // namespace cfm

namespace cfm {
namespace {

// PNG flavours decode as Pillow decodes and converts them (palette, alpha, 16-bit, gAMA, interlace).
TEST_F(PillowParity, PngFlavoursConvertLikePillow) {
  auto styles = synth::category_styles(1);
  synth::MvtecSample sample = synth::generate_mvtec_sample(styles[0], 100, synth::DefectKind::Stain, 2);
  write_png(dir_ / "in.png", sample.rgb);
  test::CommandResult r =
      test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/pillow_reference.py variants " +
                        (dir_ / "in.png") + " " + dir_.path().string());
  ASSERT_EQ(r.exit_code, 0) << r.output;
  for (const char* name : {"palette", "grey_alpha", "rgba", "grey16", "interlaced", "rgb16_gamma"}) {
    std::string base = dir_ / name;
    EXPECT_EQ(max_difference(read_png_rgb(base + ".png"), read_png_rgb(base + ".rgb.png")), 0) << name;
    EXPECT_EQ(max_difference(read_png_luma(base + ".png"), read_png_luma(base + ".l.png")), 0) << name;
  }
}

}  // namespace
}  // namespace cfm
