// PNG reading (libpng's classic API) and writing (its simplified API). Readers convert to the mode cfm needs
// the way Pillow does, because the official pipeline decodes with PIL: convert('RGB') drops alpha,
// convert('L') uses the ITU-R 601-2 luma with Pillow's fixed-point rounding.
#pragma once

#include <string>

#include "common/data/image.h"

namespace cfm {

// Any 8/16-bit PNG as 8-bit RGB (3 channels). Throws IoError / FormatError naming the file.
ImageU8 read_png_rgb(const std::string& path);
// Any PNG as 8-bit luminance (1 channel), as PIL's convert('L').
ImageU8 read_png_luma(const std::string& path);
// A 16-bit single-channel PNG (e.g. Eyecandies depth) with its raw values. 8-bit files are rejected.
ImageU16 read_png_u16(const std::string& path);

// Writes 1-channel (grey) or 3-channel (RGB) 8-bit, or 1-channel 16-bit images.
void write_png(const std::string& path, const ImageU8& image);
void write_png(const std::string& path, const ImageU16& image);

// Pillow's RGB -> L conversion (Convert.c, L24): exact integer arithmetic.
inline std::uint8_t pillow_luma(std::uint8_t r, std::uint8_t g, std::uint8_t b) {
  return static_cast<std::uint8_t>((r * 19595u + g * 38470u + b * 7471u + 0x8000u) >> 16);
}

}  // namespace cfm

namespace cfm {
// Width and height from the PNG header, without decoding the pixels.
struct PngSize {
  int width = 0;
  int height = 0;
};
PngSize read_png_size(const std::string& path);
}  // namespace cfm
