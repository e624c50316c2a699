// cfm's port of scikit-learn's SGDOneClassSVM (M3DM's late fusion) against scikit-learn itself
// (tools/ocsvm_reference.py, Debian's python3-sklearn): the same epochs, weights and offset. The port does
// the same double-precision operations in the same order with the same shuffles, so the tolerance is a
// few units in the last place (1e-12 relative), not a statistical one; a different shuffle or update
// rule moves the weights by percents.
#include "common/memory_bank/one_class_svm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <random>
#include <vector>

#include "common/util/npy.h"
#include "test_support.h"

namespace cfm {
namespace {

// Rows shaped like M3DM's fusion inputs: [s_3D, 0.1 s_RGB], small positive scores with a few outliers.
std::vector<double> fusion_like_rows(int n, unsigned seed) {
  std::mt19937 rng(seed);
  std::lognormal_distribution<double> xyz(-6, 0.4), rgb(-7, 0.6);
  std::vector<double> rows;
  for (int i = 0; i < n; ++i) {
    rows.push_back(xyz(rng) * (i % 50 == 0 ? 4 : 1));
    rows.push_back(rgb(rng));
  }
  return rows;
}

nlohmann::json sklearn_fit(const test::TempDir& dir, const std::vector<double>& rows, int max_iter) {
  NpyArray a{"<f8", {static_cast<std::int64_t>(rows.size() / 2), 2}, {}};
  a.data.resize(rows.size() * sizeof(double));
  std::memcpy(a.data.data(), rows.data(), a.data.size());
  write_npy(dir / "rows.npy", a);
  auto r = test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/ocsvm_reference.py " +
                             (dir / "rows.npy") + " --max-iter " + std::to_string(max_iter));
  EXPECT_EQ(r.exit_code, 0) << r.output;
  return nlohmann::json::parse(r.output);
}

TEST(OneClassSvm, TheShuffleSeedIsNumpysFirstDraw) {
  EXPECT_EQ(numpy_shuffle_seed(42), 1608637542u);  // numpy.random.RandomState(42).randint(0, 2**31 - 1)
}

TEST(OneClassSvm, LearnsScikitLearnsWeights) {
  CFM_REQUIRE_PYTHON("sklearn", "python3-sklearn");
  test::TempDir dir;
  // Image-score sized (a few hundred rows, many epochs), pixel-score sized (tens of thousands), and a run
  // stopped by max_iter.
  for (auto [n, max_iter] : {std::pair{240, 1000}, std::pair{30000, 1000}, std::pair{500, 3}}) {
    std::vector<double> rows = fusion_like_rows(n, static_cast<unsigned>(n));
    SgdOneClassSvmOptions options;
    options.max_iter = max_iter;
    OneClassSvm svm = fit_sgd_one_class_svm(rows, 2, options);
    nlohmann::json expected = sklearn_fit(dir, rows, max_iter);
    EXPECT_EQ(svm.epochs, expected["n_iter"].get<int>()) << n;
    for (int j = 0; j < 2; ++j) {
      const double want = expected["coef"][j].get<double>();
      EXPECT_NEAR(svm.coef[static_cast<std::size_t>(j)], want, 1e-12 * std::abs(want)) << n << " coef " << j;
    }
    const double offset = expected["offset"].get<double>();
    EXPECT_NEAR(svm.offset, offset, 1e-12 * std::max(1.0, std::abs(offset))) << n;
    for (int i = 0; i < 5; ++i) {
      const double want = expected["scores"][i].get<double>();
      EXPECT_NEAR(svm.score(rows.data() + 2 * i), want, 1e-12 * std::abs(want)) << n << " score " << i;
    }
  }
}

}  // namespace
}  // namespace cfm
