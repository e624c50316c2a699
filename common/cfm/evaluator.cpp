#include "common/cfm/evaluator.h"

#include <torch/torch.h>

#include "common/cfm/scorer.h"

namespace cfm {

AnomalyMaps map_sample(CrossmodalMappers& mappers, const AlignedFeatures& a, int grid) {
  return map_samples(mappers, {a}, grid)[0];
}

std::vector<AnomalyMaps> map_samples(CrossmodalMappers& mappers, const std::vector<AlignedFeatures>& samples,
                                     int grid) {
  torch::NoGradGuard no_grad;
  std::vector<at::Tensor> kept, rgb, xyz;
  std::vector<std::int64_t> rows;
  for (const AlignedFeatures& a : samples) {
    kept.push_back((~a.empty).nonzero().squeeze(1));
    rgb.push_back(a.rgb_patch.index_select(0, kept.back()));
    xyz.push_back(a.xyz_patch.index_select(0, kept.back()));
    rows.push_back(kept.back().size(0));
  }
  // Every pixel's prediction is its own row's: the samples' rows go through the networks together.
  const std::vector<at::Tensor> to_2d = mappers.to_2d->forward(torch::cat(xyz)).split_with_sizes(rows);
  const std::vector<at::Tensor> to_3d = mappers.to_3d->forward(torch::cat(rgb)).split_with_sizes(rows);
  std::vector<AnomalyMaps> maps;
  std::vector<at::Tensor> products;
  for (std::size_t i = 0; i < samples.size(); ++i) {
    maps.push_back(discrepancy_maps(kept[i], rgb[i], to_2d[i], xyz[i], to_3d[i], grid));
    products.push_back(maps.back().map_2d * maps.back().map_3d);
  }
  const at::Tensor smoothed = smooth_anomaly_maps(torch::stack(products));
  for (std::size_t i = 0; i < samples.size(); ++i) maps[i].combined = smoothed[static_cast<std::int64_t>(i)];
  return maps;
}

CategoryEvaluation evaluate_category(CrossmodalMappers& mappers, FeatureExtractor& extractor,
                                     FeatureCache& cache, const std::vector<SampleFiles>& test,
                                     const std::string& out_dir, const EvaluationOptions& options,
                                     RankGroup* ranks, int batch_size) {
  mappers.to_3d->to(extractor.device());
  mappers.to_2d->to(extractor.device());
  mappers.to_3d->eval();
  mappers.to_2d->eval();
  const int grid = extractor.config().grid;
  auto scorer = [&](const std::vector<BackboneOutputs>& outputs) {
    std::vector<AlignedFeatures> aligned;
    for (const BackboneOutputs& o : outputs) aligned.push_back(extractor.align(o));
    std::vector<SampleScore> scores;
    for (AnomalyMaps& maps : map_samples(mappers, aligned, grid))
      scores.push_back({maps.combined, maps.map_2d, maps.map_3d, std::nullopt});
    return scores;
  };
  return score_test_split(extractor, cache, test, out_dir, options, ranks, scorer, batch_size);
}

}  // namespace cfm
