// Radix sort of unsigned keys, order statistics without a full sort, and an order-preserving
// float -> uint32 map. The metrics sort millions of pixel scores (about 6.5 M per MVTec category); the
// radix sort is ~8x faster than std::sort there (6.3 M floats: 55-75 ms, buffer included, vs ~530 ms on
// the 2-core CI VM).
#pragma once

#include <cstdint>
#include <cstring>
#include <vector>

namespace cfm {

// Sorts `keys` ascending by their lowest `bits` bits (higher bits must be zero).
void radix_sort(std::vector<std::uint64_t>& keys, int bits);
void radix_sort(std::vector<std::uint32_t>& keys, int bits = 32);
void radix_sort(std::uint32_t* keys, std::size_t n, int bits = 32);

// Sorts floats ascending (through ordered_bits keys).
void sort_floats(std::vector<float>& values);

// The values a sorted copy of `values` would hold at `positions` (each < values.size()): only the keys
// sharing their top 20 bits with a wanted position are gathered and sorted.
std::vector<float> sorted_values_at(const std::vector<float>& values,
                                    const std::vector<std::size_t>& positions);

// Monotonic map: a < b (as floats) <=> ordered_bits(a) < ordered_bits(b); -0.0 and +0.0 map to the same
// key. NaN must not occur.
inline std::uint32_t ordered_bits(float f) {
  if (f == 0.f) f = 0.f;
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return (u & 0x80000000u) ? ~u : (u | 0x80000000u);
}

inline float from_ordered_bits(std::uint32_t k) {
  std::uint32_t u = (k & 0x80000000u) ? (k & 0x7fffffffu) : ~k;
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace cfm
