// What the memory-bank method tests start from: a preprocessed one-category synthetic dataset (3 training
// samples, one test sample per defect folder) under <dir>/data, seed-1 tiny backbones at grid 28 under
// <dir>/weights, and memory-bank settings with the given coreset ratio.
#pragma once

#include <string>
#include <vector>

#include "cfm/small_category.h"
#include "common/data/dataset.h"
#include "common/settings/settings.h"
#include "synth_options.h"
#include "test_support.h"

namespace cfm::test {

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
