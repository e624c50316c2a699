// The three resamplers of the official input pipeline (docs/method.md §2, checklist §8.3). They are
// deliberately different and must not be unified:
//  - RGB: edge SquarePad, then Pillow's antialiased bicubic (a = -0.5, support widened by the downscale
//    factor, 22-bit fixed-point coefficients, horizontal pass then vertical pass, uint8 in between);
//  - GT: edge SquarePad, then Pillow's nearest: source index floor((i + 0.5) * in / out);
//  - xyz: PyTorch's legacy 'nearest': source index min(floor(i * (float)(in / out)), in - 1).
#pragma once

#include <vector>

#include "common/data/image.h"

namespace cfm {

// torchvision-style SquarePad in 'edge' mode: pads the shorter side to a square by replicating the border
// pixels; left = (m - W) / 2, top = (m - H) / 2 (floor), the rest right / bottom.
ImageU8 square_pad_edge(const ImageU8& image);

// Bit-exact port of Pillow's Image.resize(..., BICUBIC) for 8-bit images (Resample.c).
ImageU8 pillow_resize_bicubic(const ImageU8& image, int out_width, int out_height);

// Pillow's Image.resize(..., NEAREST).
ImageU8 pillow_resize_nearest(const ImageU8& image, int out_width, int out_height);

// Source indices of PyTorch's F.interpolate(mode='nearest') along one axis.
std::vector<int> torch_nearest_source_indices(int in_size, int out_size);

// PyTorch 'nearest' resize of an organized point cloud.
PointImage resize_points_nearest(const PointImage& points, int out_width, int out_height);

}  // namespace cfm
