// Configuration of the two frozen backbones (docs/method.md §3). Architectures are inferred from the
// weight files where the shapes tell (widths, depth, token count); head counts and the sampling sizes
// come from here. Presets: `paper` (DINO ViT-B/8 + Point-MAE, G=1024, k=128, grid 224) and `demo`
// (narrow random backbones, G=128, k=32, 4 blocks, grid 224: 20 samples x 15 epochs train in about a
// minute on 2 CPU cores).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cfm {

// eval: BatchNorm running statistics, no DropPath (deterministic; features can be cached).
// official: what the official code does by never calling eval() (§3.6): BatchNorm batch statistics and
// stochastic DropPath with rates 0..0.1 over the blocks, from a seeded generator.
enum class BackboneMode { Eval, Official };

struct VitConfig {
  int heads = 12;
  int patch = 8;
  int image_size = 224;  // RGB input side; must match the checkpoint's position embedding
  double eps = 1e-6;
};

struct PointMaeConfig {
  int heads = 6;
  int groups = 1024;     // G, number of FPS centres
  int group_size = 128;  // k, points per group
  double eps = 1e-5;
  double drop_path_rate = 0.1;
};

struct BackboneConfig {
  std::string preset = "paper";
  std::string vit_weights;        // dino_vitbase8_pretrain.pth, timm state dict (.pth / .safetensors)
  std::string point_mae_weights;  // Point-MAE pretrain.pth
  VitConfig vit;
  PointMaeConfig point_mae;
  int layers_kept = 12;  // first k blocks of both backbones (layer pruning: 12, 8, 4)
  BackboneMode mode = BackboneMode::Eval;
  int grid = 224;                   // side of the pixel grid the features are aligned to
  std::uint64_t seed = 42;          // official mode: DropPath generator seed
  std::size_t chunk_points = 4096;  // KNN / interpolation chunk (bounds peak memory)
};

// The named presets ("paper", "demo"); throws UsageError listing the known names.
BackboneConfig backbone_preset(const std::string& name);

// Point-MAE layers whose outputs are concatenated, for a number of kept blocks (§3.4 step 7):
// 12 -> {3, 7, 11}, 8 -> {1, 4, 7}, 4 -> {1, 2, 3}, otherwise the last one.
std::vector<int> point_mae_fetch_layers(int layers_kept);

std::string mode_name(BackboneMode mode);
BackboneMode parse_mode(const std::string& name);  // UsageError on anything but eval / official

// One-line description for logs and results.
std::string describe(const BackboneConfig& config);

}  // namespace cfm
