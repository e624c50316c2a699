#include "common/models/scaled_softmax.h"

#include <fmt/format.h>

#include "common/util/error.h"

namespace cfm {

#if CFM_SOFTMAX_AVX
// One definition per instruction set, from scaled_softmax_kernel.cpp (see there).
namespace AVX2 {
void scaled_softmax_rows(float* scores, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                         float scale);
}
namespace AVX512 {
void scaled_softmax_rows(float* scores, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                         float scale);
}
#endif

bool simd_level_available(SimdLevel level) {
#if CFM_SOFTMAX_AVX
  // The feature sets LibTorch asks of the CPU for its own AVX2 and AVX-512 kernels.
  if (level == SimdLevel::Avx2) return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
  if (level == SimdLevel::Avx512)
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
           __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq") &&
           __builtin_cpu_supports("fma");
#endif
  (void)level;
  return false;
}

SimdLevel best_simd_level() {
  static const SimdLevel best = simd_level_available(SimdLevel::Avx512) ? SimdLevel::Avx512
                                : simd_level_available(SimdLevel::Avx2) ? SimdLevel::Avx2
                                                                        : SimdLevel::None;
  return best;
}

std::string simd_level_name(SimdLevel level) {
  switch (level) {
    case SimdLevel::None:
      return "none (LibTorch's softmax)";
    case SimdLevel::Avx2:
      return "AVX2";
    case SimdLevel::Avx512:
      return "AVX-512";
  }
  return "unknown";
}

void scaled_softmax_rows(float* scores, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                         float scale, SimdLevel level) {
  if (!simd_level_available(level))
    throw UsageError(fmt::format("the softmax kernel for {} is not in this build or not run by this CPU",
                                 simd_level_name(level)));
#if CFM_SOFTMAX_AVX
  if (level == SimdLevel::Avx512) return AVX512::scaled_softmax_rows(scores, rows, cols, row_stride, scale);
  return AVX2::scaled_softmax_rows(scores, rows, cols, row_stride, scale);
#else
  (void)scores, (void)rows, (void)cols, (void)row_stride, (void)scale;
#endif
}

}  // namespace cfm
