// The memory-bank baseline end to end against an independent Python implementation written from M3DM's
// code (tools/memory_bank_reference.py, Debian's python3-torch): from the backbone outputs `cfm features`
// writes, it recomputes the patch features, the banks' statistics (M3DM's cross-wired recipe), checks that
// every coreset row is a normalised training patch, and scores the test split; the maps cfm wrote and its
// image scores must match.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/data/tiff_io.h"
#include "common/memory_bank/memory_bank_method.h"
#include "common/util/npy.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

TEST(MemoryBankParity, MapsAndScoresMatchThePythonReference) {
  CFM_REQUIRE_PYTHON("torch, numpy", "python3-torch python3-numpy");
  test::TempDir dir;
  auto [settings, train, test_split] = test::tiny_bank_category(dir, 0.3);
  MemoryBankMethod method(settings, "cookie", at::kCPU, "");
  method.fit(train, dir / "run");
  CategoryEvaluation evaluation = method.evaluate(test_split, dir / "run/eval", {}, false);

  const BackboneConfig& b = settings.backbone;
  const std::string backbone_flags = " --preset demo --vit-weights " + b.vit_weights +
                                     " --point-mae-weights " + b.point_mae_weights +
                                     " --image-size 112 --grid 28 --groups 32 --group-size 16";
  auto features = [&](const SampleFiles& s, const std::string& out) {
    auto r = test::run_command(std::string(CFM_BINARY) + " features --rgb " + s.rgb + " --xyz " + s.xyz +
                               " --out " + out + " --save-inputs" + backbone_flags);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return " " + out;
  };
  std::string train_folders, test_folders;
  for (std::size_t i = 0; i < train.size(); ++i)
    train_folders += features(train[i], dir / ("f-train-" + std::to_string(i)));
  for (std::size_t i = 0; i < test_split.size(); ++i)
    test_folders += features(test_split[i], dir / ("f-test-" + std::to_string(i)));
  auto r = test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/memory_bank_reference.py --bank " +
                             (dir / ("run/" + method.bank_file_name())) + " --train" + train_folders +
                             " --test" + test_folders + " --out " + (dir / "reference"));
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json reference = nlohmann::json::parse(r.output);

  // The bank statistics and rows.
  const MemoryBanks& banks = method.banks();
  EXPECT_NEAR(banks.xyz.mean, reference["stats"]["xyz_mean"].get<double>(), 1e-6);
  EXPECT_NEAR(banks.xyz.std, reference["stats"]["xyz_std"].get<double>(), 1e-5 * banks.xyz.std);
  EXPECT_NEAR(banks.rgb.mean, reference["stats"]["rgb_mean"].get<double>(), 1e-6);
  EXPECT_NEAR(banks.rgb.std, reference["stats"]["rgb_std"].get<double>(), 1e-5 * banks.rgb.std);
  EXPECT_LT(reference["bank_rows_max_distance"].get<double>(), 1e-3);
  EXPECT_EQ(banks.xyz.rows.size(0), static_cast<std::int64_t>(0.3 * 3 * 56 * 56));

  // Image scores and maps of every test sample.
  ASSERT_EQ(reference["scores"].size(), test_split.size());
  for (std::size_t i = 0; i < test_split.size(); ++i) {
    const double want = reference["scores"][i].get<double>();
    EXPECT_NEAR(evaluation.metrics.image_scores[i], want, 1e-4 * std::max(1.0, std::abs(want)))
        << test_split[i].id();
    Image<float> map =
        read_map_tiff(dir / ("run/eval/maps/" + test_split[i].defect + "/" + test_split[i].name + ".tiff"));
    NpyArray expected = read_npy(dir / ("reference/" + std::to_string(i) + ".npy"));
    ASSERT_EQ(expected.data.size(), map.pixels.size() * sizeof(float)) << test_split[i].id();
    const auto* e = reinterpret_cast<const float*>(expected.data.data());
    double worst = 0, largest = 0;
    for (std::size_t p = 0; p < map.pixels.size(); ++p) {
      worst = std::max(worst, static_cast<double>(std::abs(map.pixels[p] - e[p])));
      largest = std::max(largest, static_cast<double>(std::abs(e[p])));
    }
    EXPECT_GT(largest, 0) << test_split[i].id();
    EXPECT_LT(worst, 1e-4 * largest) << test_split[i].id();
  }
}

}  // namespace
}  // namespace cfm
