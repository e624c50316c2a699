// Backbone flags shared by `cfm features`, `cfm train` and `cfm eval`: preset, then YAML, then flags.
#pragma once

#include <CLI/CLI.hpp>

#include <string>
#include <thread>

#include "common/models/backbone_config.h"

namespace cfm::cli {

struct BackboneFlags {
  std::string config_file, preset = "paper", mode;
  std::string vit_weights, point_mae_weights;
  std::string device = "cpu";
  int layers = 0, groups = 0, group_size = 0, grid = 0, image_size = 0, vit_heads = 0, point_mae_heads = 0;
  long long seed = -1;
  unsigned threads = std::max(1u, std::thread::hardware_concurrency());
};

void add_backbone_options(CLI::App* cmd, BackboneFlags& flags);
BackboneConfig resolve(const BackboneFlags& flags);

}  // namespace cfm::cli
