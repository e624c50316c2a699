#include "common/data/tiff_io.h"

#include <tiffio.h>

#include <algorithm>
#include <cstdarg>
#include <cstring>
#include <memory>

#include "common/util/error.h"

namespace cfm {
namespace {

// libtiff reports problems through global handlers; keep the last message per thread so that it can go
// into our exception instead of being printed to stderr.
thread_local std::string last_tiff_message;

void capture_tiff_message(const char* module, const char* format, va_list args) {
  char buffer[512];
  std::vsnprintf(buffer, sizeof buffer, format, args);
  last_tiff_message = (module ? std::string(module) + ": " : std::string()) + buffer;
}

void install_tiff_handlers() {
  static bool installed = [] {
    TIFFSetErrorHandler(capture_tiff_message);
    TIFFSetWarningHandler(nullptr);  // warnings (unknown tags...) are irrelevant to us
    return true;
  }();
  (void)installed;
}

struct TiffCloser {
  void operator()(TIFF* tiff) const { TIFFClose(tiff); }
};
using TiffHandle = std::unique_ptr<TIFF, TiffCloser>;

bool has_tiff_signature(const std::string& path) {
  unsigned char magic[4] = {0, 0, 0, 0};
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return false;
  std::size_t n = std::fread(magic, 1, 4, f);
  std::fclose(f);
  bool little = magic[0] == 'I' && magic[1] == 'I' && (magic[2] == 42 || magic[2] == 43) && magic[3] == 0;
  bool big = magic[0] == 'M' && magic[1] == 'M' && magic[2] == 0 && (magic[3] == 42 || magic[3] == 43);
  return n == 4 && (little || big);
}

TiffHandle open_tiff(const std::string& path, const char* mode) {
  install_tiff_handlers();
  last_tiff_message.clear();
  if (std::strcmp(mode, "r") == 0) {
    std::FILE* probe = std::fopen(path.c_str(), "rb");
    if (!probe) throw IoError(path, "cannot open file (expected a TIFF point cloud)");
    std::fclose(probe);
  }
  TIFF* tiff = TIFFOpen(path.c_str(), mode);
  if (!tiff) {
    if (std::strcmp(mode, "r") == 0) {
      std::string detail = last_tiff_message.empty() ? "" : " (" + last_tiff_message + ")";
      if (has_tiff_signature(path))
        throw FormatError(path, "truncated or corrupt TIFF: cannot read its directory" + detail);
      throw FormatError(path, "not a TIFF file" + detail);
    }
    throw IoError(
        path, "cannot create TIFF file" + (last_tiff_message.empty() ? "" : " (" + last_tiff_message + ")"));
  }
  return TiffHandle(tiff);
}

TiffInfo info_of(TIFF* tiff) {
  TiffInfo info;
  uint32_t width = 0, height = 0;
  uint16_t samples = 1, bits = 1, format = SAMPLEFORMAT_UINT;
  TIFFGetField(tiff, TIFFTAG_IMAGEWIDTH, &width);
  TIFFGetField(tiff, TIFFTAG_IMAGELENGTH, &height);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLESPERPIXEL, &samples);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_BITSPERSAMPLE, &bits);
  TIFFGetFieldDefaulted(tiff, TIFFTAG_SAMPLEFORMAT, &format);
  info.width = static_cast<int>(width);
  info.height = static_cast<int>(height);
  info.samples_per_pixel = samples;
  info.bits_per_sample = bits;
  info.ieee_float = format == SAMPLEFORMAT_IEEEFP;
  return info;
}

void check_float_layout(const std::string& path, const TiffInfo& info, int channels, const char* what) {
  if (info.samples_per_pixel != channels)
    throw FormatError(path, "expected " + std::to_string(channels) + " channel" + (channels > 1 ? "s" : "") +
                                " (" + what + "), found " + std::to_string(info.samples_per_pixel));
  if (!info.ieee_float || (info.bits_per_sample != 32 && info.bits_per_sample != 64))
    throw FormatError(path, "expected 32- or 64-bit IEEE float samples, found " +
                                std::to_string(info.bits_per_sample) + "-bit " +
                                (info.ieee_float ? "float" : "integer"));
  if (info.width <= 0 || info.height <= 0) throw FormatError(path, "TIFF has an empty image");
}

double sample_value(const unsigned char* bytes, std::size_t index, int bits) {
  if (bits == 32) {
    float v;
    std::memcpy(&v, bytes + index * 4, 4);
    return v;
  }
  double v;
  std::memcpy(&v, bytes + index * 8, 8);
  return v;
}

[[noreturn]] void throw_truncated(const std::string& path, const std::string& where) {
  throw FormatError(path, "truncated or corrupt TIFF data at " + where +
                              (last_tiff_message.empty() ? "" : " (" + last_tiff_message + ")"));
}

// Copies one decoded block (a strip or a tile of one plane or of all planes) into the image.
struct Block {
  const unsigned char* bytes;
  int x0, y0, width, height;  // block placement; width is the block's row length in pixels
  int plane;                  // -1: interleaved samples
};

void place_block(PointImage& out, const Block& b, int bits) {
  int spp = b.plane < 0 ? out.channels : 1;
  for (int y = 0; y < b.height && b.y0 + y < out.height; ++y)
    for (int x = 0; x < b.width && b.x0 + x < out.width; ++x)
      for (int s = 0; s < spp; ++s) {
        std::size_t index = (static_cast<std::size_t>(y) * b.width + x) * static_cast<std::size_t>(spp) +
                            static_cast<std::size_t>(s);
        out.at(b.y0 + y, b.x0 + x, b.plane < 0 ? s : b.plane) = sample_value(b.bytes, index, bits);
      }
}

void read_strips(TIFF* tiff, const std::string& path, PointImage& out, int bits, bool planar) {
  uint32_t rows_per_strip = 0;
  TIFFGetFieldDefaulted(tiff, TIFFTAG_ROWSPERSTRIP, &rows_per_strip);
  rows_per_strip = std::min<uint32_t>(rows_per_strip, static_cast<uint32_t>(out.height));
  std::vector<unsigned char> buffer(static_cast<std::size_t>(TIFFStripSize(tiff)));
  int planes = planar ? out.channels : 1;
  uint32_t strips_per_plane = (static_cast<uint32_t>(out.height) + rows_per_strip - 1) / rows_per_strip;
  for (int plane = 0; plane < planes; ++plane)
    for (uint32_t s = 0; s < strips_per_plane; ++s) {
      uint32_t strip = s + static_cast<uint32_t>(plane) * strips_per_plane;
      int y0 = static_cast<int>(s * rows_per_strip);
      int rows = std::min<int>(static_cast<int>(rows_per_strip), out.height - y0);
      tmsize_t expected = static_cast<tmsize_t>(rows) * out.width * (planar ? 1 : out.channels) * bits / 8;
      tmsize_t got = TIFFReadEncodedStrip(tiff, strip, buffer.data(), expected);
      if (got != expected) throw_truncated(path, "strip " + std::to_string(strip));
      place_block(out, Block{buffer.data(), 0, y0, out.width, rows, planar ? plane : -1}, bits);
    }
}

void read_tiles(TIFF* tiff, const std::string& path, PointImage& out, int bits, bool planar) {
  uint32_t tile_width = 0, tile_height = 0;
  TIFFGetField(tiff, TIFFTAG_TILEWIDTH, &tile_width);
  TIFFGetField(tiff, TIFFTAG_TILELENGTH, &tile_height);
  std::vector<unsigned char> buffer(static_cast<std::size_t>(TIFFTileSize(tiff)));
  int planes = planar ? out.channels : 1;
  for (int plane = 0; plane < planes; ++plane)
    for (uint32_t y = 0; y < static_cast<uint32_t>(out.height); y += tile_height)
      for (uint32_t x = 0; x < static_cast<uint32_t>(out.width); x += tile_width) {
        if (TIFFReadTile(tiff, buffer.data(), x, y, 0, static_cast<uint16_t>(planar ? plane : 0)) < 0)
          throw_truncated(path, "tile (" + std::to_string(x) + ", " + std::to_string(y) + ")");
        place_block(out,
                    Block{buffer.data(), static_cast<int>(x), static_cast<int>(y),
                          static_cast<int>(tile_width), static_cast<int>(tile_height), planar ? plane : -1},
                    bits);
      }
}

}  // namespace

TiffInfo read_tiff_info(const std::string& path) {
  TiffHandle tiff = open_tiff(path, "r");
  return info_of(tiff.get());
}

namespace {

PointImage read_float_tiff(const std::string& path, int channels, const char* what) {
  TiffHandle tiff = open_tiff(path, "r");
  TiffInfo info = info_of(tiff.get());
  check_float_layout(path, info, channels, what);
  uint16_t planar_config = PLANARCONFIG_CONTIG;
  TIFFGetFieldDefaulted(tiff.get(), TIFFTAG_PLANARCONFIG, &planar_config);
  bool planar = planar_config == PLANARCONFIG_SEPARATE && channels > 1;
  PointImage out(info.width, info.height, channels);
  if (TIFFIsTiled(tiff.get()))
    read_tiles(tiff.get(), path, out, info.bits_per_sample, planar);
  else
    read_strips(tiff.get(), path, out, info.bits_per_sample, planar);
  return out;
}

}  // namespace

PointImage read_xyz_tiff(const std::string& path) { return read_float_tiff(path, 3, "x, y, z"); }

Image<float> read_map_tiff(const std::string& path) {
  PointImage values = read_float_tiff(path, 1, "an anomaly map");
  Image<float> map(values.width, values.height, 1);
  for (std::size_t i = 0; i < values.pixels.size(); ++i) map.pixels[i] = static_cast<float>(values.pixels[i]);
  return map;
}

void write_map_tiff(const std::string& path, const Image<float>& map) {
  CFM_ASSERT(map.channels == 1);
  TiffHandle tiff = open_tiff(path, "w");
  TIFF* t = tiff.get();
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(map.width));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(map.height));
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 1);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, 32);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_MINISBLACK);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
  for (int y = 0; y < map.height; ++y) {
    std::vector<float> row(map.pixels.begin() + static_cast<std::ptrdiff_t>(map.index(y, 0)),
                           map.pixels.begin() + static_cast<std::ptrdiff_t>(
                                                    map.index(y, 0) + static_cast<std::size_t>(map.width)));
    if (TIFFWriteScanline(t, row.data(), static_cast<uint32_t>(y), 0) < 0)
      throw IoError(path, "cannot write TIFF row " + std::to_string(y) + " (" + last_tiff_message + ")");
  }
  if (!TIFFFlush(t)) throw IoError(path, "cannot flush TIFF (" + last_tiff_message + ")");
}

void write_xyz_tiff(const std::string& path, const PointImage& points, TiffSampleType type) {
  CFM_ASSERT(points.channels == 3);
  TiffHandle tiff = open_tiff(path, "w");
  TIFF* t = tiff.get();
  int bits = type == TiffSampleType::Float32 ? 32 : 64;
  TIFFSetField(t, TIFFTAG_IMAGEWIDTH, static_cast<uint32_t>(points.width));
  TIFFSetField(t, TIFFTAG_IMAGELENGTH, static_cast<uint32_t>(points.height));
  TIFFSetField(t, TIFFTAG_SAMPLESPERPIXEL, 3);
  TIFFSetField(t, TIFFTAG_BITSPERSAMPLE, bits);
  TIFFSetField(t, TIFFTAG_SAMPLEFORMAT, SAMPLEFORMAT_IEEEFP);
  TIFFSetField(t, TIFFTAG_PLANARCONFIG, PLANARCONFIG_CONTIG);
  TIFFSetField(t, TIFFTAG_PHOTOMETRIC, PHOTOMETRIC_RGB);
  TIFFSetField(t, TIFFTAG_COMPRESSION, COMPRESSION_NONE);
  TIFFSetField(t, TIFFTAG_ROWSPERSTRIP, TIFFDefaultStripSize(t, 0));
  std::vector<unsigned char> row(static_cast<std::size_t>(points.width) * 3 * bits / 8);
  for (int y = 0; y < points.height; ++y) {
    const double* source = &points.pixels[points.index(y, 0)];
    for (std::size_t i = 0; i < static_cast<std::size_t>(points.width) * 3; ++i) {
      if (bits == 32) {
        float v = static_cast<float>(source[i]);
        std::memcpy(&row[i * 4], &v, 4);
      } else {
        std::memcpy(&row[i * 8], &source[i], 8);
      }
    }
    if (TIFFWriteScanline(t, row.data(), static_cast<uint32_t>(y), 0) < 0)
      throw IoError(path, "cannot write TIFF row " + std::to_string(y) + " (" + last_tiff_message + ")");
  }
  if (!TIFFFlush(t)) throw IoError(path, "cannot flush TIFF (" + last_tiff_message + ")");
}

}  // namespace cfm
