// Portable random numbers and value noise for the synthetic dataset. std::*_distribution differs between
// standard libraries; these are defined bit-for-bit from std::mt19937_64 so that a seed gives the same
// dataset everywhere.
#pragma once

#include <cmath>
#include <cstdint>
#include <random>
#include <string>

#include "common/util/seed.h"

namespace cfm::synth {

class Rng {
 public:
  explicit Rng(std::uint64_t seed) : engine_(seed) {}
  // Uniform in [0, 1).
  double uniform() { return static_cast<double>(engine_() >> 11) * (1.0 / 9007199254740992.0); }
  double uniform(double lo, double hi) { return lo + (hi - lo) * uniform(); }
  // Standard normal (Box-Muller).
  double normal() {
    double u1 = 1.0 - uniform(), u2 = uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
  }
  int index(int n) { return static_cast<int>(uniform() * n); }
  std::uint64_t bits() { return engine_(); }

 private:
  std::mt19937_64 engine_;
};

// Seed of one sample, derived from the dataset seed and the sample's identity, so samples are
// independent of generation order (and can be generated in parallel).
inline std::uint64_t sample_seed(std::uint64_t seed, const std::string& identity) {
  return derive_seed(seed, identity);
}

// Smooth 2D value noise in [0, 1] with fractal octaves.
class ValueNoise {
 public:
  explicit ValueNoise(std::uint64_t seed) : seed_(seed) {}
  double at(double x, double y) const {
    double fx = std::floor(x), fy = std::floor(y);
    auto ix = static_cast<std::int64_t>(fx), iy = static_cast<std::int64_t>(fy);
    double tx = smooth(x - fx), ty = smooth(y - fy);
    double a = lattice(ix, iy), b = lattice(ix + 1, iy), c = lattice(ix, iy + 1), d = lattice(ix + 1, iy + 1);
    return (a + (b - a) * tx) + ((c + (d - c) * tx) - (a + (b - a) * tx)) * ty;
  }
  double fbm(double x, double y, int octaves) const {
    double sum = 0, amplitude = 0.5, norm = 0;
    for (int o = 0; o < octaves; ++o) {
      sum += amplitude * at(x, y);
      norm += amplitude;
      x *= 2.03;
      y *= 2.03;
      amplitude *= 0.5;
    }
    return sum / norm;
  }

 private:
  static double smooth(double t) { return t * t * (3 - 2 * t); }
  double lattice(std::int64_t x, std::int64_t y) const {
    std::uint64_t h = seed_ ^ (static_cast<std::uint64_t>(x) * 0x9E3779B97F4A7C15ull) ^
                      (static_cast<std::uint64_t>(y) * 0xC2B2AE3D27D4EB4Full);
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return static_cast<double>(h >> 11) * (1.0 / 9007199254740992.0);
  }
  std::uint64_t seed_;
};

}  // namespace cfm::synth
