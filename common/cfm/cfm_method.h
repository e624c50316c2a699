// CFM as a CategoryMethod (docs/method.md §3-6): frozen backbones with a feature cache, two mapping
// networks trained with the masked cosine losses, scored by the product of the two discrepancies.
// Seeds as the official code: fit() runs from the training seed (115), evaluate() from the inference
// seed (42).
#pragma once

#include <optional>
#include <string>

#include "common/cfm/evaluator.h"
#include "common/cfm/mapping_network.h"
#include "common/features/feature_cache.h"
#include "common/features/feature_extractor.h"
#include "common/methods/category_method.h"
#include "common/settings/settings.h"

namespace cfm {

class CfmMethod : public CategoryMethod {
 public:
  // `cache_dir` empty: no feature cache. The backbones load here (Error naming a bad weights file).
  CfmMethod(const CategoryJobSettings& settings, std::string category, at::Device device,
            const std::string& cache_dir);

  FitResult fit(const std::vector<SampleFiles>& train, const std::string& out_dir,
                const std::function<void(int, double)>& progress = {}) override;
  void load(const std::string& dir) override;
  CategoryEvaluation evaluate(const std::vector<SampleFiles>& test, const std::string& out_dir,
                              const EvaluationOptions& options, bool use_cache) override;
  std::int64_t parameter_count() override;
  FeatureCacheCounts cache_counts() const override { return cache_.counts(); }

  // Trains and scores data-parallel over these ranks (common/cfm/trainer.h, evaluator.h); only rank 0
  // writes the checkpoints, the scores and the metrics.
  void use_ranks(RankGroup* ranks) override { ranks_ = ranks; }

  // The official checkpoint file name of one direction ("2Dto3D" or "3Dto2D") for these settings.
  std::string checkpoint_name(const std::string& direction) const;

 private:
  CategoryJobSettings settings_;
  std::string category_;
  FeatureExtractor extractor_;
  FeatureCache cache_;
  std::optional<CrossmodalMappers> mappers_;
  RankGroup* ranks_ = nullptr;
};

// Registers CFM as the method "cfm" (common/methods/method_registry.h).
void register_cfm_method();

}  // namespace cfm
