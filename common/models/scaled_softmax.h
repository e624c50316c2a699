// The attention's softmax over rows of scores with the scale folded in: row <- softmax(row * scale), in
// place, in the steps of LibTorch's CPU softmax (the row's maximum, exp(x - max) with Sleef's exp, their
// sum, times 1 / sum), each step a pass over one row while it is in the L1 cache, where LibTorch would
// take a scale pass and a softmax pass over the whole n x n matrix. The CPU attention (attention.h) calls
// it on each (image, head) pair's scores.
//
// One source (scaled_softmax_kernel.cpp) is compiled for AVX2 and for AVX-512, as LibTorch compiles its
// own kernels, where Sleef (libsleef-dev) and an x86-64 compiler are there; the widest level this CPU
// runs is chosen at run time. Where neither is, the attention uses LibTorch's softmax (SimdLevel::None).
//
// Values: the AVX2 kernel gives the same floats as at::softmax(scores * scale) with LibTorch 1.13's default
// x86 kernels (AVX2), whose steps it copies; LibTorch 2's softmax computes otherwise, and there the two
// agree to float rounding (up to 1.8e-7 measured on 2.6). The AVX-512 kernel adds the exponentials in 16
// lanes instead of 8 (float rounding: up to ~6e-8 on weights <= 1) and is 1.4-1.6x faster than LibTorch's
// softmax (cfm_attention_benchmark).
#pragma once

#include <cstdint>
#include <string>

namespace cfm {

enum class SimdLevel { None, Avx2, Avx512 };

// The widest level both this build and this CPU offer (None: no kernel here).
SimdLevel best_simd_level();
// Whether this build holds the level's kernel and this CPU runs it (None: never).
bool simd_level_available(SimdLevel level);
std::string simd_level_name(SimdLevel level);

// scores: rows x cols floats, row r at scores + r * row_stride; scale > 0. Throws UsageError for a level
// that simd_level_available() denies.
void scaled_softmax_rows(float* scores, std::int64_t rows, std::int64_t cols, std::int64_t row_stride,
                         float scale, SimdLevel level = best_simd_level());

}  // namespace cfm
