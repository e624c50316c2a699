#include "common/cfm/category_method.h"

#include "common/cfm/cfm_method.h"
#include "common/data/few_shot.h"
#include "common/memory_bank/memory_bank_method.h"
#include "common/util/error.h"

namespace cfm {

std::unique_ptr<CategoryMethod> make_category_method(const std::string& method, const CfmSettings& settings,
                                                     const std::string& category, const at::Device& device,
                                                     const std::string& cache_dir) {
  if (method == "cfm") return std::make_unique<CfmMethod>(settings, category, device, cache_dir);
  if (method == "memory_bank")
    return std::make_unique<MemoryBankMethod>(settings, category, device, cache_dir);
  throw UsageError("method '" + method + "' does not run on a category (known: cfm, memory_bank)");
}

std::vector<SampleFiles> training_samples(const Dataset& dataset, const std::string& category,
                                          const TrainingSettings& training) {
  std::vector<SampleFiles> train = dataset.samples(category, "train");
  if (training.shots > 0)
    train = select_few_shot(train, static_cast<std::size_t>(training.shots),
                            static_cast<std::uint64_t>(training.split_seed));
  return train;
}

}  // namespace cfm
