// The row kernel of scaled_softmax.h, compiled once per instruction set: CMake defines CPU_CAPABILITY
// (AVX2 or AVX512, the names LibTorch's own kernels use) and CPU_CAPABILITY_AVX2 / CPU_CAPABILITY_AVX512
// with the matching -m flags, which select at::vec's Vectorized<float> of that width. Each compilation
// defines cfm::CPU_CAPABILITY::scaled_softmax_rows.
#include <ATen/cpu/vec/functional.h>
#include <ATen/cpu/vec/vec.h>

#include <cstdint>

namespace cfm {
namespace CPU_CAPABILITY {

using Vec = at::vec::Vectorized<float>;

// One row, in the steps of LibTorch's _vec_softmax_lastdim (max; exp(x - max); their sum; times 1 / sum),
// each a pass over the row while it is in the L1 cache, with x = score * scale formed where the exp reads
// it. fl(score * scale) is monotonic in the score for scale > 0, so max(x) is the scaled max(score).
void scaled_softmax_row(float* row, std::int64_t cols, float scale) {
  const float max =
      at::vec::reduce_all<float>([](Vec& a, Vec& b) { return at::vec::maximum(a, b); }, row, cols);
  const Vec shift(max * scale), factor(scale);
  at::vec::map([&](Vec score) { return (score * factor - shift).exp(); }, row, row, cols);
  const float sum = at::vec::reduce_all<float>([](Vec& a, Vec& b) { return a + b; }, row, cols);
  const Vec inverse(1.f / sum);
  at::vec::map([&](Vec e) { return e * inverse; }, row, row, cols);
}

void scaled_softmax_rows(float* scores, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                         float scale) {
  for (std::int64_t r = 0; r < rows; ++r) scaled_softmax_row(scores + r * row_stride, cols, scale);
}

}  // namespace CPU_CAPABILITY
}  // namespace cfm
