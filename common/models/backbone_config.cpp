#include "common/models/backbone_config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>

#include <fmt/format.h>

#include "common/util/error.h"

namespace cfm {

BackboneConfig backbone_preset(const std::string& name) {
  BackboneConfig c;
  c.preset = name;
  if (name == "paper") return c;
  if (name == "demo") {
    c.vit.heads = 4;
    c.point_mae.heads = 4;
    c.point_mae.groups = 128;
    c.point_mae.group_size = 32;
    c.layers_kept = 4;
    // Grid 224 as the paper: at 56 the cloud given to Point-MAE has ~260 object points and the demo
    // backbones detect nothing beyond the object's shape (measured; see README, "Detection figures").
    return c;
  }
  throw UsageError("unknown backbone preset '" + name + "' (known: paper, demo)");
}

std::vector<int> point_mae_fetch_layers(int layers_kept) {
  if (layers_kept == 12) return {3, 7, 11};
  if (layers_kept == 8) return {1, 4, 7};
  if (layers_kept == 4) return {1, 2, 3};
  return {layers_kept - 1};
}

std::string mode_name(BackboneMode mode) { return mode == BackboneMode::Eval ? "eval" : "official"; }

BackboneMode parse_mode(const std::string& name) {
  if (name == "eval") return BackboneMode::Eval;
  if (name == "official") return BackboneMode::Official;
  throw UsageError("unknown backbone mode '" + name + "' (known: eval, official)");
}

void apply_backbone_yaml(BackboneConfig& c, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw IoError(path, "cannot open configuration file");
  } catch (const YAML::Exception& e) {
    throw FormatError(path, std::string("invalid YAML: ") + e.what());
  }
  if (root["backbone"]) root = root["backbone"];
  static const std::vector<std::string> kKnown = {"preset", "vit_weights", "point_mae_weights", "vit_heads", "point_mae_heads",
                                                  "image_size", "groups", "group_size", "layers_kept", "mode", "grid", "seed"};
  for (const auto& item : root) {
    std::string key = item.first.as<std::string>();
    if (std::find(kKnown.begin(), kKnown.end(), key) == kKnown.end())
      throw FormatError(path, fmt::format("unknown key '{}' at line {} (known: {})", key, item.first.Mark().line + 1,
                                          fmt::join(kKnown, ", ")));
  }
  try {
    if (root["preset"]) {
      BackboneConfig preset = backbone_preset(root["preset"].as<std::string>());
      preset.vit_weights = c.vit_weights;
      preset.point_mae_weights = c.point_mae_weights;
      c = preset;
    }
    if (root["vit_weights"]) c.vit_weights = root["vit_weights"].as<std::string>();
    if (root["point_mae_weights"]) c.point_mae_weights = root["point_mae_weights"].as<std::string>();
    if (root["vit_heads"]) c.vit.heads = root["vit_heads"].as<int>();
    if (root["point_mae_heads"]) c.point_mae.heads = root["point_mae_heads"].as<int>();
    if (root["image_size"]) c.vit.image_size = root["image_size"].as<int>();
    if (root["groups"]) c.point_mae.groups = root["groups"].as<int>();
    if (root["group_size"]) c.point_mae.group_size = root["group_size"].as<int>();
    if (root["layers_kept"]) c.layers_kept = root["layers_kept"].as<int>();
    if (root["mode"]) c.mode = parse_mode(root["mode"].as<std::string>());
    if (root["grid"]) c.grid = root["grid"].as<int>();
    if (root["seed"]) c.seed = root["seed"].as<std::uint64_t>();
  } catch (const YAML::Exception& e) {
    throw FormatError(path, fmt::format("bad value at line {}: {}", e.mark.line + 1, e.msg));
  }
}

std::string describe(const BackboneConfig& c) {
  return fmt::format("preset={} mode={} layers_kept={} vit(heads={}, image={}) point_mae(heads={}, G={}, k={}) grid={} seed={}",
                     c.preset, mode_name(c.mode), c.layers_kept, c.vit.heads, c.vit.image_size, c.point_mae.heads,
                     c.point_mae.groups, c.point_mae.group_size, c.grid, c.seed);
}

}  // namespace cfm
