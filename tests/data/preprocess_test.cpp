#include <filesystem>
#include <fstream>
#include <random>

#include "common/data/preprocess/dbscan.h"
#include "common/data/preprocess/mvtec_dataset_preprocess.h"
#include "common/data/preprocess/mvtec_preprocess.h"
#include "common/data/preprocess/plane_ransac.h"
#include "common/data/synth/scene.h"
#include "common/data/synth/synth_writer.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "synthetic_category.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

using test::TempDir;

TEST(PlaneRansac, RecoversAPlaneDespiteOutliers) {
  std::mt19937_64 rng(1);
  std::uniform_real_distribution<double> u(-0.1, 0.1), noise(-0.0005, 0.0005), far(0.01, 0.05);
  Eigen::Vector3d normal = Eigen::Vector3d(0.05, -0.08, 1).normalized();
  std::vector<Eigen::Vector3d> points;
  for (int i = 0; i < 3000; ++i) {
    Eigen::Vector3d p(u(rng), u(rng), 0);
    p.z() = (0.55 * normal.z() - normal.x() * p.x() - normal.y() * p.y()) / normal.z();  // n.p = 0.55 n_z
    p += normal * (i % 5 == 0 ? -far(rng) : noise(rng));  // 20 % outliers on one side
    points.push_back(p);
  }
  PlaneFit fit = fit_plane_ransac(points, 0.004, 50, 1000, 7);
  EXPECT_GT(std::abs(fit.plane.normal.dot(normal)), 0.9999);
  EXPECT_NEAR(fit.plane.distance(Eigen::Vector3d(0, 0, 0.55)), 0.0, 5e-4);
  EXPECT_GE(fit.inliers, 2350u);
  EXPECT_LE(fit.inliers, 2450u);
}

std::vector<Eigen::Vector3d> blobs_and_noise(std::uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> n(0, 0.004);
  std::uniform_real_distribution<double> u(-0.3, 0.3);
  std::vector<Eigen::Vector3d> points;
  const Eigen::Vector3d centres[3] = {{0, 0, 0}, {0.1, 0, 0}, {0, 0.12, 0.05}};
  for (int i = 0; i < 1500; ++i) {
    if (i % 10 == 0)
      points.emplace_back(u(rng), u(rng), u(rng));  // scattered noise
    else
      points.push_back(centres[i % 3] + Eigen::Vector3d(n(rng), n(rng), n(rng)));
  }
  return points;
}

TEST(Dbscan, GridMatchesTheKdTreeReference) {
  for (std::uint64_t seed = 0; seed < 4; ++seed) {
    auto points = blobs_and_noise(seed);
    Clustering grid = cluster_dbscan(points, 0.006, 30), reference = cluster_dbscan_kdtree(points, 0.006, 30);
    EXPECT_EQ(grid.clusters, reference.clusters);
    EXPECT_EQ(grid.labels, reference.labels) << "seed " << seed;
  }
}

TEST(Dbscan, HandDerivedChainAndNoise) {
  // Five points 1 apart on a line and one far away; eps 1.5, min_points 3 (self included):
  // the inner three are core, the ends are border points, the far one is noise.
  std::vector<Eigen::Vector3d> points = {{0, 0, 0}, {1, 0, 0}, {2, 0, 0}, {3, 0, 0}, {4, 0, 0}, {10, 0, 0}};
  for (auto* fn : {&cluster_dbscan, &cluster_dbscan_kdtree}) {
    Clustering c = fn(points, 1.5, 3);
    EXPECT_EQ(c.clusters, 1);
    EXPECT_EQ(c.labels, (std::vector<int>{0, 0, 0, 0, 0, -1}));
  }
}

// ≥ 99 % of the object's measured points survive; the plane and the flying pixels go.
TEST(MvtecPreprocess, RemovesThePlaneAndKeepsTheObjectOnSyntheticData) {
  auto styles = synth::category_styles(5);
  for (const auto& style : styles) {
    synth::MvtecSample s = synth::generate_mvtec_sample(style, 400, synth::DefectKind::Combined, 5);
    MvtecPreprocessParams params;
    MvtecPreprocessStats stats;
    PointImage out = preprocess_mvtec_cloud(s.xyz, params, "synthetic", &stats);
    ASSERT_EQ(out.width, 400);
    ASSERT_EQ(out.height, 400);
    int left = (400 - s.xyz.width) / 2;
    std::size_t object = 0, object_kept = 0, background = 0, background_kept = 0;
    for (int y = 0; y < s.xyz.height; ++y)
      for (int x = 0; x < s.xyz.width; ++x) {
        if (s.xyz.at(y, x, 2) == 0) continue;  // not measured
        bool kept = out.at(y, x + left, 2) != 0;
        if (kept) {
          EXPECT_EQ(out.at(y, x + left, 0), s.xyz.at(y, x, 0));  // values are copied, not changed
        }
        if (s.object_mask.at(y, x)) {
          ++object;
          object_kept += kept;
        } else {
          ++background;
          background_kept += kept;
        }
      }
    EXPECT_GE(static_cast<double>(object_kept), 0.99 * static_cast<double>(object)) << style.name;
    // Flying pixels that land within 6 mm of the object join its cluster, as on real scans: allow 0.01 %.
    EXPECT_LE(static_cast<double>(background_kept), 1e-4 * static_cast<double>(background)) << style.name;
    EXPECT_EQ(stats.points_out, object_kept + background_kept);
  }
}

TEST(MvtecPreprocess, PadsNonSquareCloudsToAMultipleOf100Centred) {
  auto dowel = synth::category_styles(3)[2];
  synth::MvtecSample s = synth::generate_mvtec_sample(dowel, 200, synth::DefectKind::None, 1);
  ASSERT_EQ(s.xyz.width, 150);
  PointImage out = preprocess_mvtec_cloud(s.xyz, MvtecPreprocessParams{}, "dowel");
  ASSERT_EQ(out.width, 200);
  ASSERT_EQ(out.height, 200);
  for (int y = 0; y < 200; ++y)
    for (int x : {0, 24, 175, 199}) ASSERT_EQ(out.at(y, x, 2), 0.0);  // 25 zero columns on each side
}

TEST(MvtecPreprocess, BadCloudsAreDataErrorsNamingTheFile) {
  PointImage empty(100, 100, 3);
  try {
    preprocess_mvtec_cloud(empty, MvtecPreprocessParams{}, "f.tiff");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_EQ(e.path(), "f.tiff");
  }
  PointImage with_nan(100, 100, 3, 0.5);
  with_nan.at(3, 3, 0) = std::numeric_limits<double>::infinity();
  EXPECT_THROW(preprocess_mvtec_cloud(with_nan, MvtecPreprocessParams{}, "g.tiff"), DataError);
  PointImage no_border(100, 100, 3);
  for (int y = 40; y < 60; ++y)
    for (int x = 40; x < 60; ++x) no_border.at(y, x, 0) = no_border.at(y, x, 1) = no_border.at(y, x, 2) = 0.5;
  try {
    preprocess_mvtec_cloud(no_border, MvtecPreprocessParams{}, "h.tiff");
    FAIL();
  } catch (const DataError& e) {
    EXPECT_NE(e.problem().find("border band"), std::string::npos) << e.what();
  }
}

TEST(MvtecPreprocess, DatasetRunMirrorsTheTreeAndReportsBadFilesWithoutStopping) {
  TempDir dir;
  synth::SynthOptions o = test::small_synth(dir / "raw", 1, 200, 3, 0, 1);
  synth::write_synthetic_dataset(o);
  fs::resize_file(fs::path(o.out) / "cookie/train/good/xyz/001.tiff", 500);  // corrupt one file
  MvtecDatasetOptions options;
  options.in = o.out;
  options.out = dir / "out";
  options.progress = false;
  BatchReport report = preprocess_mvtec_dataset(options);
  EXPECT_EQ(report.total, 3u + 5u);
  EXPECT_EQ(report.done, 7u);
  ASSERT_EQ(report.failures.size(), 1u);
  EXPECT_NE(report.failures[0].reason.find("001.tiff"), std::string::npos);
  EXPECT_TRUE(fs::is_regular_file(dir / "out/cookie/test/bump/rgb/000.png"));  // copied
  EXPECT_TRUE(fs::is_regular_file(dir / "out/cookie/calibration/camera_parameters.json"));
  EXPECT_TRUE(fs::is_regular_file(dir / "out/cookie/train/good/xyz/002.tiff"));
  EXPECT_LT(report.points_out, report.points_in);
  std::string text = format_batch_report("preprocess mvtec", report);
  EXPECT_NE(text.find("7 of 8 files done, 1 failed"), std::string::npos) << text;

  // In place: a second pass finds the border already removed and says so, leaving the files intact.
  MvtecDatasetOptions again;
  again.in = dir / "out";
  again.progress = false;
  auto before = fs::file_size(dir / "out/cookie/train/good/xyz/002.tiff");
  BatchReport second = preprocess_mvtec_dataset(again);
  EXPECT_EQ(second.done, 0u);
  ASSERT_FALSE(second.failures.empty());
  EXPECT_NE(second.failures[0].reason.find("already preprocessed"), std::string::npos)
      << second.failures[0].reason;
  EXPECT_EQ(fs::file_size(dir / "out/cookie/train/good/xyz/002.tiff"), before);
}

}  // namespace
}  // namespace cfm
