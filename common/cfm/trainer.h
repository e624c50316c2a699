// Training the two mapping networks on nominal samples (docs/method.md §4.2): per batch, the masked cosine
// losses in both directions over the batch's non-empty pixels, one Adam step (PyTorch defaults) on both
// networks. The networks run only on the pixels that enter the loss, which gives the same losses with
// far less work. Backbone outputs come from the feature cache in eval mode.
//
// Data parallel over the ranks of a RankGroup (docs/architecture.md §4): every rank draws the same
// shuffle, takes every world_size-th sample of each global batch, and computes its part of the batch's
// loss (sum over its pixels divided by the batch's pixel count over all ranks); the gradients are summed
// over the ranks before each Adam step, so every rank takes the step a single process would take on the
// whole batch (equal to rounding). In eval mode the ranks first compute the backbone outputs of their
// share of the samples into the feature cache.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/cfm/mapping_network.h"
#include "common/data/dataset.h"
#include "common/features/feature_cache.h"
#include "common/features/feature_extractor.h"

namespace cfm {

class RankGroup;

struct TrainOptions {
  int epochs = 50;
  int batch_size = 4;
  double learning_rate = 1e-3;
  std::uint64_t seed = 115;
  // Eval mode: aligned loss rows kept in memory across epochs up to this many bytes (0 = realign every
  // epoch).
  std::size_t aligned_cache_bytes = std::size_t{2} << 30;
  RankGroup* ranks = nullptr;  // the job's ranks; nullptr: this process alone
};

struct TrainReport {
  std::vector<double> epoch_loss;  // mean of (loss_2Dto3D + loss_3Dto2D) over the epoch's batches
  std::vector<double> epoch_seconds;
  double prepare_seconds =
      0;  // reading the samples (and, in eval mode, their backbone outputs) before epoch 1
  double communication_seconds = 0;  // waiting in collectives (several ranks)
};

// Calls `progress(epoch, loss)` after every epoch. Throws Error when a loss is NaN/Inf (as the official
// loop exits) or a sample has no 3D pixel at all.
TrainReport train_mappers(CrossmodalMappers& mappers, FeatureExtractor& extractor, FeatureCache& cache,
                          const std::vector<SampleFiles>& train, const TrainOptions& options,
                          const std::function<void(int, double)>& progress = {});

}  // namespace cfm
