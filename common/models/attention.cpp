#include "common/models/attention.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <cmath>
#include <thread>

namespace cfm {

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        double scale) {
  int exponent = 0;
  const bool exact_shift = std::frexp(scale, &exponent) == 0.5;
  at::Tensor scores = exact_shift ? torch::matmul(q * scale, k.transpose(-2, -1))
                                  : torch::matmul(q, k.transpose(-2, -1)) * scale;
  at::Tensor weights = at::empty_like(scores);
  const std::int64_t rows = scores.numel() / scores.size(-1);
  at::Tensor s2 = scores.view({rows, scores.size(-1)}), w2 = weights.view({rows, scores.size(-1)});
  const std::int64_t half = rows / 2;
  std::thread helper([&] {
    at::set_num_threads(1);
    at::NoGradGuard ng;
    at::Tensor out = w2.slice(0, half);
    at::_softmax_out(out, s2.slice(0, half), -1, false);
  });
  at::Tensor out = w2.slice(0, 0, half);
  at::_softmax_out(out, s2.slice(0, 0, half), -1, false);
  helper.join();
  return torch::matmul(weights, v);
}

}  // namespace cfm
