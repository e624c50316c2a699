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
  return torch::matmul(torch::softmax(scores, -1), v);
}

void scaled_dot_product_attention_into(at::Tensor out, const at::Tensor& q, const at::Tensor& k,
                                       const at::Tensor& v, double scale) {
  TORCH_CHECK(q.dim() == 2 && k.dim() == 2 && v.dim() == 2 && out.dim() == 2, "attention of one pair: 2-D");
  TORCH_CHECK(q.is_cpu() && q.scalar_type() == at::kFloat && !q.requires_grad() && !k.requires_grad() &&
                  !v.requires_grad(),
              "the in-place attention is for CPU float32 tensors without autograd");
  at::Tensor scores = at::empty({q.size(0), k.size(0)}, q.options());
  at::mm_out(scores, q, k.t());
  at::_softmax_out(scores, scores.mul_(scale), -1, false);  // in place: the scores are in the cache
  at::mm_out(out, scores, v);
}

}  // namespace cfm
