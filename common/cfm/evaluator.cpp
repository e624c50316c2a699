#include "common/cfm/evaluator.h"

#include <torch/torch.h>

#include "common/cfm/scorer.h"

namespace cfm {

AnomalyMaps map_sample(CrossmodalMappers& mappers, const AlignedFeatures& a, int grid) {
  torch::NoGradGuard no_grad;
  at::Tensor keep = (~a.empty).nonzero().squeeze(1);
  at::Tensor rgb = a.rgb_patch.index_select(0, keep), xyz = a.xyz_patch.index_select(0, keep);
  return score_kept_pixels(keep, rgb, mappers.to_2d->forward(xyz), xyz, mappers.to_3d->forward(rgb), grid);
}

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
    AnomalyMaps maps = map_sample(mappers, extractor.align(outputs), grid);
    return SampleScore{maps.combined, maps.map_2d, maps.map_3d, std::nullopt};
  };
  return score_test_split(extractor, cache, test, out_dir, options, ranks, scorer);
}

}  // namespace cfm
