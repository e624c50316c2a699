// Scoring a category's test split with trained mapping networks (docs/method.md §5) and its metrics (§6).
// Writes, under the output folder: maps/<defect>/<name>.tiff (float32 smoothed anomaly map before the
// per-image normalisations), maps/<defect>/<name>.png (heat map), maps-2d/ and maps-3d/ (the unsmoothed
// masked s2D and s3D of the same sample, for qualitative figures), gt/<defect>/<name>.png (the mask at the
// grid size, for `cfm metrics`), scores.csv (image scores), metrics.json.
#pragma once

#include <string>
#include <vector>

#include "common/cfm/feature_cache.h"
#include "common/cfm/feature_extractor.h"
#include "common/cfm/mapping_network.h"
#include "common/metrics/evaluation.h"

namespace cfm {

class RankGroup;

struct CategoryEvaluation {
  Evaluation metrics;
  double seconds_per_sample = 0;  // inference (backbones or cache, alignment, mappers, scoring), summed
                                  // over the ranks: the cost of a sample on one device
  double own_seconds = 0;         // inference seconds of the samples this rank scored
  double metrics_seconds = 0;     // the metrics over all maps
};

// With several `ranks`, each scores and writes its share of the test samples (rank_share); the maps are
// gathered on every rank and rank 0 alone computes the metrics and writes scores.csv and metrics.json
// (the other ranks return their inference time and no metrics). The maps equal a single rank's bit for
// bit in eval mode; official mode draws DropPath per rank.
CategoryEvaluation evaluate_category(CrossmodalMappers& mappers, FeatureExtractor& extractor,
                                     FeatureCache& cache, const std::vector<SampleFiles>& test,
                                     const std::string& out_dir, const EvaluationOptions& options = {},
                                     RankGroup* ranks = nullptr);

}  // namespace cfm
