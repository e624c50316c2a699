#include "common/methods/category_method.h"

#include "common/data/few_shot.h"

namespace cfm {

std::vector<SampleFiles> training_samples(const Dataset& dataset, const std::string& category,
                                          const TrainingSettings& training) {
  std::vector<SampleFiles> train = dataset.samples(category, "train");
  if (training.shots > 0)
    train = select_few_shot(train, static_cast<std::size_t>(training.shots),
                            static_cast<std::uint64_t>(training.split_seed));
  return train;
}

}  // namespace cfm
