#include "common/data/dataset.h"

#include <filesystem>
#include <fstream>

#include "common/data/png_io.h"
#include "common/data/synth/synth_writer.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

using test::TempDir;

// A small synthetic dataset: 2 categories, 100 px, 3 train, 1 validation, 1 test per folder.
std::string make_dataset(const TempDir& dir) {
  synth::SynthOptions o = test::small_synth(dir / "data", 2, 100, 3, 1, 1);
  synth::write_synthetic_dataset(o);
  return o.out;
}

bool has_problem(const ScanReport& r, const std::string& path_part, const std::string& text) {
  for (const DatasetProblem& p : r.problems)
    if (p.path.find(path_part) != std::string::npos && p.problem.find(text) != std::string::npos) return true;
  return false;
}

TEST(Dataset, ListsCategoriesSplitsAndSamplesOfTheMvtecLayout) {
  TempDir dir;
  Dataset dataset(make_dataset(dir));
  EXPECT_EQ(dataset.categories(), (std::vector<std::string>{"bagel", "cookie"}));
  EXPECT_EQ(dataset.splits("cookie"), (std::vector<std::string>{"train", "validation", "test"}));
  auto train = dataset.samples("cookie", "train");
  ASSERT_EQ(train.size(), 3u);
  EXPECT_EQ(train[0].name, "000");
  EXPECT_EQ(train[0].label, 0);
  EXPECT_TRUE(train[0].gt.empty());
  EXPECT_EQ(train[2].xyz, (fs::path(dataset.root()) / "cookie/train/good/xyz/002.tiff").string());
  auto test = dataset.samples("cookie", "test");
  ASSERT_EQ(test.size(), 5u);  // good + 4 defect types
  int anomalous = 0;
  for (const auto& s : test) {
    anomalous += s.label;
    EXPECT_EQ(s.label == 1, !s.gt.empty()) << s.id();
  }
  EXPECT_EQ(anomalous, 4);
  ScanReport report = dataset.scan(true, true);
  EXPECT_TRUE(report.ok()) << report.problems.front().path << ": " << report.problems.front().problem;
  EXPECT_EQ(report.samples, 2u * (3 + 1 + 5));
}

TEST(Dataset, MissingRootIsAnIoError) { EXPECT_THROW(Dataset("/nonexistent/dataset"), IoError); }

TEST(Dataset, ScanReportsEveryProblemNotJustTheFirst) {
  TempDir dir;
  std::string root = make_dataset(dir);
  fs::remove(fs::path(root) / "cookie/train/good/xyz/001.tiff");            // unpaired rgb
  fs::remove(fs::path(root) / "cookie/test/bump/gt/000.png");               // missing GT
  std::ofstream(fs::path(root) / "bagel/train/good/xyz/077.tiff") << "x";   // unpaired xyz
  fs::resize_file(fs::path(root) / "bagel/train/good/xyz/000.tiff", 1000);  // truncated
  write_png((fs::path(root) / "bagel/test/dent/gt/000.png").string(),
            ImageU8(50, 100, 1));  // GT size mismatch
  PointImage wrong(64, 64, 3, 1.0);
  write_xyz_tiff((fs::path(root) / "bagel/train/good/xyz/002.tiff").string(), wrong);  // xyz size mismatch
  PointImage nan_cloud(100, 100, 3, 1.0);
  nan_cloud.at(5, 7, 1) = std::numeric_limits<double>::quiet_NaN();
  write_xyz_tiff((fs::path(root) / "cookie/train/good/xyz/002.tiff").string(), nan_cloud);  // NaN
  write_xyz_tiff((fs::path(root) / "cookie/validation/good/xyz/000.tiff").string(),
                 PointImage(100, 100, 3));  // empty
  for (const char* image : {"cookie/train/good/rgb/000.png", "bagel/test/hole/gt/000.png"}) {
    const fs::path path = fs::path(root) / image;
    fs::resize_file(path, fs::file_size(path) / 3);  // header intact, pixels cut
  }

  ScanReport headers_only = Dataset(root).scan(true, false);
  EXPECT_FALSE(has_problem(headers_only, "cookie/train/good/rgb/000.png", ""));  // its header is whole
  ScanReport report = Dataset(root).scan(true, true);
  EXPECT_TRUE(has_problem(report, "cookie/train/good/rgb/000.png", ""));
  EXPECT_TRUE(has_problem(report, "bagel/test/hole/gt/000.png", ""));
  EXPECT_TRUE(has_problem(report, "cookie/train/good/rgb/001.png", "no matching xyz/001.tiff"));
  EXPECT_TRUE(has_problem(report, "cookie/test/bump/rgb/000.png", "no matching gt/000.png"));
  EXPECT_TRUE(has_problem(report, "bagel/train/good/xyz/077.tiff", "no matching rgb/077.png"));
  EXPECT_TRUE(has_problem(report, "bagel/train/good/xyz/000.tiff", "truncated"));
  EXPECT_TRUE(has_problem(report, "bagel/test/dent/gt/000.png", "GT mask is 50x100"));
  EXPECT_TRUE(has_problem(report, "bagel/train/good/xyz/002.tiff", "xyz is 64x64"));
  EXPECT_TRUE(has_problem(report, "cookie/train/good/xyz/002.tiff", "non-finite coordinate"));
  EXPECT_TRUE(has_problem(report, "cookie/validation/good/xyz/000.tiff", "empty point cloud"));
  EXPECT_EQ(report.problems.size(), 10u);
}

TEST(Dataset, SamplesOfABrokenSplitThrowOneErrorListingAllProblems) {
  TempDir dir;
  std::string root = make_dataset(dir);
  fs::remove(fs::path(root) / "cookie/train/good/xyz/000.tiff");
  fs::remove(fs::path(root) / "cookie/train/good/xyz/002.tiff");
  try {
    Dataset(root).samples("cookie", "train");
    FAIL();
  } catch (const DataError& e) {
    std::string message = e.what();
    EXPECT_NE(message.find("2 problem(s)"), std::string::npos) << message;
    EXPECT_NE(message.find("000.tiff"), std::string::npos);
    EXPECT_NE(message.find("002.tiff"), std::string::npos);
  }
  EXPECT_THROW(Dataset(root).samples("cookie", "nosuchsplit"), DataError);
}

}  // namespace
}  // namespace cfm

namespace cfm {
namespace {

TEST(Dataset, RawNonSquareCloudsAreFlaggedUntilPreprocessed) {
  TempDir dir;
  synth::SynthOptions o = test::small_synth(dir / "raw", 3, 100, 1, 0, 1);  // includes the 3:4 "dowel"
  synth::write_synthetic_dataset(o);
  ScanReport raw = Dataset(o.out).scan(true);
  EXPECT_EQ(raw.problems.size(), 1u + 5u);  // every dowel sample
  EXPECT_TRUE(has_problem(raw, "dowel/train/good/xyz/000.tiff", "not square"));
  EXPECT_FALSE(has_problem(raw, "cookie", ""));
}

}  // namespace
}  // namespace cfm
