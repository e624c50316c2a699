#include "backbone_options.h"

namespace cfm::cli {

void add_backbone_options(CLI::App* cmd, BackboneFlags& f) {
  cmd->add_option("--preset", f.preset, "Backbone preset: paper or demo")->capture_default_str();
  cmd->add_option("--config", f.config_file, "YAML file with backbone settings (applied after the preset)");
  cmd->add_option("--vit-weights", f.vit_weights, "DINO ViT weights (.pth or .safetensors, timm/DINO layout)");
  cmd->add_option("--point-mae-weights", f.point_mae_weights, "Point-MAE weights (pretrain.pth layout)");
  cmd->add_option("--layers", f.layers, "Transformer blocks kept in both backbones (12, 8, 4)");
  cmd->add_option("--groups", f.groups, "Point-MAE FPS centres G");
  cmd->add_option("--group-size", f.group_size, "Point-MAE neighbours per group k");
  cmd->add_option("--mode", f.mode, "eval (deterministic) or official (BN batch statistics + DropPath)");
  cmd->add_option("--grid", f.grid, "Side of the pixel grid the features are aligned to");
  cmd->add_option("--image-size", f.image_size, "ViT input side (must match the position embedding)");
  cmd->add_option("--vit-heads", f.vit_heads, "ViT attention heads");
  cmd->add_option("--point-mae-heads", f.point_mae_heads, "Point-MAE attention heads");
  cmd->add_option("--seed", f.seed, "Seed of the official-mode DropPath generator");
  cmd->add_option("--threads", f.threads, "LibTorch intra-op threads")->capture_default_str();
  cmd->add_option("--device", f.device, "cpu or cuda:N (needs a CUDA build)")->capture_default_str();
}

BackboneConfig resolve(const BackboneFlags& f) {
  BackboneConfig c = backbone_preset(f.preset);
  if (!f.config_file.empty()) apply_backbone_yaml(c, f.config_file);
  if (!f.vit_weights.empty()) c.vit_weights = f.vit_weights;
  if (!f.point_mae_weights.empty()) c.point_mae_weights = f.point_mae_weights;
  if (f.layers) c.layers_kept = f.layers;
  if (f.groups) c.point_mae.groups = f.groups;
  if (f.group_size) c.point_mae.group_size = f.group_size;
  if (!f.mode.empty()) c.mode = parse_mode(f.mode);
  if (f.grid) c.grid = f.grid;
  if (f.image_size) c.vit.image_size = f.image_size;
  if (f.vit_heads) c.vit.heads = f.vit_heads;
  if (f.point_mae_heads) c.point_mae.heads = f.point_mae_heads;
  if (f.seed >= 0) c.seed = static_cast<std::uint64_t>(f.seed);
  return c;
}

}  // namespace cfm::cli
