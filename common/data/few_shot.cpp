#include "common/data/few_shot.h"

#include <algorithm>

#include "common/util/error.h"
#include "common/util/sha256.h"

namespace cfm {

std::vector<SampleFiles> select_few_shot(const std::vector<SampleFiles>& train, std::size_t k,
                                         std::uint64_t split_seed) {
  if (k == 0) throw UsageError("few-shot: the number of shots must be at least 1");
  if (k >= train.size()) return train;
  std::vector<std::pair<std::string, std::size_t>> ranked;
  ranked.reserve(train.size());
  for (std::size_t i = 0; i < train.size(); ++i)
    ranked.emplace_back(sha256_hex(std::to_string(split_seed) + ":" + train[i].name), i);
  std::sort(ranked.begin(), ranked.end());
  std::vector<SampleFiles> chosen;
  for (std::size_t i = 0; i < k; ++i) chosen.push_back(train[ranked[i].second]);
  std::sort(chosen.begin(), chosen.end(),
            [](const SampleFiles& a, const SampleFiles& b) { return a.name < b.name; });
  return chosen;
}

std::vector<std::string> sample_names(const std::vector<SampleFiles>& samples) {
  std::vector<std::string> names;
  for (const SampleFiles& s : samples) names.push_back(s.name);
  return names;
}

}  // namespace cfm
