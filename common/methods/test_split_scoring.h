// Scoring a category's test split with any per-sample scorer (docs/architecture.md §2): CFM's mapping
// networks (common/cfm/evaluator.h) and the memory banks (common/memory_bank/memory_bank_method.h) both
// run through it, so both write the same files, gather the same way over ranks and compute the same
// metrics. Writes, under the output folder: maps/<defect>/<name>.tiff (float32 anomaly map) and .png (heat
// map), maps-2d/ and maps-3d/ (the per-modality maps of the same sample, for qualitative figures),
// gt/<defect>/<name>.png (the mask at the grid size, for `cfm metrics`), scores.csv (image scores),
// metrics.json.
#pragma once

#include <ATen/core/Tensor.h>

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/features/feature_cache.h"
#include "common/features/feature_extractor.h"
#include "common/metrics/evaluation.h"

namespace cfm {

class RankGroup;

struct CategoryEvaluation {
  Evaluation metrics;
  double seconds_per_sample = 0;  // inference (backbones or cache, scoring), summed over the ranks: the
                                  // cost of a sample on one device
  double own_seconds = 0;         // inference seconds of the samples this rank scored
  double metrics_seconds = 0;     // the metrics over all maps
};

// What a scorer makes of one test sample; maps are S x S (S = the feature grid).
struct SampleScore {
  at::Tensor combined;               // the anomaly map the pixel metrics use
  at::Tensor map_2d, map_3d;         // the per-modality maps (written for figures)
  std::optional<float> image_score;  // nullopt: the metrics derive it from the map (EvaluationOptions)
};
// Scores a batch of samples (one or more, as infer_batch_size asks), one SampleScore each, in order.
using SampleScorer = std::function<std::vector<SampleScore>(const std::vector<BackboneOutputs>&)>;

// Loads every test sample, gets its backbone outputs (from `cache` when enabled), scores and writes it;
// `batch_size` samples at a time (their backbones and scoring run together; a sample's inference time is
// its batch's divided by the batch's size).
// With several `ranks`, each scores and writes its share (rank_share); the maps, masks and image scores
// are gathered on every rank (one summed buffer in which each sample is non-zero on one rank only, so the
// values arrive unchanged) and rank 0 alone computes the metrics and writes scores.csv and metrics.json
// (the other ranks return their inference time and no metrics).
CategoryEvaluation score_test_split(FeatureExtractor& extractor, FeatureCache& cache,
                                    const std::vector<SampleFiles>& test, const std::string& out_dir,
                                    const EvaluationOptions& options, RankGroup* ranks,
                                    const SampleScorer& scorer, int batch_size = 1);

}  // namespace cfm
