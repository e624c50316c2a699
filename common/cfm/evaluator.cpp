#include "common/cfm/evaluator.h"

#include <torch/torch.h>

#include "common/cfm/scorer.h"

namespace cfm {

CategoryEvaluation evaluate_category(CrossmodalMappers& mappers, FeatureExtractor& extractor,
                                     FeatureCache& cache, const std::vector<SampleFiles>& test,
                                     const std::string& out_dir, const EvaluationOptions& options,
                                     RankGroup* ranks) {
  mappers.to_3d->to(extractor.device());
  mappers.to_2d->to(extractor.device());
  mappers.to_3d->eval();
  mappers.to_2d->eval();
  const int grid = extractor.config().grid;
  auto scorer = [&](const BackboneOutputs& outputs) {
    AlignedFeatures a = extractor.align(outputs);
    // The networks run only on pixels with a 3D feature: the scores of the others are zeroed anyway.
    at::Tensor keep = (~a.empty).nonzero().squeeze(1);
    at::Tensor rgb_prediction = torch::zeros_like(a.rgb_patch),
               xyz_prediction = torch::zeros_like(a.xyz_patch);
    rgb_prediction.index_copy_(0, keep, mappers.to_2d->forward(a.xyz_patch.index_select(0, keep)));
    xyz_prediction.index_copy_(0, keep, mappers.to_3d->forward(a.rgb_patch.index_select(0, keep)));
    AnomalyMaps maps = score_sample(a.rgb_patch, rgb_prediction, a.xyz_patch, xyz_prediction, a.empty, grid);
    return SampleScore{maps.combined, maps.map_2d, maps.map_3d, std::nullopt};
  };
  return score_test_split(extractor, cache, test, out_dir, options, ranks, scorer);
}

}  // namespace cfm
