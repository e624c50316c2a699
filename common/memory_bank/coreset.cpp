#include "common/memory_bank/coreset.h"

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <vector>

#include "common/util/error.h"

namespace cfm {

std::int64_t johnson_lindenstrauss_dim(std::int64_t samples, double eps) {
  CFM_ASSERT(samples > 0 && eps > 0 && eps < 1);
  const double denominator = eps * eps / 2 - eps * eps * eps / 3;
  return static_cast<std::int64_t>(4 * std::log(static_cast<double>(samples)) / denominator);
}

at::Tensor sparse_random_projection(std::int64_t features, std::int64_t components, std::uint64_t seed) {
  CFM_ASSERT(features > 0 && components > 0);
  at::Generator generator = at::make_generator<at::CPUGeneratorImpl>(seed);
  const double density = 1 / std::sqrt(static_cast<double>(features));
  const double scale = std::sqrt(1 / density) / std::sqrt(static_cast<double>(components));
  at::Tensor u = torch::rand({features, components}, generator);
  // P(+scale) = P(-scale) = density / 2, 0 otherwise.
  at::Tensor positive = (u < density / 2).to(torch::kFloat32),
             negative = (u >= 1 - density / 2).to(torch::kFloat32);
  return (positive - negative) * static_cast<float>(scale);
}

at::Tensor greedy_k_center(const at::Tensor& rows, std::int64_t count) {
  torch::NoGradGuard no_grad;
  CFM_ASSERT(rows.dim() == 2 && rows.size(0) > 0);
  count = std::clamp<std::int64_t>(count, 1, rows.size(0));
  // Squared distances by |a|² - 2 a·b + |b|² (one matrix-vector product per step instead of an N x D
  // difference), in double so that the expansion loses nothing the selection could notice. Selections stay
  // tensors on the rows' device: no host round trip per step on a GPU.
  const at::Tensor z = rows.to(torch::kFloat64);
  const at::Tensor squared_norms = (z * z).sum(1);
  auto squared_distances = [&](const at::Tensor& index) {
    at::Tensor last = z.index_select(0, index).reshape({-1});
    return (squared_norms - 2 * z.matmul(last) + last.dot(last)).clamp_min(0);
  };
  std::vector<at::Tensor> chosen = {torch::zeros({1}, rows.options().dtype(torch::kInt64))};
  at::Tensor nearest = squared_distances(chosen.back());  // to the chosen set, squared
  for (std::int64_t step = 1; step < count; ++step) {
    at::Tensor next = nearest.argmax().reshape({1});
    chosen.push_back(next);
    nearest = torch::minimum(nearest, squared_distances(next));
    nearest.index_fill_(0, next, 0.0);
  }
  return torch::cat(chosen).cpu();
}

at::Tensor coreset_indices(const at::Tensor& bank, std::int64_t count, double eps, std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  const std::int64_t dim = johnson_lindenstrauss_dim(bank.size(0), eps);
  // scikit-learn refuses a dimension that is not positive or exceeds the feature count; M3DM then uses the
  // rows unprojected.
  if (dim <= 0 || dim > bank.size(1)) return greedy_k_center(bank, count);
  at::Tensor projection = sparse_random_projection(bank.size(1), dim, seed).to(bank.device());
  return greedy_k_center(bank.matmul(projection), count);
}

}  // namespace cfm
