#include "common/models/attention.h"

#include <torch/torch.h>

#include <cmath>

namespace cfm {

at::Tensor scaled_dot_product_attention(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                        double scale) {
  int exponent = 0;
  const bool exact_shift = std::frexp(scale, &exponent) == 0.5;
  at::Tensor scores = exact_shift ? torch::matmul(q * scale, k.transpose(-2, -1))
                                  : torch::matmul(q, k.transpose(-2, -1)) * scale;
  if (scores.is_cpu() && !scores.requires_grad()) {
    at::_softmax_out(scores, scores, -1, false);  // in place: the scores are still in the cache
    return torch::matmul(scores, v);
  }
  return torch::matmul(torch::softmax(scores, -1), v);
}

}  // namespace cfm
