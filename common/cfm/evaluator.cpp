#include "common/cfm/evaluator.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "common/cfm/scorer.h"
#include "common/data/heat_map.h"
#include "common/data/png_io.h"
#include "common/data/sample_loader.h"
#include "common/data/tiff_io.h"
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

}  // namespace

CategoryEvaluation evaluate_category(CrossmodalMappers& mappers, FeatureExtractor& extractor,
                                     FeatureCache& cache, const std::vector<SampleFiles>& test,
                                     const std::string& out_dir, const EvaluationOptions& options) {
  if (test.empty()) throw Error("no test samples");
  torch::NoGradGuard no_grad;
  mappers.to_3d->to(extractor.device());
  mappers.to_2d->to(extractor.device());
  mappers.to_3d->eval();
  mappers.to_2d->eval();
  const BackboneConfig& config = extractor.config();
  PixelMaps maps;
  double seconds = 0;
  for (const SampleFiles& files : test) {
    SampleTensors sample = load_sample(files, config.grid, config.vit.image_size);
    Stopwatch inference;
    AlignedFeatures a = extractor.align(cache.outputs(extractor, files, sample.rgb, sample.cloud));
    // The networks run only on pixels with a 3D feature: the scores of the others are zeroed anyway.
    at::Tensor keep = (~a.empty).nonzero().squeeze(1);
    at::Tensor rgb_prediction = torch::zeros_like(a.rgb_patch),
               xyz_prediction = torch::zeros_like(a.xyz_patch);
    rgb_prediction.index_copy_(0, keep, mappers.to_2d->forward(a.xyz_patch.index_select(0, keep)));
    xyz_prediction.index_copy_(0, keep, mappers.to_3d->forward(a.rgb_patch.index_select(0, keep)));
    AnomalyMaps scored =
        score_sample(a.rgb_patch, rgb_prediction, a.xyz_patch, xyz_prediction, a.empty, config.grid);
    seconds += inference.seconds();
    Image<float> map = to_image(scored.combined);
    ImageU8 mask(config.grid, config.grid, 1);
    at::Tensor gt = sample.gt.reshape({-1}).contiguous();
    for (std::size_t p = 0; p < mask.pixels.size(); ++p)
      mask.pixels[p] = gt.data_ptr<float>()[p] > 0.5f ? 255 : 0;
    fs::path maps_dir = fs::path(out_dir) / "maps" / files.defect,
             gt_dir = fs::path(out_dir) / "gt" / files.defect;
    fs::create_directories(maps_dir);
    write_map_tiff((maps_dir / (files.name + ".tiff")).string(), map);
    for (auto [folder, part] : {std::pair{"maps-2d", &scored.map_2d}, std::pair{"maps-3d", &scored.map_3d}}) {
      fs::path dir = fs::path(out_dir) / folder / files.defect;
      fs::create_directories(dir);
      write_map_tiff((dir / (files.name + ".tiff")).string(), to_image(*part));
    }
    write_png((maps_dir / (files.name + ".png")).string(), heat_map(map));
    if (files.label) {
      fs::create_directories(gt_dir);
      write_png((gt_dir / (files.name + ".png")).string(), mask);
    }
    maps.scores.push_back(std::move(map));
    maps.masks.push_back(std::move(mask));
  }
  CategoryEvaluation result;
  Stopwatch metrics;
  result.metrics = evaluate_maps(maps, {}, options);
  result.metrics_seconds = metrics.seconds();
  result.seconds_per_sample = seconds / static_cast<double>(test.size());
  std::ofstream scores(fs::path(out_dir) / "scores.csv");
  scores << "map,score,label\n";
  for (std::size_t i = 0; i < test.size(); ++i)
    scores << test[i].defect << "/" << test[i].name << ".tiff," << result.metrics.image_scores[i] << ","
           << test[i].label << "\n";
  std::ofstream(fs::path(out_dir) / "metrics.json") << evaluation_json(result.metrics, options) << "\n";
  return result;
}

}  // namespace cfm
