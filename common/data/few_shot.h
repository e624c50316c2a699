// Few-shot training splits (docs/architecture.md §3): k nominal samples chosen deterministically from a split
// seed. Each sample is ranked by SHA-256("<seed>:<name>") and the k smallest are kept. The choice depends
// only on the seed and the file names (not on listing order, platform or library version), and adding files
// to a folder keeps earlier choices wherever the new names do not rank lower.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/data/dataset.h"

namespace cfm {

// Returns the chosen samples in name order. k >= number of samples returns all of them; k == 0 is an error.
std::vector<SampleFiles> select_few_shot(const std::vector<SampleFiles>& train, std::size_t k,
                                         std::uint64_t split_seed);

// The file names (stems) of a selection, for recording with a result.
std::vector<std::string> sample_names(const std::vector<SampleFiles>& samples);

}  // namespace cfm
