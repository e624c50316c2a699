// The one builder of small synthetic test data: synthetic datasets in the real layouts (MVTec 3D-AD or
// Eyecandies), preprocessed as scripts/demo.sh does, small seeded random backbones in the real checkpoint
// layouts, and a ready memory-bank category. Every suite starts from these.
//
//   write_preprocessed_dataset(small_synth(dir / "data", 1, 200, 3, 0, 1));  // one category, 3 + 1 samples
//   BackboneConfig config = tiny_backbones(dir / "weights", 28);
#pragma once

#include <stdexcept>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/data/preprocess/mvtec_dataset_preprocess.h"
#include "common/data/synth/synth_writer.h"
#include "common/features/random_backbones.h"
#include "common/settings/backbone_config.h"
#include "common/settings/settings.h"
#include "test_support.h"

namespace cfm::test {

// The options of a small synthetic dataset: `categories` categories of `size` x `size` scans with that
// many training, validation and test samples per category.
inline synth::SynthOptions small_synth(const std::string& out, int categories, int size, int train,
                                       int validation, int test,
                                       synth::DatasetFormat format = synth::DatasetFormat::Mvtec) {
  synth::SynthOptions o;
  o.out = out;
  o.categories = categories;
  o.size = size;
  o.train = train;
  o.validation = validation;
  o.test = test;
  o.format = format;
  o.progress = false;
  return o;
}

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

// What the memory-bank tests start from: a preprocessed one-category dataset (3 training samples, one test
// sample per defect folder) under <dir>/data, tiny backbones at grid 28 under <dir>/weights, and
// memory-bank settings with the given coreset ratio.
struct TinyBankCategory {
  CategoryJobSettings settings;
  std::vector<SampleFiles> train, test;
};

inline TinyBankCategory tiny_bank_category(const TempDir& dir, double coreset_ratio) {
  write_preprocessed_dataset(small_synth(dir / "data", 1, 200, 3, 0, 1));
  TinyBankCategory c{{tiny_backbones(dir / "weights", 28), TrainingSettings{}, MemoryBankSettings{}}, {}, {}};
  c.settings.memory_bank.coreset_ratio = coreset_ratio;
  Dataset dataset(dir / "data");
  c.train = dataset.samples("cookie", "train");
  c.test = dataset.samples("cookie", "test");
  return c;
}

}  // namespace cfm::test
