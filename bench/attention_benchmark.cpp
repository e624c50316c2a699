// Benchmark (not a test): the CPU attention of one (image, head) pair on one thread, as the transformer
// blocks run it (q, k, v column slices of a qkv product, the result into a column slice), for a ViT-B/8
// head (785 tokens) and a Point-MAE head (1024 groups); the best of 30 runs each: the whole pair
// (scaled_dot_product_attention_into) and the share of its scale pass + softmax.
//
//   build/bench/cfm_attention_benchmark
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/models/attention.h"
#include "common/runtime/compute_process.h"
#include "common/runtime/thread_policy.h"

namespace {

template <typename Fn>
double best_ms(const Fn& fn) {
  double best = 1e30;
  for (int run = 0; run < 30; ++run) {
    const auto start = std::chrono::steady_clock::now();
    fn();
    best = std::min(
        best, std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  return best;
}

void benchmark_head(const char* name, std::int64_t tokens) {
  const std::int64_t d = 64, width = 768;
  const double scale = 0.125;
  torch::manual_seed(0);
  const at::Tensor qkv = torch::randn({tokens, 3 * width});
  const at::Tensor q = qkv.slice(1, 0, d), k = qkv.slice(1, width, width + d),
                   v = qkv.slice(1, 2 * width, 2 * width + d);
  at::Tensor attended = torch::empty({tokens, width});
  at::Tensor out = attended.slice(1, 0, d);
  const at::Tensor raw = at::mm(q, k.t());  // the unscaled scores, copied afresh before each softmax
  at::Tensor scores = raw.clone();

  const double copy = best_ms([&] { scores.copy_(raw); });
  const double softmax = best_ms([&] {
                           scores.copy_(raw);
                           at::_softmax_out(scores, scores.mul_(scale), -1, false);
                         }) -
                         copy;
  const double pair = best_ms([&] { cfm::scaled_dot_product_attention_into(out, q, k, v, scale); });
  std::printf("%s (%ld x %ld scores): pair %.3f ms, of which scale + softmax %.3f ms (%.0f %%)\n", name,
              tokens, tokens, pair, softmax, 100.0 * softmax / pair);
}

}  // namespace

int main() {
  cfm::prepare_compute_process(cfm::choose_thread_policy(1));  // one thread: one task of the blocks
  torch::NoGradGuard no_grad;
  std::printf("one thread; best of 30 runs\n");
  benchmark_head("ViT-B/8 head", 785);
  benchmark_head("Point-MAE head", 1024);
}
