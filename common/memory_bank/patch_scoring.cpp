#include "common/memory_bank/patch_scoring.h"

#include <torch/torch.h>

#include <cmath>

#include "common/util/error.h"

namespace cfm {
namespace {

constexpr std::int64_t kQueryChunk = 1024;  // query rows per block
constexpr std::int64_t kBankChunk = 4096;   // bank rows per block (a 16 MB float block of q·b)
constexpr int kReweightNeighbours = 3;      // M3DM's n_reweight: m* and its 2 nearest bank neighbours
constexpr double kBlurSigma = 4;

}  // namespace

NearestBankPatches nearest_bank_patches(const at::Tensor& queries, const at::Tensor& bank) {
  torch::NoGradGuard no_grad;
  CFM_ASSERT(queries.dim() == 2 && bank.dim() == 2 && queries.size(1) == bank.size(1) && bank.size(0) > 0);
  // ||q - b||² = ||q||² + ||b||² - 2 q·b, the expansion torch.cdist uses. The nearest row of q minimises
  // ||b||² - 2 q·b, so the blocks compute only that (one matrix product each, accumulated into a running
  // minimum: no full distance matrix, no square root per pair) and ||q||² is added to the minimum.
  const at::Tensor bank_squared = (bank * bank).sum(1);
  std::vector<at::Tensor> distances, indices;
  for (std::int64_t first = 0; first < queries.size(0); first += kQueryChunk) {
    at::Tensor chunk = queries.narrow(0, first, std::min(kQueryChunk, queries.size(0) - first));
    at::Tensor best, best_index;
    for (std::int64_t row = 0; row < bank.size(0); row += kBankChunk) {
      const std::int64_t rows = std::min(kBankChunk, bank.size(0) - row);
      at::Tensor partial =
          torch::addmm(bank_squared.narrow(0, row, rows), chunk, bank.narrow(0, row, rows).t(),
                       /*beta=*/1, /*alpha=*/-2);
      auto [value, index] = partial.min(1);
      if (!best.defined()) {
        best = value;
        best_index = index;
        continue;
      }
      at::Tensor better = value < best;  // ties keep the earlier (lower) row, as a single min would
      best = torch::where(better, value, best);
      best_index = torch::where(better, index + row, best_index);
    }
    distances.push_back((best + (chunk * chunk).sum(1)).clamp_min(0).sqrt());
    indices.push_back(best_index);
  }
  return {torch::cat(distances), torch::cat(indices)};
}

double reweighting_factor(double s_star, const std::vector<double>& neighbour_distances, std::int64_t width) {
  const double root = std::sqrt(static_cast<double>(width));
  double sum = 0;
  for (double d : neighbour_distances) sum += std::exp(d / root);
  return 1 - std::exp(s_star / root) / sum;
}

ModalityScore score_modality(const at::Tensor& patches, const at::Tensor& bank, int side, int grid,
                             double distance_scale) {
  torch::NoGradGuard no_grad;
  CFM_ASSERT(patches.size(0) == std::int64_t{side} * side);
  NearestBankPatches nearest = nearest_bank_patches(patches, bank);
  at::Tensor worst = nearest.distance.argmax();
  const double s_star = nearest.distance.index_select(0, worst.reshape({1})).item<double>() * distance_scale;
  // m*: the bank patch nearest to the most anomalous test patch; its own nearest bank rows (itself first).
  at::Tensor m_star = bank.index_select(0, nearest.index.index_select(0, worst.reshape({1})));
  const std::int64_t k = std::min<std::int64_t>(kReweightNeighbours, bank.size(0));
  at::Tensor around = std::get<1>(torch::cdist(m_star, bank).topk(k, 1, /*largest=*/false)).reshape({-1});
  ModalityScore score;
  if (k > 1) {
    at::Tensor m_test = patches.index_select(0, worst.reshape({1}));
    at::Tensor to_neighbours = (m_test - bank.index_select(0, around.narrow(0, 1, k - 1))).norm(2, 1).cpu();
    std::vector<double> d(to_neighbours.data_ptr<float>(), to_neighbours.data_ptr<float>() + (k - 1));
    for (double& distance : d) distance *= distance_scale;
    score.image_score = reweighting_factor(s_star, d, patches.size(1)) * s_star;
  } else {
    score.image_score = s_star;  // a one-row bank has no neighbourhood to weigh by
  }
  at::Tensor map = torch::upsample_bilinear2d(nearest.distance.reshape({1, 1, side, side}), {grid, grid},
                                              /*align_corners=*/false);
  score.map = gaussian_blur(map.reshape({grid, grid}).cpu(), kBlurSigma);
  return score;
}

at::Tensor gaussian_blur(const at::Tensor& map, double sigma) {
  torch::NoGradGuard no_grad;
  CFM_ASSERT(map.dim() == 2 && sigma > 0);
  const auto radius = static_cast<std::int64_t>(4 * sigma + 0.5);
  at::Tensor x = torch::arange(-radius, radius + 1, torch::kFloat64);
  at::Tensor kernel = (-(x * x) / (2 * sigma * sigma)).exp();
  kernel = (kernel / kernel.sum()).to(torch::kFloat32);
  at::Tensor image = map.to(torch::kFloat32).reshape({1, 1, map.size(0), map.size(1)});
  at::Tensor padded = torch::replication_pad2d(image, {radius, radius, radius, radius});
  at::Tensor rows = torch::conv2d(padded, kernel.reshape({1, 1, 1, -1}));
  return torch::conv2d(rows, kernel.reshape({1, 1, -1, 1})).reshape({map.size(0), map.size(1)});
}

}  // namespace cfm
