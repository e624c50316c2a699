#include <tiffio.h>

#include <cmath>
#include <fstream>
#include <limits>

#include "common/data/png_io.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "test_support.h"

namespace cfm {
namespace {

using test::TempDir;

PointImage ramp_cloud(int width, int height) {
  PointImage p(width, height, 3);
  for (int y = 0; y < height; ++y)
    for (int x = 0; x < width; ++x) {
      p.at(y, x, 0) = 0.001 * x - 0.05;
      p.at(y, x, 1) = 0.002 * y + 1e-7;
      p.at(y, x, 2) = 0.5 + 1e-3 * (x + y);
    }
  return p;
}

// Writes a TIFF with libtiff directly, for layouts cfm never writes itself.
void write_custom_tiff(const std::string& path, int width, int height, int samples, int bits, int format,
                       bool planar, bool tiled) {
  TIFF* t = TIFFOpen(path.c_str(), "w");
  ASSERT_NE(t, nullptr);
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, width);
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, height);
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, samples);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, format);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, planar ? PLANARCONFIG_SEPARATE : PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, samples == 3 ? PHOTOMETRIC_RGB : PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_ADOBE_DEFLATE);
  // Value of sample s at (y, x): 1000 * s + 10 * y + x, as floats.
  auto value = [](int y, int x, int s) { return 1000.0f * s + 10.0f * y + static_cast<float>(x); };
  if (tiled) {
    TIFFSetField(t, TIFFTAG_TILEWIDTH, 16);
    TIFFSetField(t, TIFFTAG_TILELENGTH, 16);
    std::vector<float> tile(16 * 16 * (planar ? 1 : samples));
    for (int plane = 0; plane < (planar ? samples : 1); ++plane)
      for (int ty = 0; ty < height; ty += 16)
        for (int tx = 0; tx < width; tx += 16) {
          for (int y = 0; y < 16; ++y)
            for (int x = 0; x < 16; ++x)
              for (int s = 0; s < (planar ? 1 : samples); ++s)
                tile[(y * 16 + x) * (planar ? 1 : samples) + s] = value(ty + y, tx + x, planar ? plane : s);
          TIFFWriteTile(t, tile.data(), tx, ty, 0, static_cast<uint16_t>(plane));
        }
  } else {
    TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, 3);
    std::vector<float> row(static_cast<std::size_t>(width) * (planar ? 1 : samples));
    for (int plane = 0; plane < (planar ? samples : 1); ++plane)
      for (int y = 0; y < height; ++y) {
        for (int x = 0; x < width; ++x)
          for (int s = 0; s < (planar ? 1 : samples); ++s)
            row[x * (planar ? 1 : samples) + s] = value(y, x, planar ? plane : s);
        TIFFWriteScanline(t, row.data(), y, static_cast<uint16_t>(plane));
      }
  }
  TIFFClose(t);
}

TEST(TiffIo, Float32RoundTripIsExactAtFloatPrecision) {
  TempDir dir;
  PointImage cloud = ramp_cloud(37, 23);
  write_xyz_tiff(dir / "a.tiff", cloud, TiffSampleType::Float32);
  PointImage back = read_xyz_tiff(dir / "a.tiff");
  ASSERT_EQ(back.width, 37);
  ASSERT_EQ(back.height, 23);
  for (std::size_t i = 0; i < cloud.pixels.size(); ++i)
    ASSERT_EQ(back.pixels[i], static_cast<double>(static_cast<float>(cloud.pixels[i])));
  TiffInfo info = read_tiff_info(dir / "a.tiff");
  EXPECT_EQ(info.bits_per_sample, 32);
  EXPECT_TRUE(info.ieee_float);
}

TEST(TiffIo, Float64RoundTripIsExact) {
  TempDir dir;
  PointImage cloud = ramp_cloud(19, 31);
  write_xyz_tiff(dir / "a.tiff", cloud, TiffSampleType::Float64);
  EXPECT_EQ(read_xyz_tiff(dir / "a.tiff").pixels, cloud.pixels);
}

class TiffLayouts : public ::testing::TestWithParam<std::pair<bool, bool>> {};

TEST_P(TiffLayouts, PlanarAndTiledCompressedFilesReadLikeInterleavedStrips) {
  auto [planar, tiled] = GetParam();
  TempDir dir;
  write_custom_tiff(dir / "c.tiff", 40, 35, 3, 32, SAMPLEFORMAT_IEEEFP, planar, tiled);
  PointImage p = read_xyz_tiff(dir / "c.tiff");
  ASSERT_EQ(p.width, 40);
  ASSERT_EQ(p.height, 35);
  for (int y = 0; y < 35; ++y)
    for (int x = 0; x < 40; ++x)
      for (int s = 0; s < 3; ++s)
        ASSERT_EQ(p.at(y, x, s), 1000.0 * s + 10.0 * y + x) << y << "," << x << "," << s;
}

INSTANTIATE_TEST_SUITE_P(All, TiffLayouts,
                         ::testing::Values(std::make_pair(false, false), std::make_pair(true, false),
                                           std::make_pair(false, true), std::make_pair(true, true)));

TEST(TiffIo, MissingFileIsAnIoErrorNamingThePath) {
  try {
    read_xyz_tiff("/nonexistent/x.tiff");
    FAIL();
  } catch (const IoError& e) {
    EXPECT_EQ(e.path(), "/nonexistent/x.tiff");
    EXPECT_NE(std::string(e.what()).find("/nonexistent/x.tiff"), std::string::npos);
  }
}

TEST(TiffIo, NotATiffIsAFormatError) {
  TempDir dir;
  std::ofstream(dir / "bad.tiff") << "this is not a tiff";
  EXPECT_THROW(read_xyz_tiff(dir / "bad.tiff"), FormatError);
}

// Reading `path` throws a FormatError whose problem mentions `text`.
void expect_format_error(const std::string& path, const std::string& text) {
  try {
    read_xyz_tiff(path);
    ADD_FAILURE() << path << " was accepted";
  } catch (const FormatError& e) {
    EXPECT_EQ(e.path(), path);
    EXPECT_NE(e.problem().find(text), std::string::npos) << e.what();
  }
}

TEST(TiffIo, TruncatedTiffIsAFormatError) {
  TempDir dir;
  write_xyz_tiff(dir / "t.tiff", ramp_cloud(64, 64));
  std::filesystem::resize_file(dir / "t.tiff", std::filesystem::file_size(dir / "t.tiff") / 2);
  expect_format_error(dir / "t.tiff", "truncated");
}

TEST(TiffIo, CorruptCompressedStripIsAFormatError) {
  TempDir dir;
  write_custom_tiff(dir / "c.tiff", 64, 64, 3, 32, SAMPLEFORMAT_IEEEFP, false, false);  // deflate strips
  {
    std::fstream f(dir / "c.tiff", std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(200);
    for (int i = 0; i < 2000; ++i) f.put(static_cast<char>(i * 37));
  }
  expect_format_error(dir / "c.tiff", "corrupt");
}

TEST(TiffIo, WrongChannelCountIsAFormatError) {
  TempDir dir;
  write_custom_tiff(dir / "one.tiff", 8, 8, 1, 32, SAMPLEFORMAT_IEEEFP, false, false);
  expect_format_error(dir / "one.tiff", "expected 3 channels");
}

TEST(TiffIo, IntegerSamplesAreAFormatError) {
  TempDir dir;
  write_custom_tiff(dir / "int.tiff", 8, 8, 3, 32, SAMPLEFORMAT_INT, false, false);
  expect_format_error(dir / "int.tiff", "IEEE float");
}

TEST(PngIo, RgbGreyAnd16BitRoundTrip) {
  TempDir dir;
  ImageU8 rgb(5, 3, 3);
  for (std::size_t i = 0; i < rgb.pixels.size(); ++i) rgb.pixels[i] = static_cast<std::uint8_t>(i * 17);
  write_png(dir / "rgb.png", rgb);
  EXPECT_EQ(read_png_rgb(dir / "rgb.png").pixels, rgb.pixels);
  ImageU16 depth(4, 4, 1);
  for (std::size_t i = 0; i < depth.pixels.size(); ++i)
    depth.pixels[i] = static_cast<std::uint16_t>(i * 4099);
  write_png(dir / "depth.png", depth);
  EXPECT_EQ(read_png_u16(dir / "depth.png").pixels, depth.pixels);
  EXPECT_THROW(read_png_u16(dir / "rgb.png"), FormatError);
  PngSize size = read_png_size(dir / "rgb.png");
  EXPECT_EQ(size.width, 5);
  EXPECT_EQ(size.height, 3);
}

TEST(PngIo, LumaUsesPillowsFixedPointFormula) {
  // Hand-derived: L = (R*19595 + G*38470 + B*7471 + 32768) >> 16.
  EXPECT_EQ(pillow_luma(255, 255, 255), 255);
  EXPECT_EQ(pillow_luma(255, 0, 0), 76);   // 0.299 * 255 = 76.2
  EXPECT_EQ(pillow_luma(0, 255, 0), 150);  // 0.587 * 255 = 149.7
  EXPECT_EQ(pillow_luma(0, 0, 255), 29);   // 0.114 * 255 = 29.07
  TempDir dir;
  ImageU8 rgb(2, 1, 3);
  rgb.pixels = {255, 0, 0, 10, 20, 30};
  write_png(dir / "c.png", rgb);
  ImageU8 luma = read_png_luma(dir / "c.png");
  ASSERT_EQ(luma.channels, 1);
  EXPECT_EQ(luma.pixels[0], 76);
  EXPECT_EQ(luma.pixels[1], pillow_luma(10, 20, 30));
}

TEST(PngIo, CorruptAndMissingFilesAreTypedErrors) {
  TempDir dir;
  std::ofstream(dir / "x.png") << "garbage";
  EXPECT_THROW(read_png_rgb(dir / "x.png"), FormatError);
  EXPECT_THROW(read_png_rgb(dir / "none.png"), IoError);
  ImageU8 rgb(64, 64, 3, 100);
  write_png(dir / "t.png", rgb);
  std::filesystem::resize_file(dir / "t.png", 60);
  EXPECT_THROW(read_png_rgb(dir / "t.png"), FormatError);
}

}  // namespace
}  // namespace cfm
