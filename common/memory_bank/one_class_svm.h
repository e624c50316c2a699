// scikit-learn's SGDOneClassSVM (linear, plain SGD, the defaults M3DM uses: nu 0.5, max_iter 1000,
// tol 1e-3, n_iter_no_change 5, learning rate "optimal", shuffling with random_state 42), ported
// operation for operation so that M3DM's late fusion (docs/method.md §11.3) learns the same weights:
// the same epoch shuffles (numpy's RandomState seed draw, scikit-learn's xorshift our_rand_r and
// Fisher-Yates on the index array), the same scaled weight vector, the same hinge-loss updates and stopping
// rule. Checked against scikit-learn itself (tools/ocsvm_reference.py).
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace cfm {

struct SgdOneClassSvmOptions {
  double nu = 0.5;
  int max_iter = 1000;
  double tol = 1e-3;
  int n_iter_no_change = 5;
  std::uint32_t random_state = 42;
};

struct OneClassSvm {
  std::vector<double> coef;  // d weights
  double offset = 0;         // decision_function = x·coef - offset
  int epochs = 0;            // n_iter_
  // scikit-learn's score_samples: x·coef (higher: farther along the normal data's direction).
  double score(const double* x) const;
};

// `rows`: n x d, row-major, n >= 1.
OneClassSvm fit_sgd_one_class_svm(const std::vector<double>& rows, std::size_t d,
                                  const SgdOneClassSvmOptions& options = {});

// numpy.random.RandomState(random_state).randint(0, 2**31 - 1): the shuffle seed scikit-learn draws.
std::uint32_t numpy_shuffle_seed(std::uint32_t random_state);

}  // namespace cfm
