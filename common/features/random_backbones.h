// Randomly initialised backbones saved in the original checkpoint layouts, our stand-in for weights that
// cannot be downloaded here: a flat timm/DINO ViT state dict, and a Point-MAE pre-training checkpoint
// ({'base_model': {'module.MAE_encoder.…', 'module.MAE_decoder.…', 'module.mask_token', …}}) that exercises
// the key clean-up and the strict check. Seeded, so the same seed gives the same files.
//
// The Point-MAE BatchNorm running statistics are not random: they are measured on synthetic surface
// patches sampled like a 224 x 224 scan (what training leaves in them), and the position embedding gets a
// plain fan-in initialisation. With arbitrary statistics the encoder gives nearly the same output for
// every group and the features are a smooth function of the group's position (measured on a demo cookie:
// pairwise cosine >= 0.978 between groups, 99.97 % of the variance explained by a quadratic in the
// centre coordinates), so the 3D modality carries no local shape and CFM cannot map it.
#pragma once

#include <cstdint>
#include <string>

namespace cfm {

struct BackboneShapes {
  int vit_dim, vit_depth, vit_mlp, patch, image_size;
  int pm_dim, pm_depth, pm_mlp, pm_c1, pm_c2, pm_c3, pm_pos_hidden;
  int pm_group_size;  // k of the matching configuration preset: the patches the BatchNorms are calibrated on
};

// "paper": ViT-B/8 (768, 12 blocks, MLP 3072) + Point-MAE (384, 12 blocks, 128/256/512 mini-PointNet);
// "demo": 64-wide, 4 blocks each; "tiny": 32-wide, 4 blocks, 112-pixel ViT input (parity fixtures).
BackboneShapes backbone_shapes(const std::string& preset);

struct RandomBackboneFiles {
  std::string vit;
  std::string point_mae;
};

// Writes <dir>/vit_<preset>_random.pth and <dir>/pointmae_<preset>_random.pth.
RandomBackboneFiles write_random_backbones(const std::string& dir, const std::string& preset,
                                           std::uint64_t seed);

}  // namespace cfm
