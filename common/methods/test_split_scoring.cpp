#include "common/methods/test_split_scoring.h"

#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <numeric>
#include <sstream>

#include "common/data/heat_map.h"
#include "common/data/png_io.h"
#include "common/data/tiff_io.h"
#include "common/distributed/rank_group.h"
#include "common/features/sample_loader.h"
#include "common/util/error.h"
#include "common/util/stopwatch.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

Image<float> to_image(const at::Tensor& map) {
  at::Tensor m = map.contiguous().cpu().to(torch::kFloat32);
  Image<float> image(static_cast<int>(m.size(1)), static_cast<int>(m.size(0)), 1);
  std::memcpy(image.pixels.data(), m.data_ptr<float>(), image.pixels.size() * sizeof(float));
  return image;
}

// One test sample as scored and written.
struct ScoredSample {
  Image<float> map;
  ImageU8 mask;
  std::optional<float> image_score;
  double seconds = 0;  // inference only (not loading or writing)
};

void write_map(const fs::path& out_dir, const char* folder, const SampleFiles& files,
               const Image<float>& map) {
  fs::path dir = out_dir / folder / files.defect;
  fs::create_directories(dir);
  write_map_tiff((dir / (files.name + ".tiff")).string(), map);
}

// Writes one scored sample's maps, heat map and (anomalous samples) ground truth, and fills its mask.
void write_sample(const fs::path& out_dir, const SampleFiles& files, const SampleTensors& sample,
                  const SampleScore& scored, ScoredSample& result) {
  at::Tensor gt = sample.gt.reshape({-1}).contiguous();
  const float* truth = gt.data_ptr<float>();
  for (std::size_t p = 0; p < result.mask.pixels.size(); ++p)
    result.mask.pixels[p] = truth[p] > 0.5f ? 255 : 0;
  write_map(out_dir, "maps", files, result.map);
  write_map(out_dir, "maps-2d", files, to_image(scored.map_2d));
  write_map(out_dir, "maps-3d", files, to_image(scored.map_3d));
  write_png((out_dir / "maps" / files.defect / (files.name + ".png")).string(), heat_map(result.map));
  if (files.label) {
    fs::path gt_dir = out_dir / "gt" / files.defect;
    fs::create_directories(gt_dir);
    write_png((gt_dir / (files.name + ".png")).string(), result.mask);
  }
}

// Scores the samples test[i], i in `indices`, together (one batch) and writes each.
std::vector<ScoredSample> score_and_write(FeatureExtractor& extractor, FeatureCache& cache,
                                          const std::vector<SampleFiles>& test,
                                          const std::vector<std::size_t>& indices, const fs::path& out_dir,
                                          const SampleScorer& scorer) {
  const BackboneConfig& config = extractor.config();
  std::vector<SampleFiles> files;
  std::vector<SampleTensors> samples;
  std::vector<at::Tensor> rgbs, clouds;
  for (std::size_t i : indices) {
    files.push_back(test[i]);
    samples.push_back(load_sample(test[i], config.grid, config.vit.image_size));
    rgbs.push_back(samples.back().rgb);
    clouds.push_back(samples.back().cloud);
  }
  Stopwatch inference;
  const std::vector<SampleScore> scored = scorer(cache.outputs_batch(extractor, files, rgbs, clouds));
  CFM_ASSERT(scored.size() == indices.size());
  std::vector<ScoredSample> results;
  for (const SampleScore& s : scored)
    results.push_back({to_image(s.combined), ImageU8(config.grid, config.grid, 1), s.image_score, 0});
  const double seconds = inference.seconds() / static_cast<double>(indices.size());  // maps on the host
  for (std::size_t b = 0; b < indices.size(); ++b) {
    results[b].seconds = seconds;
    write_sample(out_dir, files[b], samples[b], scored[b], results[b]);
  }
  return results;
}

// `indices` in consecutive groups of at most `batch_size`.
std::vector<std::vector<std::size_t>> batches_of(const std::vector<std::size_t>& indices, int batch_size) {
  std::vector<std::vector<std::size_t>> batches;
  for (std::size_t first = 0; first < indices.size(); first += static_cast<std::size_t>(batch_size))
    batches.emplace_back(
        indices.begin() + static_cast<std::ptrdiff_t>(first),
        indices.begin() + static_cast<std::ptrdiff_t>(
                              std::min(indices.size(), first + static_cast<std::size_t>(batch_size))));
  return batches;
}

// What the metrics need of every sample, in test order.
struct Gathered {
  PixelMaps maps;
  std::vector<float> image_scores;  // empty when the scorer gives none
  double seconds = 0;               // inference, summed over the ranks
};

void keep(Gathered& g, ScoredSample&& s) {
  if (s.image_score) g.image_scores.push_back(*s.image_score);
  g.seconds += s.seconds;
  g.maps.scores.push_back(std::move(s.map));
  g.maps.masks.push_back(std::move(s.mask));
}

// Every rank's samples on every rank. They travel as one sum of float32 buffers in which each sample is
// non-zero on one rank only, so the gathered values are exactly the ones computed (x + 0 = x).
Gathered gather(std::vector<std::optional<ScoredSample>>& scored, RankGroup& ranks, int grid,
                const at::Device& device) {
  const auto n = static_cast<std::int64_t>(scored.size()), pixels = std::int64_t{grid} * grid;
  at::Tensor maps = torch::zeros({n, pixels}), masks = torch::zeros({n, pixels}),
             scores = torch::zeros({n + 2});  // image scores, then seconds and a "has image scores" count
  for (std::int64_t i = 0; i < n; ++i) {
    if (!scored[i]) continue;
    std::memcpy(maps.data_ptr<float>() + i * pixels, scored[i]->map.pixels.data(), pixels * sizeof(float));
    std::copy(scored[i]->mask.pixels.begin(), scored[i]->mask.pixels.end(),
              masks.data_ptr<float>() + i * pixels);
    scores[i] = scored[i]->image_score.value_or(0.f);
    scores[n] += static_cast<float>(scored[i]->seconds);
    scores[n + 1] += scored[i]->image_score ? 1.f : 0.f;
  }
  std::vector<at::Tensor> buffers = {maps.to(device), masks.to(device), scores.to(device)};
  ranks.all_reduce_sum(buffers);
  maps = buffers[0].cpu().contiguous();
  masks = buffers[1].cpu().to(torch::kUInt8).contiguous();
  scores = buffers[2].cpu().contiguous();
  Gathered g;
  for (std::int64_t i = 0; i < n; ++i) {
    ScoredSample s{Image<float>(grid, grid, 1), ImageU8(grid, grid, 1), std::nullopt, 0};
    std::memcpy(s.map.pixels.data(), maps.data_ptr<float>() + i * pixels, pixels * sizeof(float));
    std::memcpy(s.mask.pixels.data(), masks.data_ptr<std::uint8_t>() + i * pixels, pixels);
    if (scores[n + 1].item<float>() > 0) s.image_score = scores[i].item<float>();
    keep(g, std::move(s));
  }
  g.seconds = scores[n].item<double>();
  return g;
}

}  // namespace

CategoryEvaluation score_test_split(FeatureExtractor& extractor, FeatureCache& cache,
                                    const std::vector<SampleFiles>& test, const std::string& out_dir,
                                    const EvaluationOptions& options, RankGroup* ranks,
                                    const SampleScorer& scorer, int batch_size) {
  if (test.empty()) throw Error("no test samples");
  if (batch_size < 1) throw UsageError("infer_batch_size must be at least 1");
  torch::NoGradGuard no_grad;
  fs::create_directories(out_dir);
  const bool sharded = ranks && ranks->world_size() > 1;
  CategoryEvaluation result;
  Gathered all;
  std::vector<std::size_t> mine(test.size());
  std::iota(mine.begin(), mine.end(), std::size_t{0});
  if (sharded) mine = rank_share(test.size(), ranks->rank(), ranks->world_size());
  std::vector<std::optional<ScoredSample>> scored(test.size());
  for (const std::vector<std::size_t>& batch : batches_of(mine, batch_size)) {
    std::vector<ScoredSample> done = score_and_write(extractor, cache, test, batch, out_dir, scorer);
    for (std::size_t b = 0; b < batch.size(); ++b) {
      result.own_seconds += done[b].seconds;
      scored[batch[b]] = std::move(done[b]);
    }
  }
  if (!sharded) {
    for (std::optional<ScoredSample>& s : scored) keep(all, std::move(*s));
  } else {
    all = gather(scored, *ranks, extractor.config().grid, extractor.device());
  }
  result.seconds_per_sample = all.seconds / static_cast<double>(test.size());
  if (sharded && !ranks->is_root()) return result;  // rank 0 computes the metrics and writes the summaries
  Stopwatch metrics;
  result.metrics = evaluate_maps(all.maps, all.image_scores, options);
  result.metrics_seconds = metrics.seconds();
  std::ostringstream scores;
  scores << "map,score,label\n";
  for (std::size_t i = 0; i < test.size(); ++i)
    scores << test[i].defect << "/" << test[i].name << ".tiff," << result.metrics.image_scores[i] << ","
           << test[i].label << "\n";
  write_whole_file((fs::path(out_dir) / "scores.csv").string(), scores.str());
  write_whole_file((fs::path(out_dir) / "metrics.json").string(),
                   evaluation_json(result.metrics, options) + "\n");
  return result;
}

}  // namespace cfm
