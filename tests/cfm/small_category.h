// A preprocessed synthetic category plus random backbones: what the training, detection and GPU tests
// start from.
#pragma once

#include <stdexcept>
#include <string>

#include "common/data/preprocess/mvtec_dataset_preprocess.h"
#include "common/data/synth/synth_writer.h"
#include "common/features/random_backbones.h"
#include "common/settings/backbone_config.h"

namespace cfm::test {

// Writes the dataset of `options` and preprocesses it in place, as scripts/demo.sh does.
inline void write_preprocessed_dataset(const synth::SynthOptions& options) {
  synth::write_synthetic_dataset(options);
  MvtecDatasetOptions pre;
  pre.in = options.out;
  pre.progress = false;
  if (!preprocess_mvtec_dataset(pre).failures.empty())
    throw std::runtime_error("preprocessing failed in " + options.out);
}

// Seed-1 `tiny` random backbones in `dir`, configured small (112-pixel ViT input, G = 32, k = 16).
inline BackboneConfig tiny_backbones(const std::string& dir, int grid) {
  RandomBackboneFiles files = write_random_backbones(dir, "tiny", 1);
  BackboneConfig config = backbone_preset("demo");
  config.vit_weights = files.vit;
  config.point_mae_weights = files.point_mae;
  config.vit.image_size = 112;
  config.point_mae.groups = 32;
  config.point_mae.group_size = 16;
  config.grid = grid;
  return config;
}

}  // namespace cfm::test
