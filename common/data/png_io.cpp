#include "common/data/png_io.h"

#include <png.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "common/util/error.h"
#include "common/util/whole_file.h"

namespace cfm {
namespace {

// Decoded PNG in its own layout: 1-4 channels (grey, grey+alpha, RGB, RGBA), 8 or 16 bits.
struct RawPng {
  int width = 0, height = 0, channels = 0;
  bool sixteen_bit = false;
  std::vector<std::uint8_t> bytes8;
  std::vector<std::uint16_t> bytes16;
};

// libpng's classic API (not the simplified one, which applies gAMA/sRGB colour conversions that Pillow
// does not). Errors longjmp back here; everything touched after setjmp lives behind an unmodified pointer.
struct DecodeContext {
  std::string file;
  std::size_t offset = 0;
  std::string error;
  RawPng raw;
  std::vector<png_bytep> rows;
};

void read_from_memory(png_structp png, png_bytep out, png_size_t count) {
  auto* context = static_cast<DecodeContext*>(png_get_io_ptr(png));
  if (context->offset + count > context->file.size()) png_error(png, "unexpected end of file (truncated)");
  std::memcpy(out, context->file.data() + context->offset, count);
  context->offset += count;
}

void on_png_error(png_structp png, png_const_charp message) {
  static_cast<DecodeContext*>(png_get_error_ptr(png))->error = message;
  png_longjmp(png, 1);
}

void on_png_warning(png_structp, png_const_charp) {}

RawPng decode_png(const std::string& path) {
  auto context = std::make_unique<DecodeContext>();
  context->file = read_whole_file(path, "the PNG image");
  if (context->file.size() < 8 ||
      png_sig_cmp(reinterpret_cast<png_const_bytep>(context->file.data()), 0, 8) != 0)
    throw FormatError(path, "not a PNG file (bad signature)");
  png_structp png =
      png_create_read_struct(PNG_LIBPNG_VER_STRING, context.get(), on_png_error, on_png_warning);
  png_infop info = png ? png_create_info_struct(png) : nullptr;
  if (!info) throw Error("libpng: out of memory");
  if (setjmp(png_jmpbuf(png))) {
    png_destroy_read_struct(&png, &info, nullptr);
    throw FormatError(path, "corrupt or truncated PNG: " + context->error);
  }
  png_set_read_fn(png, context.get(), read_from_memory);
  png_read_info(png, info);
  int colour_type = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if (colour_type == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
  if (colour_type == PNG_COLOR_TYPE_GRAY && depth < 8) png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
  if (depth == 16) png_set_swap(png);  // PNG stores big-endian; we read host-order uint16
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  RawPng& raw = context->raw;
  raw.width = static_cast<int>(png_get_image_width(png, info));
  raw.height = static_cast<int>(png_get_image_height(png, info));
  raw.channels = png_get_channels(png, info);
  raw.sixteen_bit = png_get_bit_depth(png, info) == 16;
  std::size_t row_values = static_cast<std::size_t>(raw.width) * raw.channels;
  (raw.sixteen_bit ? raw.bytes16.resize(row_values * raw.height)
                   : raw.bytes8.resize(row_values * raw.height));
  context->rows.resize(static_cast<std::size_t>(raw.height));
  for (int y = 0; y < raw.height; ++y)
    context->rows[y] = raw.sixteen_bit ? reinterpret_cast<png_bytep>(&raw.bytes16[y * row_values])
                                       : &raw.bytes8[y * row_values];
  png_read_image(png, context->rows.data());
  png_read_end(png, nullptr);
  png_destroy_read_struct(&png, &info, nullptr);
  return std::move(context->raw);
}

// 8-bit value of sample i as Pillow decodes it: 16-bit colour keeps the high byte ("RGB;16B"), 16-bit
// grey becomes mode I and is clipped to 255 on conversion.
std::uint8_t to8(const RawPng& raw, std::size_t i) {
  if (!raw.sixteen_bit) return raw.bytes8[i];
  if (raw.channels >= 3) return static_cast<std::uint8_t>(raw.bytes16[i] >> 8);
  return static_cast<std::uint8_t>(std::min<int>(raw.bytes16[i], 255));
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
    } else {
      out.pixels[p] = to8(raw, i);
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
  png.format =
      (image.channels == 3 ? PNG_FORMAT_RGB : PNG_FORMAT_GRAY) | (sixteen_bit ? PNG_FORMAT_FLAG_LINEAR : 0);
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
