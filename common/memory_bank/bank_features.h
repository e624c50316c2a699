// The patch features the memory-bank method stores and compares (docs/method.md §11.1), from the same
// backbone outputs (and feature cache) as CFM:
//   RGB: the ViT's patch tokens after the final norm, h x w (28 x 28 for ViT-B/8 at 224), no pooling.
//   3D:  Point-MAE features interpolated to the valid pixels of the S x S grid as CFM does (§3.7),
//        scattered into a zero S x S map, 3 x 3 average pool without padding (S - 2) and adaptive average
//        pool to 56 x 56 (M3DM's resize).
#pragma once

#include <ATen/core/Tensor.h>

#include "common/features/feature_extractor.h"

namespace cfm {

constexpr int kBankGridSide = 56;  // M3DM's side of the 3D patch grid

struct BankFeatures {
  at::Tensor rgb;  // rgb_side² x C, row y * rgb_side + x
  at::Tensor xyz;  // 56² x C3
  int rgb_side = 0;
  int xyz_side = kBankGridSide;
};

// On the extractor's device.
BankFeatures bank_features(const FeatureExtractor& extractor, const BackboneOutputs& outputs);

}  // namespace cfm
