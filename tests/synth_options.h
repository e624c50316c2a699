// Small synthetic datasets for tests: the options every suite would otherwise spell out.
#pragma once

#include <string>

#include "common/data/synth/synth_writer.h"

namespace cfm::test {

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

}  // namespace cfm::test
