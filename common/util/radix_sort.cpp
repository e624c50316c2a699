#include "common/util/radix_sort.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <numeric>
#include <utility>

#include "common/util/error.h"

namespace cfm {

namespace {

constexpr int kDigitBits = 8;
constexpr std::size_t kDigitValues = std::size_t{1} << kDigitBits;
constexpr int kTopBits = 16;  // the most significant digit of the first pass
constexpr std::size_t kTopValues = std::size_t{1} << kTopBits;
// Fewer keys than this: the top pass's 64 K-entry histogram would cost more than it saves.
constexpr std::size_t kTopPassFrom = std::size_t{1} << 16;
constexpr std::size_t kComparisonSortBelow = 64;  // tiny ranges: a comparison sort

// Sorts keys[0, n) by their bits [0, bits) (higher bits equal), 8-bit digits from the least significant;
// `scratch` holds n keys. A digit every key shares costs no pass.
template <typename Key>
void lsd_sort(Key* keys, Key* scratch, std::size_t n, int bits) {
  if (n < kComparisonSortBelow) {
    std::sort(keys, keys + n);
    return;
  }
  const int passes = (bits + kDigitBits - 1) / kDigitBits;
  std::array<std::array<std::size_t, kDigitValues>, sizeof(Key)> counts{};
  for (std::size_t i = 0; i < n; ++i)
    for (int p = 0; p < passes; ++p)
      ++counts[static_cast<std::size_t>(p)][(keys[i] >> (p * kDigitBits)) & 0xff];
  Key *from = keys, *to = scratch;
  for (int p = 0; p < passes; ++p) {
    auto& c = counts[static_cast<std::size_t>(p)];
    if (std::find(c.begin(), c.end(), n) != c.end()) continue;
    std::size_t total = 0;
    for (std::size_t& count : c) total += std::exchange(count, total);
    const int shift = p * kDigitBits;
    for (std::size_t i = 0; i < n; ++i) to[c[(from[i] >> shift) & 0xff]++] = from[i];  // stable
    std::swap(from, to);
  }
  if (from != keys) std::memcpy(keys, from, n * sizeof(Key));
}

// Large inputs: one pass on the top 16 bits spreads the keys into buckets small enough for the cache, then
// each bucket gets LSD passes over its remaining bits. (LSD passes over the whole array write to
// thousands of places at once in memory far larger than the cache: ~2x slower on 6.5 M keys.)
template <typename Key>
void radix_sort_keys(Key* keys, std::size_t n, int bits) {
  if (n < 2) return;
  std::vector<Key> buffer(n);
  if (n < kTopPassFrom || bits <= kTopBits) {
    lsd_sort(keys, buffer.data(), n, bits);
    return;
  }
  const int shift = bits - kTopBits;
  std::vector<std::size_t> starts(kTopValues + 1, 0);
  for (std::size_t i = 0; i < n; ++i) ++starts[(keys[i] >> shift) + 1];
  std::partial_sum(starts.begin(), starts.end(), starts.begin());
  std::vector<std::size_t> next(starts.begin(), starts.end() - 1);
  for (std::size_t i = 0; i < n; ++i) buffer[next[keys[i] >> shift]++] = keys[i];
  for (std::size_t b = 0; b < kTopValues; ++b)
    lsd_sort(buffer.data() + starts[b], keys + starts[b], starts[b + 1] - starts[b], shift);
  std::memcpy(keys, buffer.data(), n * sizeof(Key));
}

}  // namespace

void radix_sort(std::vector<std::uint64_t>& keys, int bits) {
  radix_sort_keys(keys.data(), keys.size(), bits);
}
void radix_sort(std::vector<std::uint32_t>& keys, int bits) {
  radix_sort_keys(keys.data(), keys.size(), bits);
}
void radix_sort(std::uint32_t* keys, std::size_t n, int bits) { radix_sort_keys(keys, n, bits); }

void sort_floats(std::vector<float>& values) {
  std::vector<std::uint32_t> keys(values.size());
  for (std::size_t i = 0; i < values.size(); ++i) keys[i] = ordered_bits(values[i]);
  radix_sort(keys, 32);
  for (std::size_t i = 0; i < values.size(); ++i) values[i] = from_ordered_bits(keys[i]);
}

// A radix select: the keys' top 20 bits are counted (a 1 M-entry histogram, of which a category's scores
// touch a few thousand entries), only the buckets holding a wanted position are gathered, and those few
// small buckets are sorted. Two reads of the values, no copy of them.
std::vector<float> sorted_values_at(const std::vector<float>& values,
                                    const std::vector<std::size_t>& positions) {
  constexpr int kSelectBits = 20, kShift = 32 - kSelectBits;
  constexpr std::size_t kBuckets = std::size_t{1} << kSelectBits;
  std::vector<std::size_t> starts(kBuckets + 1, 0);  // where each bucket begins in the sorted order
  for (float v : values) ++starts[(ordered_bits(v) >> kShift) + 1];
  std::partial_sum(starts.begin(), starts.end(), starts.begin());
  auto bucket_holding = [&](std::size_t position) {
    CFM_ASSERT(position < values.size());
    return static_cast<std::size_t>(std::upper_bound(starts.begin(), starts.end(), position) -
                                    starts.begin()) -
           1;
  };
  std::vector<std::uint8_t> wanted(kBuckets, 0);
  for (std::size_t position : positions) wanted[bucket_holding(position)] = 1;
  const SortedBuckets sorted = gather_sorted_buckets(
      [&](auto&& f) {
        for (float v : values) f(ordered_bits(v));
      },
      starts, wanted, kShift);
  std::vector<float> result;
  for (std::size_t position : positions) {
    const std::size_t bucket = bucket_holding(position);
    const std::uint32_t low = sorted.low_bits[sorted.start[bucket] + position - starts[bucket]];
    result.push_back(from_ordered_bits(static_cast<std::uint32_t>(bucket << kShift) | low));
  }
  return result;
}

}  // namespace cfm
