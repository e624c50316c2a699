// The raw Eyecandies layout for `cfm synth --format eyecandies` (see synth_writer.h).
#pragma once

#include <functional>
#include <vector>

#include "common/data/synth/scene.h"
#include "common/data/synth/synth_writer.h"

namespace cfm::synth {

// Runs fn(0..count-1), possibly in parallel, with progress reporting.
using ParallelRunner = std::function<void(std::size_t, const std::function<void(std::size_t)>&)>;

SynthSummary write_eyecandies_dataset(const SynthOptions& options, const std::vector<CategoryStyle>& styles,
                                      const ParallelRunner& run);

// Eyecandies category folder name for a synthetic category ("cookie" -> "Cookie").
std::string eyecandies_category_name(const std::string& name);

}  // namespace cfm::synth
