// What several benchmarks score: one synthetic category (cookie) of `train_samples` nominal 800 x 800
// scans and one test sample, written and preprocessed as `cfm synth` + `cfm preprocess mvtec` do.
#pragma once

#include <string>

#include "common/data/preprocess/mvtec_dataset_preprocess.h"
#include "common/data/synth/synth_writer.h"

namespace cfm::bench {

// Writes the dataset into `folder` (made anew by the caller) and returns it.
inline std::string write_synthetic_category(const std::string& folder, int train_samples) {
  synth::SynthOptions data;
  data.out = folder;
  data.categories = 1;
  data.size = 800;
  data.train = train_samples;
  data.validation = 0;
  data.test = 1;
  data.progress = false;
  synth::write_synthetic_dataset(data);
  MvtecDatasetOptions pre;
  pre.in = data.out;
  pre.progress = false;
  preprocess_mvtec_dataset(pre);
  return folder;
}

}  // namespace cfm::bench
