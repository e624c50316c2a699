#include "common/util/radix_sort.h"

#include <array>

namespace cfm {

namespace {

template <typename Key>
void radix_sort_keys(std::vector<Key>& keys, int bits) {
  constexpr int kDigit = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigit;
  std::vector<Key> buffer(keys.size());
  for (int shift = 0; shift < bits; shift += kDigit) {
    std::array<std::size_t, kBuckets> counts{};
    for (Key k : keys) ++counts[(k >> shift) & (kBuckets - 1)];
    std::size_t total = 0;
    for (std::size_t& c : counts) {
      std::size_t n = c;
      c = total;
      total += n;
    }
    for (Key k : keys) buffer[counts[(k >> shift) & (kBuckets - 1)]++] = k;  // stable
    keys.swap(buffer);
  }
}

}  // namespace

void radix_sort(std::vector<std::uint64_t>& keys, int bits) { radix_sort_keys(keys, bits); }
void radix_sort(std::vector<std::uint32_t>& keys, int bits) { radix_sort_keys(keys, bits); }

void sort_floats(std::vector<float>& values) {
  std::vector<std::uint32_t> keys(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) keys[i] = ordered_bits(values[i]);
  radix_sort(keys, 32);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = from_ordered_bits(keys[i]);
}

}  // namespace cfm
