#include "common/settings/backbone_config.h"

#include <fmt/format.h>

#include <algorithm>

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
    // backbones detect nothing beyond the object's shape (measured; see docs/performance.md, "Detection").
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

std::string describe(const BackboneConfig& c) {
  return fmt::format(
      "preset={} mode={} layers_kept={} vit(heads={}, image={}) point_mae(heads={}, G={}, k={}) grid={} "
      "seed={}",
      c.preset, mode_name(c.mode), c.layers_kept, c.vit.heads, c.vit.image_size, c.point_mae.heads,
      c.point_mae.groups, c.point_mae.group_size, c.grid, c.seed);
}

}  // namespace cfm
