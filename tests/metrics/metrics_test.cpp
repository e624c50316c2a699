#include <cmath>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <random>

#include "common/data/png_io.h"
#include "common/data/tiff_io.h"
#include "common/metrics/aupro.h"
#include "common/metrics/auroc.h"
#include "common/metrics/evaluation.h"
#include "common/util/npy.h"
#include "test_support.h"

namespace cfm {
namespace {

TEST(Auroc, HandDerivedCasesWithTies) {
  EXPECT_DOUBLE_EQ(*auroc({0.1f, 0.4f, 0.35f, 0.8f}, {0, 0, 1, 1}), 0.75);  // sklearn's documented example
  EXPECT_DOUBLE_EQ(*auroc({1.f, 1.f, 2.f}, {0, 1, 1}), 0.75);               // a tie counts half
  EXPECT_DOUBLE_EQ(*auroc({5.f, 5.f, 5.f, 5.f}, {0, 1, 0, 1}), 0.5);
  EXPECT_DOUBLE_EQ(*auroc({0.f, 1.f}, {1, 0}), 0.0);
  EXPECT_FALSE(auroc({0.2f, 0.3f}, {1, 1}).has_value());  // undefined with one class
}

// Every (positive, negative) pair compared, ties counted half: the definition, O(P N).
double auroc_by_pairs(const std::vector<float>& scores, const std::vector<std::uint8_t>& labels) {
  double wins = 0, pairs = 0;
  for (std::size_t i = 0; i < scores.size(); ++i)
    for (std::size_t j = 0; j < scores.size(); ++j)
      if (labels[i] && !labels[j]) {
        wins += scores[i] > scores[j] ? 1.0 : scores[i] == scores[j] ? 0.5 : 0.0;
        pairs += 1;
      }
  return wins / pairs;
}

TEST(Auroc, BucketedCountEqualsEveryPairCompared) {
  std::mt19937 rng(11);
  std::normal_distribution<float> noise(0.f, 1.f);
  // Overlapping classes with ties (coarse levels: positives share buckets and exact values with
  // negatives), fine-grained overlapping classes, and fully separated classes in both directions.
  for (int kind = 0; kind < 4; ++kind) {
    std::vector<float> scores;
    std::vector<std::uint8_t> labels;
    for (int i = 0; i < 3000; ++i) {
      const bool positive = i % 7 == 0;
      float s = noise(rng) + (positive ? 1.f : 0.f);
      if (kind == 0) s = std::round(s * 8.f) / 8.f;
      if (kind == 2) s = positive ? 10.f + s : s;
      if (kind == 3) s = positive ? -10.f + s : s;
      scores.push_back(s);
      labels.push_back(positive);
    }
    EXPECT_NEAR(*auroc(scores, labels), auroc_by_pairs(scores, labels), 1e-12) << "kind " << kind;
  }
}

TEST(Auroc, PixelAurocDividesEachMapAsItReadsIt) {
  std::mt19937 rng(12);
  std::uniform_real_distribution<float> uniform(0.f, 3.f);
  PixelMaps maps;
  std::vector<float> divisors = {0.7f, 1.3f, 3.f}, flat;
  std::vector<std::uint8_t> labels;
  for (std::size_t i = 0; i < divisors.size(); ++i) {
    Image<float> s(20, 10, 1);
    ImageU8 m(20, 10, 1);
    for (std::size_t p = 0; p < s.pixels.size(); ++p) {
      m.pixels[p] = p % 5 == 0 ? 255 : 0;
      s.pixels[p] = uniform(rng) + (m.pixels[p] ? 0.5f : 0.f);
      flat.push_back(s.pixels[p] / divisors[i]);
      labels.push_back(m.pixels[p] != 0);
    }
    maps.scores.push_back(s);
    maps.masks.push_back(m);
  }
  EXPECT_EQ(*pixel_auroc(maps, divisors), *auroc(flat, labels));
  EXPECT_NE(*pixel_auroc(maps, divisors), *pixel_auroc(maps));  // the divisors change the ranking
}

TEST(Regions, EightConnectivity) {
  ImageU8 mask(5, 4, 1);
  // A diagonal chain is one region; a separate pixel two columns away is another.
  mask.at(0, 0) = mask.at(1, 1) = mask.at(2, 2) = 255;
  mask.at(0, 4) = 1;
  int count = 0;
  std::vector<int> labels = label_regions(mask, &count);
  EXPECT_EQ(count, 2);
  EXPECT_EQ(labels[mask.index(2, 2)], labels[mask.index(0, 0)]);
  EXPECT_NE(labels[mask.index(0, 4)], labels[mask.index(0, 0)]);
}

TEST(Aupro, TruncatedTrapezoidByHand) {
  ProCurve curve{{0.0, 0.5, 1.0}, {0.0, 1.0, 1.0}};
  // Limit 0.3 falls inside the first segment: y(0.3) = 0.6, area 0.5 * 0.6 * 0.3 = 0.09, / 0.3.
  EXPECT_NEAR(area_under_pro(curve, 0.3), 0.3, 1e-12);
  // Limit 0.5 hits a curve point exactly: no interpolation, area 0.25, / 0.5.
  EXPECT_NEAR(area_under_pro(curve, 0.5), 0.5, 1e-12);
}

PixelMaps two_images(bool separable) {
  PixelMaps maps;
  for (int i = 0; i < 2; ++i) {
    Image<float> s(8, 8, 1, 0.1f + 0.01f * i);
    ImageU8 m(8, 8, 1);
    if (i == 1)
      for (int y = 2; y < 5; ++y)
        for (int x = 2; x < 5; ++x) {
          m.at(y, x) = 255;
          s.at(y, x) = separable ? 5.f : 0.01f;
        }
    maps.scores.push_back(s);
    maps.masks.push_back(m);
  }
  return maps;
}

TEST(Aupro, PerfectAndReversedSeparation) {
  for (bool exact : {false, true}) {
    ProCurve good = exact ? pro_curve_exact(two_images(true)) : pro_curve_official(two_images(true));
    ProCurve bad = exact ? pro_curve_exact(two_images(false)) : pro_curve_official(two_images(false));
    for (double limit : {0.3, 0.1, 0.05, 0.01}) {
      EXPECT_NEAR(area_under_pro(good, limit), 1.0, 1e-12) << limit;
      EXPECT_NEAR(area_under_pro(bad, limit), 0.0, 1e-12) << limit;
    }
  }
  EXPECT_TRUE(
      pro_curve_official(PixelMaps{{Image<float>(4, 4, 1)}, {ImageU8(4, 4, 1)}}).fpr.empty());  // no region
}

// Random maps with ties, several regions per image and good images, against tools/metrics_reference.py.
class MetricsParity : public ::testing::Test {
 protected:
  void SetUp() override {
    CFM_REQUIRE_PYTHON("numpy", "python3-numpy");
    std::mt19937 rng(4);
    const int images = 12, h = 20, w = 24;
    for (int i = 0; i < images; ++i) {
      Image<float> s(w, h, 1);
      ImageU8 m(w, h, 1);
      for (float& v : s.pixels) v = static_cast<float>(rng() % 50) / 10.f;  // coarse values: many ties
      if (i >= 6)
        for (int r = 0; r < 1 + i % 3; ++r) {  // 1-3 blobs (may touch diagonally and merge)
          int cy = static_cast<int>(rng() % h), cx = static_cast<int>(rng() % w),
              size = 1 + static_cast<int>(rng() % 3);
          for (int y = std::max(0, cy - size); y < std::min(h, cy + size); ++y)
            for (int x = std::max(0, cx - size); x < std::min(w, cx + size); ++x) {
              m.at(y, x) = 255;
              s.at(y, x) += 1.5f + static_cast<float>(rng() % 20) / 10.f;
            }
        }
      if (i % 4 == 0) s.at(0, 0) = 0;  // some exact zeros (excluded from the non-zero mean)
      maps_.scores.push_back(s);
      maps_.masks.push_back(m);
    }
    std::vector<float> all_scores;
    std::vector<char> all_masks;
    for (int i = 0; i < images; ++i) {
      all_scores.insert(all_scores.end(), maps_.scores[static_cast<std::size_t>(i)].pixels.begin(),
                        maps_.scores[static_cast<std::size_t>(i)].pixels.end());
      for (std::uint8_t v : maps_.masks[static_cast<std::size_t>(i)].pixels)
        all_masks.push_back(static_cast<char>(v));
    }
    write_npy_f32(dir_ / "maps.npy", {images, h, w}, all_scores.data());
    write_npy(dir_ / "masks.npy", NpyArray{"|u1", {images, h, w}, all_masks});
  }
  nlohmann::json reference(const std::string& flags) {
    auto r = test::run_command("/usr/bin/python3 " CFM_SOURCE_DIR "/tools/metrics_reference.py " +
                               (dir_ / "maps.npy") + " " + (dir_ / "masks.npy") + " " + flags);
    EXPECT_EQ(r.exit_code, 0) << r.output;
    return nlohmann::json::parse(r.output);
  }
  void compare(const EvaluationOptions& options, const std::string& flags) {
    Evaluation e = evaluate_maps(maps_, {}, options);
    nlohmann::json expected = reference(flags);
    EXPECT_NEAR(*e.i_auroc, expected["i_auroc"].get<double>(), 1e-12) << flags;
    EXPECT_NEAR(*e.p_auroc, expected["p_auroc"].get<double>(), 1e-12) << flags;
    for (double limit : {0.3, 0.1, 0.05, 0.01}) {
      std::string key = nlohmann::json(limit).dump();
      ASSERT_TRUE(e.aupro[limit].has_value());
      EXPECT_NEAR(*e.aupro[limit], expected["aupro@" + key].get<double>(), 1e-9)
          << flags << " limit " << limit;
    }
  }
  test::TempDir dir_;
  PixelMaps maps_;
};

TEST_F(MetricsParity, OfficialProtocolWithCfmNormalisation) { compare(EvaluationOptions{}, ""); }

TEST_F(MetricsParity, ExactProtocolAndRawMaps) {
  EvaluationOptions exact;
  exact.exact = true;
  compare(exact, "--exact");
  EvaluationOptions raw;
  raw.normalise = false;
  compare(raw, "--raw");
}

TEST(MetricsCli, FolderOfMapsToJsonAndErrors) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "maps/bad");
  std::filesystem::create_directories(dir.path() / "maps/good");
  std::filesystem::create_directories(dir.path() / "gt/bad");
  PixelMaps maps = two_images(true);
  write_map_tiff(dir / "maps/good/000.tiff", maps.scores[0]);
  write_map_tiff(dir / "maps/bad/000.tiff", maps.scores[1]);
  write_png(dir / "gt/bad/000.png", maps.masks[1]);
  auto r = test::run_command(std::string(CFM_BINARY) + " metrics --maps " + (dir / "maps") + " --gt " +
                             (dir / "gt") + " --json");
  ASSERT_EQ(r.exit_code, 0) << r.output;
  nlohmann::json j = nlohmann::json::parse(r.output);
  EXPECT_DOUBLE_EQ(j["i_auroc"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(j["aupro@0.01"].get<double>(), 1.0);
  EXPECT_EQ(j["images"].get<int>(), 2);
  // Only good images: I-AUROC undefined, said so, no crash.
  auto only_good = test::run_command(std::string(CFM_BINARY) + " metrics --maps " + (dir / "maps/good") +
                                     " --gt " + (dir / "gt"));
  EXPECT_EQ(only_good.exit_code, 0) << only_good.output;
  EXPECT_NE(only_good.output.find("I-AUROC is undefined"), std::string::npos) << only_good.output;
  // A mask of another size: one clear error.
  write_png(dir / "gt/bad/000.png", ImageU8(4, 4, 1));
  auto mismatch = test::run_command(std::string(CFM_BINARY) + " metrics --maps " + (dir / "maps") + " --gt " +
                                    (dir / "gt"));
  EXPECT_EQ(mismatch.exit_code, 1);
  EXPECT_NE(mismatch.output.find("mask is 4x4 but its map"), std::string::npos) << mismatch.output;
}

}  // namespace
}  // namespace cfm
