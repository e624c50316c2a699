#include "common/cfm/trainer.h"

#include <ATen/CPUGeneratorImpl.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <cmath>
#include <optional>

#include "common/distributed/rank_group.h"
#include "common/features/sample_loader.h"
#include "common/runtime/thread_policy.h"
#include "common/util/error.h"
#include "common/util/stopwatch.h"

namespace cfm {
namespace {

// The non-empty pixels' features of one sample: rgb rows and xyz rows, from aligned features.
std::pair<at::Tensor, at::Tensor> selected_rows(const AlignedFeatures& a) {
  at::Tensor keep = (~a.empty).nonzero().squeeze(1);
  return {a.rgb_patch.index_select(0, keep), a.xyz_patch.index_select(0, keep)};
}

// The rows of the samples a rank takes from a batch, or none (0 x width) when it takes no sample.
at::Tensor rows_or_none(const std::vector<at::Tensor>& rows, std::int64_t width, const at::Device& device) {
  return rows.empty() ? torch::zeros({0, width}, torch::TensorOptions().device(device)) : torch::cat(rows);
}

// One process alone: the batch's masked cosine losses, both directions, averaged over its non-empty
// pixels (§4.2), and their gradients. Returns the loss.
double backward_whole_batch(CrossmodalMappers& mappers, const at::Tensor& rgb, const at::Tensor& xyz) {
  if (rgb.size(0) == 0) throw Error("a training batch has no pixel with a 3D feature (empty point clouds?)");
  at::Tensor loss_3d = 1 - torch::cosine_similarity(mappers.to_3d->forward(rgb), xyz, 1, 1e-6).mean();
  at::Tensor loss_2d = 1 - torch::cosine_similarity(mappers.to_2d->forward(xyz), rgb, 1, 1e-6).mean();
  at::Tensor loss = loss_3d + loss_2d;
  double value = loss.item<double>();
  if (std::isfinite(value)) loss.backward();
  return value;
}

// Several ranks: this rank's part of the same losses (its pixels' terms over the batch's pixel count on all
// ranks), then gradients and loss summed over the ranks, so that every rank holds the whole batch's
// gradients. Returns the whole batch's loss.
double backward_batch_share(CrossmodalMappers& mappers, const at::Tensor& rgb, const at::Tensor& xyz,
                            std::vector<at::Tensor>& parameters, RankGroup& ranks) {
  std::vector<at::Tensor> count = {
      torch::full({1}, static_cast<double>(rgb.size(0)), torch::dtype(torch::kFloat64).device(rgb.device()))};
  ranks.all_reduce_sum(count);
  const double pixels = count[0].item<double>();
  if (pixels == 0) throw Error("a training batch has no pixel with a 3D feature (empty point clouds?)");
  at::Tensor loss_3d =
      (1 - torch::cosine_similarity(mappers.to_3d->forward(rgb), xyz, 1, 1e-6)).sum() / pixels;
  at::Tensor loss_2d =
      (1 - torch::cosine_similarity(mappers.to_2d->forward(xyz), rgb, 1, 1e-6)).sum() / pixels;
  at::Tensor loss = loss_3d + loss_2d;
  loss.backward();
  std::vector<at::Tensor> summed;
  for (const at::Tensor& p : parameters)
    summed.push_back(p.grad().defined() ? p.grad() : torch::zeros_like(p));
  summed.push_back(loss.detach().reshape({1}));
  ranks.all_reduce_sum(summed);  // in place: the defined gradients are summed where they are
  for (std::size_t i = 0; i < parameters.size(); ++i)
    if (!parameters[i].grad().defined()) parameters[i].mutable_grad() = summed[i];
  return summed.back().item<double>();
}

}  // namespace

TrainReport train_mappers(CrossmodalMappers& mappers, FeatureExtractor& extractor, FeatureCache& cache,
                          const std::vector<SampleFiles>& train, const TrainOptions& o,
                          const std::function<void(int, double)>& progress) {
  if (train.empty()) throw Error("no training samples");
  if (o.epochs < 1 || o.batch_size < 1) throw UsageError("epochs and batch size must be at least 1");
  const BackboneConfig& config = extractor.config();
  const bool official = config.mode == BackboneMode::Official;
  // One rank alone trains exactly as a process without ranks (the same arithmetic, bit for bit).
  RankGroup* ranks = o.ranks && o.ranks->world_size() > 1 ? o.ranks : nullptr;
  const int world = ranks ? ranks->world_size() : 1, rank = ranks ? ranks->rank() : 0;
  // Eval mode: backbone outputs are computed (or read from the cache) once, as they do not change between
  // epochs, so later epochs run no backbone. Official mode keeps the inputs and reruns the backbones.
  Stopwatch prepare;
  std::vector<BackboneOutputs> prepared(train.size());
  std::vector<bool> own(train.size(), false);
  if (ranks && !official && cache.enabled()) {
    // Each rank computes the backbone outputs of its share into the cache; below, the rest are cache hits.
    for (std::size_t i : rank_share(train.size(), rank, world)) {
      SampleTensors sample = load_sample(train[i], config.grid, config.vit.image_size);
      prepared[i] = cache.outputs(extractor, train[i], sample.rgb, sample.cloud);
      own[i] = true;
    }
    ranks->barrier();
  }
  std::vector<SampleTensors> inputs(official ? train.size() : 0);
  for (std::size_t i = 0; i < train.size(); ++i) {
    if (own[i]) continue;  // computed just above
    SampleTensors sample = load_sample(train[i], config.grid, config.vit.image_size);
    if (official)
      inputs[i] = std::move(sample);
    else
      prepared[i] = cache.outputs(extractor, train[i], sample.rgb, sample.cloud);
  }
  const double prepare_seconds = prepare.seconds();
  // Eval mode: the loss rows of a sample (its aligned non-empty pixels) are the same every epoch, so they
  // are kept in memory while they fit the budget; beyond it they are recomputed (same values either way).
  std::vector<std::pair<at::Tensor, at::Tensor>> kept_rows(train.size());
  std::size_t kept_bytes = 0;
  auto loss_rows = [&](std::size_t i) -> std::pair<at::Tensor, at::Tensor> {
    if (kept_rows[i].first.defined()) return kept_rows[i];
    std::pair<at::Tensor, at::Tensor> rows = selected_rows(
        extractor.align(official ? extractor.extract(inputs[i].rgb, inputs[i].cloud) : prepared[i]));
    std::size_t bytes =
        (rows.first.numel() * rows.first.element_size()) + (rows.second.numel() * rows.second.element_size());
    if (!official && kept_bytes + bytes <= o.aligned_cache_bytes) {
      kept_rows[i] = rows;
      kept_bytes += bytes;
    }
    return rows;
  };
  at::Generator shuffle = at::make_generator<at::CPUGeneratorImpl>(o.seed);
  // The networks train where the features are (before the optimiser takes their parameters).
  mappers.to_3d->to(extractor.device());
  mappers.to_2d->to(extractor.device());
  std::vector<at::Tensor> parameters;
  for (auto* network : {&mappers.to_3d, &mappers.to_2d})
    for (const at::Tensor& p : (*network)->parameters()) parameters.push_back(p);
  if (ranks) {  // the same start on every rank, whatever each initialised
    std::vector<at::Tensor> values;
    for (const at::Tensor& p : parameters) values.push_back(p.detach());
    ranks->broadcast_from_root(values);
  }
  torch::optim::Adam optimizer(parameters, torch::optim::AdamOptions(o.learning_rate));
  const std::int64_t rgb_width = extractor.vit().dim(), xyz_width = extractor.point_mae().output_channels();
  mappers.to_3d->train();
  mappers.to_2d->train();
  TrainReport report;
  report.prepare_seconds = prepare_seconds;
  // Eval mode: the epochs run the networks only (backbone outputs come from the cache).
  std::optional<WideIntraOpThreads> wide;
  if (!official) wide.emplace();
  for (int epoch = 0; epoch < o.epochs; ++epoch) {
    Stopwatch epoch_time;
    at::Tensor order =
        torch::randperm(static_cast<std::int64_t>(train.size()), shuffle, torch::kInt64);  // shuffle = True
    double loss_sum = 0;
    int batches = 0;
    for (std::int64_t first = 0; first < order.size(0); first += o.batch_size) {
      const std::int64_t end = std::min<std::int64_t>(order.size(0), first + o.batch_size);
      std::vector<at::Tensor> rgb_rows, xyz_rows;
      for (std::int64_t j = first + rank; j < end; j += world) {  // this rank's samples of the batch
        auto i = static_cast<std::size_t>(order[j].item<std::int64_t>());
        auto [rgb, xyz] = loss_rows(i);
        rgb_rows.push_back(rgb);
        xyz_rows.push_back(xyz);
      }
      at::Tensor rgb = rows_or_none(rgb_rows, rgb_width, extractor.device()),
                 xyz = rows_or_none(xyz_rows, xyz_width, extractor.device());
      optimizer.zero_grad();
      double value = ranks ? backward_batch_share(mappers, rgb, xyz, parameters, *ranks)
                           : backward_whole_batch(mappers, rgb, xyz);
      if (!std::isfinite(value))
        throw Error(fmt::format("training loss is {} at epoch {}", value, epoch + 1));
      optimizer.step();
      loss_sum += value;
      ++batches;
    }
    report.epoch_loss.push_back(loss_sum / batches);
    report.epoch_seconds.push_back(epoch_time.seconds());
    if (progress) progress(epoch + 1, report.epoch_loss.back());
  }
  mappers.to_3d->eval();
  mappers.to_2d->eval();
  if (ranks) report.communication_seconds = ranks->communication_seconds();
  return report;
}

}  // namespace cfm
