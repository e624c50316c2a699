#include "data/png_io.h"

#include <png.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

#include "util/error.h"

namespace cfm {
namespace {

// Decoded PNG in its own layout: 1-4 channels (grey, grey+alpha, RGB, RGBA), 8 or 16 bits.
struct RawPng {
  int width = 0, height = 0, channels = 0;
  bool sixteen_bit = false;
  std::vector<std::uint8_t> bytes8;
  std::vector<std::uint16_t> bytes16;
};

std::vector<char> read_file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(path, "cannot open file (expected a PNG image)");
  return std::vector<char>(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

RawPng decode_png(const std::string& path) {
  std::vector<char> file = read_file_bytes(path);
  if (file.size() < 8 || png_sig_cmp(reinterpret_cast<png_const_bytep>(file.data()), 0, 8) != 0)
    throw FormatError(path, "not a PNG file (bad signature)");
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  if (!png_image_begin_read_from_memory(&image, file.data(), file.size()))
    throw FormatError(path, std::string("corrupt PNG header: ") + image.message);
  RawPng raw;
  raw.width = static_cast<int>(image.width);
  raw.height = static_cast<int>(image.height);
  // Keep the file's own channel layout and depth: we do every conversion ourselves, as Pillow would.
  // Palette images are expanded to RGB(A) by the simplified API.
  bool colour = (image.format & PNG_FORMAT_FLAG_COLOR) || (image.format & PNG_FORMAT_FLAG_COLORMAP);
  bool alpha = image.format & PNG_FORMAT_FLAG_ALPHA;
  raw.channels = (colour ? 3 : 1) + (alpha ? 1 : 0);
  raw.sixteen_bit = (image.format & PNG_FORMAT_FLAG_LINEAR) && !(image.format & PNG_FORMAT_FLAG_COLORMAP);
  image.format = (colour ? PNG_FORMAT_FLAG_COLOR : 0) | (alpha ? PNG_FORMAT_FLAG_ALPHA : 0) |
                 (raw.sixteen_bit ? PNG_FORMAT_FLAG_LINEAR : 0);
  std::size_t values = static_cast<std::size_t>(raw.width) * raw.height * raw.channels;
  bool ok;
  if (raw.sixteen_bit) {
    raw.bytes16.resize(values);
    ok = png_image_finish_read(&image, nullptr, raw.bytes16.data(), 0, nullptr);
  } else {
    raw.bytes8.resize(values);
    ok = png_image_finish_read(&image, nullptr, raw.bytes8.data(), 0, nullptr);
  }
  if (!ok) {
    std::string message = image.message;
    png_image_free(&image);
    throw FormatError(path, "corrupt or truncated PNG data: " + message);
  }
  return raw;
}

std::uint8_t to8(const RawPng& raw, std::size_t i) {
  return raw.sixteen_bit ? static_cast<std::uint8_t>(raw.bytes16[i] >> 8) : raw.bytes8[i];
}

}  // namespace

ImageU8 read_png_rgb(const std::string& path) {
  RawPng raw = decode_png(path);
  ImageU8 out(raw.width, raw.height, 3);
  std::size_t pixels = static_cast<std::size_t>(raw.width) * raw.height;
  for (std::size_t p = 0; p < pixels; ++p) {
    for (int c = 0; c < 3; ++c) {
      int source_channel = raw.channels >= 3 ? c : 0;  // grey is replicated, alpha is dropped
      out.pixels[p * 3 + c] = to8(raw, p * raw.channels + source_channel);
    }
  }
  return out;
}

ImageU8 read_png_luma(const std::string& path) {
  RawPng raw = decode_png(path);
  ImageU8 out(raw.width, raw.height, 1);
  std::size_t pixels = static_cast<std::size_t>(raw.width) * raw.height;
  for (std::size_t p = 0; p < pixels; ++p) {
    std::size_t i = p * raw.channels;
    if (raw.channels >= 3) {
      out.pixels[p] = pillow_luma(to8(raw, i), to8(raw, i + 1), to8(raw, i + 2));
    } else if (raw.sixteen_bit) {
      out.pixels[p] = static_cast<std::uint8_t>(std::min<int>(raw.bytes16[i], 255));  // Pillow's I;16 -> L clips
    } else {
      out.pixels[p] = raw.bytes8[i];
    }
  }
  return out;
}

ImageU16 read_png_u16(const std::string& path) {
  RawPng raw = decode_png(path);
  if (!raw.sixteen_bit || raw.channels != 1)
    throw FormatError(path, "expected a 16-bit single-channel PNG, found " + std::to_string(raw.channels) +
                                " channel(s) of " + (raw.sixteen_bit ? "16" : "8") + " bits");
  ImageU16 out(raw.width, raw.height, 1);
  out.pixels = std::move(raw.bytes16);
  return out;
}

namespace {

template <typename T>
void write_png_any(const std::string& path, const Image<T>& image, bool sixteen_bit) {
  CFM_ASSERT(image.channels == 1 || image.channels == 3);
  png_image png;
  std::memset(&png, 0, sizeof png);
  png.version = PNG_IMAGE_VERSION;
  png.width = static_cast<png_uint_32>(image.width);
  png.height = static_cast<png_uint_32>(image.height);
  png.format = (image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) | (sixteen_bit ? PNG_FORMAT_FLAG_LINEAR : 0);
  if (!png_image_write_to_file(&png, path.c_str(), 0, image.pixels.data(), 0, nullptr))
    throw IoError(path, std::string("cannot write PNG: ") + png.message);
}

}  // namespace

void write_png(const std::string& path, const ImageU8& image) { write_png_any(path, image, false); }
void write_png(const std::string& path, const ImageU16& image) {
  CFM_ASSERT(image.channels == 1);
  write_png_any(path, image, true);
}

}  // namespace cfm

namespace cfm {

PngSize read_png_size(const std::string& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) throw IoError(path, "cannot open file (expected a PNG image)");
  png_image image;
  std::memset(&image, 0, sizeof image);
  image.version = PNG_IMAGE_VERSION;
  bool ok = png_image_begin_read_from_stdio(&image, file);
  std::string message = image.message;
  png_image_free(&image);
  std::fclose(file);
  if (!ok) throw FormatError(path, "not a readable PNG (" + message + ")");
  return {static_cast<int>(image.width), static_cast<int>(image.height)};
}

}  // namespace cfm
