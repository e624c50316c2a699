#include "common/util/radix_sort.h"

#include <algorithm>
#include <array>

namespace cfm {

namespace {

template <typename Key>
void radix_sort_keys(std::vector<Key>& keys, int bits) {
  constexpr int kDigit = 11;
  constexpr std::size_t kBuckets = std::size_t{1} << kDigit;
  const int passes = (bits + kDigit - 1) / kDigit;
  // Every digit's histogram in one read of the keys; a digit all keys share needs no pass at all.
  std::vector<std::array<std::size_t, kBuckets>> counts(static_cast<std::size_t>(passes));
  for (auto& c : counts) c.fill(0);
  for (Key k : keys)
    for (int p = 0; p < passes; ++p)
      ++counts[static_cast<std::size_t>(p)][(k >> (p * kDigit)) & (kBuckets - 1)];
  std::vector<Key> buffer;
  for (int p = 0; p < passes; ++p) {
    auto& c = counts[static_cast<std::size_t>(p)];
    if (std::find(c.begin(), c.end(), keys.size()) != c.end()) continue;
    if (buffer.empty()) buffer.resize(keys.size());
    std::size_t total = 0;
    for (std::size_t& n : c) {
      const std::size_t here = n;
      n = total;
      total += here;
    }
    const int shift = p * kDigit;
    for (Key k : keys) buffer[c[(k >> shift) & (kBuckets - 1)]++] = k;  // stable
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
