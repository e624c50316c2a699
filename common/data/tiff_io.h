// Organized point clouds as TIFF files (libtiff): HxWx3 IEEE floats, 32-bit (MVTec 3D-AD) or 64-bit
// (CFM's Eyecandies conversion), interleaved or planar, striped or tiled, any compression libtiff reads.
#pragma once

#include <string>

#include "common/data/image.h"

namespace cfm {

// Header facts, readable without decoding the pixels (dataset scans use this).
struct TiffInfo {
  int width = 0;
  int height = 0;
  int samples_per_pixel = 0;
  int bits_per_sample = 0;
  bool ieee_float = false;
};

TiffInfo read_tiff_info(const std::string& path);

// Reads a 3-channel float TIFF. Throws IoError (cannot open), FormatError (not a TIFF, truncated, wrong
// channel count or sample type); every message names the file and what was expected.
PointImage read_xyz_tiff(const std::string& path);

// Reads a single-channel float TIFF (an anomaly map), 32- or 64-bit, as float.
Image<float> read_map_tiff(const std::string& path);

enum class TiffSampleType { Float32, Float64 };
// Writes a single-channel float32 TIFF.
void write_map_tiff(const std::string& path, const Image<float>& map);
// Writes HxWx3 uncompressed, interleaved, striped: the layout of MVTec 3D-AD's own files.
void write_xyz_tiff(const std::string& path, const PointImage& points,
                    TiffSampleType type = TiffSampleType::Float32);

}  // namespace cfm
