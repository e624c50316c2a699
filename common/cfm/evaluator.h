// Scoring a category's test split with trained mapping networks (docs/method.md §5) and its metrics (§6),
// through the shared test-split driver (common/methods/test_split_scoring.h: files written, ranks, metrics).
// maps-2d/ and maps-3d/ hold the unsmoothed masked s2D and s3D of each sample.
#pragma once

#include <string>
#include <vector>

#include "common/cfm/mapping_network.h"
#include "common/cfm/scorer.h"
#include "common/features/feature_cache.h"
#include "common/features/feature_extractor.h"
#include "common/methods/test_split_scoring.h"
#include "common/metrics/evaluation.h"

namespace cfm {

class RankGroup;

// One sample's anomaly maps from its aligned features: both networks on the pixels with a 3D feature
// (the others' scores are zeroed anyway), then their discrepancies and the smoothing (§5 steps 2-6;
// score_sample's values, scorer.h).
AnomalyMaps map_sample(CrossmodalMappers& mappers, const AlignedFeatures& aligned, int grid);
// Several samples: their pixels through each network at once, their products smoothed at once.
std::vector<AnomalyMaps> map_samples(CrossmodalMappers& mappers, const std::vector<AlignedFeatures>& samples,
                                     int grid);

// With several `ranks`, each scores its share of the test samples and rank 0 computes the metrics
// (score_test_split). The maps equal a single rank's bit for bit in eval mode; official mode draws
// DropPath per rank. `batch_size` samples are scored together (map_samples).
CategoryEvaluation evaluate_category(CrossmodalMappers& mappers, FeatureExtractor& extractor,
                                     FeatureCache& cache, const std::vector<SampleFiles>& test,
                                     const std::string& out_dir, const EvaluationOptions& options = {},
                                     RankGroup* ranks = nullptr, int batch_size = 1);

}  // namespace cfm
