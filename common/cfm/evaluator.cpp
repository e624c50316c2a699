#include "common/cfm/evaluator.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <optional>
#include <tuple>

#include "common/cfm/scorer.h"
#include "common/data/heat_map.h"
#include "common/data/png_io.h"
#include "common/data/sample_loader.h"
#include "common/data/tiff_io.h"
#include "common/distributed/rank_group.h"
#include "common/util/error.h"
#include "common/util/stopwatch.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

Image<float> to_image(const at::Tensor& map) {
  at::Tensor m = map.contiguous().cpu().to(torch::kFloat32);
  Image<float> image(static_cast<int>(m.size(1)), static_cast<int>(m.size(0)), 1);
  std::memcpy(image.pixels.data(), m.data_ptr<float>(), image.pixels.size() * sizeof(float));
  return image;
}

// One test sample scored and written under `out_dir`; returns its map and mask at the grid size.
struct ScoredSample {
  Image<float> map;
  ImageU8 mask;
  double seconds = 0;  // inference only (not loading or writing)
};

ScoredSample score_and_write(CrossmodalMappers& mappers, FeatureExtractor& extractor, FeatureCache& cache,
                             const SampleFiles& files, const std::string& out_dir) {
  const BackboneConfig& config = extractor.config();
  SampleTensors sample = load_sample(files, config.grid, config.vit.image_size);
  Stopwatch inference;
  AlignedFeatures a = extractor.align(cache.outputs(extractor, files, sample.rgb, sample.cloud));
  // The networks run only on pixels with a 3D feature: the scores of the others are zeroed anyway.
  at::Tensor keep = (~a.empty).nonzero().squeeze(1);
  at::Tensor rgb_prediction = torch::zeros_like(a.rgb_patch), xyz_prediction = torch::zeros_like(a.xyz_patch);
  rgb_prediction.index_copy_(0, keep, mappers.to_2d->forward(a.xyz_patch.index_select(0, keep)));
  xyz_prediction.index_copy_(0, keep, mappers.to_3d->forward(a.rgb_patch.index_select(0, keep)));
  AnomalyMaps scored =
      score_sample(a.rgb_patch, rgb_prediction, a.xyz_patch, xyz_prediction, a.empty, config.grid);
  ScoredSample result{to_image(scored.combined), ImageU8(config.grid, config.grid, 1), inference.seconds()};
  at::Tensor gt = sample.gt.reshape({-1}).contiguous();
  for (std::size_t p = 0; p < result.mask.pixels.size(); ++p)
    result.mask.pixels[p] = gt.data_ptr<float>()[p] > 0.5f ? 255 : 0;
  fs::path maps_dir = fs::path(out_dir) / "maps" / files.defect,
           gt_dir = fs::path(out_dir) / "gt" / files.defect;
  fs::create_directories(maps_dir);
  write_map_tiff((maps_dir / (files.name + ".tiff")).string(), result.map);
  for (auto [folder, part] : {std::pair{"maps-2d", &scored.map_2d}, std::pair{"maps-3d", &scored.map_3d}}) {
    fs::path dir = fs::path(out_dir) / folder / files.defect;
    fs::create_directories(dir);
    write_map_tiff((dir / (files.name + ".tiff")).string(), to_image(*part));
  }
  write_png((maps_dir / (files.name + ".png")).string(), heat_map(result.map));
  if (files.label) {
    fs::create_directories(gt_dir);
    write_png((gt_dir / (files.name + ".png")).string(), result.mask);
  }
  return result;
}

// Every rank's maps and masks on every rank, in test order, and the inference seconds summed over the
// ranks. They travel as one sum of float32 buffers in which each sample is non-zero on one rank only, so
// the gathered values are exactly the ones computed (x + 0 = x).
std::pair<PixelMaps, double> gather_maps(std::vector<std::optional<ScoredSample>>& scored, RankGroup& ranks,
                                         int grid, const at::Device& device) {
  const auto n = static_cast<std::int64_t>(scored.size()), pixels = std::int64_t{grid} * grid;
  at::Tensor maps = torch::zeros({n, pixels}), masks = torch::zeros({n, pixels});
  double seconds = 0;
  for (std::int64_t i = 0; i < n; ++i) {
    if (!scored[i]) continue;
    std::memcpy(maps.data_ptr<float>() + i * pixels, scored[i]->map.pixels.data(), pixels * sizeof(float));
    std::copy(scored[i]->mask.pixels.begin(), scored[i]->mask.pixels.end(),
              masks.data_ptr<float>() + i * pixels);
    seconds += scored[i]->seconds;
  }
  std::vector<at::Tensor> buffers = {maps.to(device), masks.to(device),
                                     torch::tensor({static_cast<float>(seconds)}).to(device)};
  ranks.all_reduce_sum(buffers);
  maps = buffers[0].cpu().contiguous();
  masks = buffers[1].cpu().to(torch::kUInt8).contiguous();
  PixelMaps gathered;
  for (std::int64_t i = 0; i < n; ++i) {
    Image<float> map(grid, grid, 1);
    std::memcpy(map.pixels.data(), maps[i].data_ptr<float>(), pixels * sizeof(float));
    ImageU8 mask(grid, grid, 1);
    std::memcpy(mask.pixels.data(), masks[i].data_ptr<std::uint8_t>(), pixels);
    gathered.scores.push_back(std::move(map));
    gathered.masks.push_back(std::move(mask));
  }
  return {std::move(gathered), buffers[2].item<double>()};
}

}  // namespace

CategoryEvaluation evaluate_category(CrossmodalMappers& mappers, FeatureExtractor& extractor,
                                     FeatureCache& cache, const std::vector<SampleFiles>& test,
                                     const std::string& out_dir, const EvaluationOptions& options,
                                     RankGroup* ranks) {
  if (test.empty()) throw Error("no test samples");
  torch::NoGradGuard no_grad;
  mappers.to_3d->to(extractor.device());
  mappers.to_2d->to(extractor.device());
  mappers.to_3d->eval();
  mappers.to_2d->eval();
  const bool sharded = ranks && ranks->world_size() > 1;
  CategoryEvaluation result;
  PixelMaps maps;
  double seconds = 0;
  if (!sharded) {
    for (const SampleFiles& files : test) {
      ScoredSample s = score_and_write(mappers, extractor, cache, files, out_dir);
      seconds += s.seconds;
      maps.scores.push_back(std::move(s.map));
      maps.masks.push_back(std::move(s.mask));
    }
    result.own_seconds = seconds;
  } else {
    std::vector<std::optional<ScoredSample>> scored(test.size());
    for (std::size_t i : rank_share(test.size(), ranks->rank(), ranks->world_size())) {
      scored[i] = score_and_write(mappers, extractor, cache, test[i], out_dir);
      result.own_seconds += scored[i]->seconds;
    }
    std::tie(maps, seconds) = gather_maps(scored, *ranks, extractor.config().grid, extractor.device());
  }
  result.seconds_per_sample = seconds / static_cast<double>(test.size());
  if (sharded && !ranks->is_root()) return result;  // rank 0 computes the metrics and writes the summaries
  Stopwatch metrics;
  result.metrics = evaluate_maps(maps, {}, options);
  result.metrics_seconds = metrics.seconds();
  std::ofstream scores(fs::path(out_dir) / "scores.csv");
  scores << "map,score,label\n";
  for (std::size_t i = 0; i < test.size(); ++i)
    scores << test[i].defect << "/" << test[i].name << ".tiff," << result.metrics.image_scores[i] << ","
           << test[i].label << "\n";
  std::ofstream(fs::path(out_dir) / "metrics.json") << evaluation_json(result.metrics, options) << "\n";
  return result;
}

}  // namespace cfm
