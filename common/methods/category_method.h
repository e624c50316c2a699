// A detection method run on one category (docs/architecture.md §2): fit on the nominal training
// samples, or load what an earlier fit wrote, then score a test split. `cfm train`, `cfm eval` and a
// grid job (common/methods/job_executor.cpp) all run a category through this interface. CFM (the two mapping
// networks, common/cfm/cfm_method.h) is one implementation; a memory-bank method is another one.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/features/feature_cache.h"
#include "common/methods/test_split_scoring.h"
#include "common/settings/settings.h"

namespace cfm {

class RankGroup;

struct FitResult {
  // A method that trains in epochs: the mean loss and the seconds of each (empty for one that does not).
  std::vector<double> epoch_loss, epoch_seconds;
  double communication_seconds = 0;              // waiting in collectives (several ranks)
  std::map<std::string, double> timings;         // stage -> seconds, added to the job's timings
  std::map<std::string, std::string> artifacts;  // kind -> file written, e.g. "checkpoint_2Dto3D"
  std::int64_t model_bytes = 0;                  // what the fitted model takes on disk
};

class CategoryMethod {
 public:
  virtual ~CategoryMethod() = default;

  // Fits on `train` and writes the model into `out_dir`; `progress(epoch, loss)` after each epoch.
  virtual FitResult fit(const std::vector<SampleFiles>& train, const std::string& out_dir,
                        const std::function<void(int, double)>& progress = {}) = 0;

  // Loads the model an earlier fit() wrote into `dir` (Error naming the missing or mismatched file).
  virtual void load(const std::string& dir) = 0;

  // Scores `test` with the fitted or loaded model, writing maps and metrics into `out_dir`. With
  // `use_cache` false the backbones run for every sample, so the timings cover the whole pipeline.
  virtual CategoryEvaluation evaluate(const std::vector<SampleFiles>& test, const std::string& out_dir,
                                      const EvaluationOptions& options, bool use_cache) = 0;

  // Splits the work over these ranks (docs/architecture.md §4). A method that cannot throws UsageError
  // for more than one rank.
  virtual void use_ranks(RankGroup* ranks) = 0;

  virtual std::int64_t parameter_count() = 0;

  // Entries its feature cache found and computed (common/features/feature_cache.h).
  virtual FeatureCacheCounts cache_counts() const = 0;
};

// The training split of a category, cut to the few-shot selection when `shots` asks for one.
std::vector<SampleFiles> training_samples(const Dataset& dataset, const std::string& category,
                                          const TrainingSettings& training);

}  // namespace cfm
