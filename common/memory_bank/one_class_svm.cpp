#include "common/memory_bank/one_class_svm.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>

#include "common/util/error.h"

namespace cfm {
namespace {

// scikit-learn's utils/_random.pxd our_rand_r: a 32-bit xorshift, reduced to [0, 2^31 - 1].
std::uint32_t our_rand_r(std::uint32_t& seed) {
  if (seed == 0) seed = 1;
  seed ^= seed << 13;
  seed ^= seed >> 17;
  seed ^= seed << 5;
  return seed % (static_cast<std::uint32_t>(0x7fffffff) + 1);
}

// SequentialDataset.shuffle: Fisher-Yates with our_rand_r, the seed passed by value (every epoch repeats
// the same swaps on the current order).
void shuffle_indices(std::vector<int>& index, std::uint32_t seed) {
  const int n = static_cast<int>(index.size());
  for (int i = 0; i < n - 1; ++i) {
    int j = i + static_cast<int>(our_rand_r(seed) % static_cast<std::uint32_t>(n - i));
    std::swap(index[static_cast<std::size_t>(i)], index[static_cast<std::size_t>(j)]);
  }
}

// _sgd_fast.pyx WeightVector: w = wscale * data, rescaled when wscale falls below 1e-9.
struct WeightVector {
  std::vector<double> data;
  double wscale = 1;

  double dot(const double* x) const {
    double inner = 0;
    for (std::size_t j = 0; j < data.size(); ++j) inner += data[j] * x[j];
    return inner * wscale;
  }
  void add(const double* x, double c) {
    c /= wscale;
    for (std::size_t j = 0; j < data.size(); ++j) data[j] += x[j] * c;
  }
  void scale(double c) {
    wscale *= c;
    if (wscale < 1e-9) reset();
  }
  void reset() {
    for (double& w : data) w *= wscale;
    wscale = 1;
  }
};

}  // namespace

std::uint32_t numpy_shuffle_seed(std::uint32_t random_state) {
  // RandomState(int) seeds MT19937 with init_genrand, as std::mt19937 does; randint draws 32-bit outputs
  // masked to 31 bits until one is inside [0, 2^31 - 2].
  std::mt19937 mt(random_state);
  for (;;) {
    std::uint32_t value = static_cast<std::uint32_t>(mt()) & 0x7fffffffu;
    if (value <= 0x7ffffffeu) return value;
  }
}

double OneClassSvm::score(const double* x) const {
  double s = 0;
  for (std::size_t j = 0; j < coef.size(); ++j) s += x[j] * coef[j];
  return s;
}

OneClassSvm fit_sgd_one_class_svm(const std::vector<double>& rows, std::size_t d,
                                  const SgdOneClassSvmOptions& o) {
  CFM_ASSERT(d > 0 && !rows.empty() && rows.size() % d == 0);
  const auto n = static_cast<int>(rows.size() / d);
  const double alpha = o.nu / 2;
  // learning_rate "optimal": eta = 1 / (alpha (optimal_init + t - 1)), eta at the first sample = typw.
  const double typw = std::sqrt(1.0 / std::sqrt(alpha));
  const double optimal_init = 1.0 / (typw * alpha);
  WeightVector w{std::vector<double>(d, 0.0)};
  double intercept = 1.0;  // 1 - offset, offset starts at 0
  double t = 1.0;
  std::vector<int> index(static_cast<std::size_t>(n));
  std::iota(index.begin(), index.end(), 0);
  const std::uint32_t seed = numpy_shuffle_seed(o.random_state);
  double best_loss = std::numeric_limits<double>::infinity();
  int no_improvement = 0, epoch = 0;
  for (; epoch < o.max_iter; ++epoch) {
    double sum_loss = 0;
    shuffle_indices(index, seed);
    for (int i : index) {
      const double* x = rows.data() + static_cast<std::size_t>(i) * d;
      const double eta = 1.0 / (alpha * (optimal_init + t - 1));
      const double p = w.dot(x) + intercept;
      // Hinge loss (threshold 1) with y = 1.
      const double dloss = p <= 1.0 ? -1.0 : 0.0;
      sum_loss += p <= 1.0 ? 1.0 - p : 0.0;
      const double update = -eta * dloss;
      w.scale(std::max(0.0, 1.0 - eta * alpha));  // L2 penalty
      if (update != 0.0) w.add(x, update);
      const double intercept_update = update - 2.0 * eta * alpha;  // one-class: the offset's own term
      if (intercept_update != 0) intercept += intercept_update;
      t += 1;
    }
    if (!std::isfinite(intercept)) throw Error("the one-class SVM diverged (non-finite intercept)");
    if (sum_loss > best_loss - o.tol * n)
      ++no_improvement;
    else
      no_improvement = 0;
    if (sum_loss < best_loss) best_loss = sum_loss;
    if (no_improvement >= o.n_iter_no_change) break;
  }
  w.reset();
  OneClassSvm svm;
  svm.coef = w.data;
  svm.offset = 1 - intercept;
  svm.epochs = std::min(epoch + 1, o.max_iter);
  return svm;
}

}  // namespace cfm
