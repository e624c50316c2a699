// `cfm results plot` on a database filled through the job store: every kind writes a PNG and an SVG
// that hold the expected series.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>

#include "orchestrator/job_store.h"
#include "test_support.h"

namespace cfm {
namespace {

const std::string kCfm = CFM_BINARY;

std::string read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(ResultsPlot, EveryKindWritesPngAndSvgWithItsSeries) {
  test::TempDir dir;
  {
    JobStore store(dir / "r.sqlite");
    std::vector<JobSpec> jobs;
    for (std::string category : {"cookie", "bagel"})
      for (int layers : {4, 12})
        for (int seed : {1, 2})
          jobs.push_back({fmt::format("{}-{}-{}", category, layers, seed),
                          {{"method", "cfm"},
                           {"category", category},
                           {"layers_kept", layers},
                           {"seed", seed},
                           {"preset", "paper"}},
                          {{"category", category}, {"layers_kept", layers}, {"seed", seed}}});
    store.submit("g", "", jobs, 1, false, 0);
    while (auto lease = store.lease("w", "/r", 60, 1)) {
      double quality = lease->config["layers_kept"] == 12 ? 0.9 : 0.7;
      store.complete(lease->lease_id,
                     net::JobResult::from_json(
                         {{"metrics", {{"aupro@0.3", quality + 0.01 * lease->config["seed"].get<int>()}}},
                          {"resources",
                           {{"inference_fps", lease->config["layers_kept"] == 12 ? 2.0 : 5.0},
                            {"peak_rss_bytes", 3000000000}}},
                          {"pro_curve", {{"fpr", {0.0, 0.1, 0.3}}, {"pro", {0.0, quality / 2, quality}}}}}),
                     2);
    }
  }
  for (std::string kind : {"layers", "fps-memory", "pro"}) {
    auto r = test::run_command(
        fmt::format("{} results plot {} --db {} --out {}", kCfm, kind, dir / "r.sqlite", dir / "fig"));
    ASSERT_EQ(r.exit_code, 0) << kind << "\n" << r.output;
  }
  for (std::string name : {"layers_aupro@0.3", "fps-memory_layers_kept", "pro"}) {
    std::string png = read(dir / ("fig/" + name + ".png")), svg = read(dir / ("fig/" + name + ".svg"));
    EXPECT_EQ(png.substr(1, 3), "PNG") << name;
    EXPECT_GT(png.size(), 5000u) << name;  // a drawn chart, not an empty canvas
    EXPECT_NE(svg.find("<svg"), std::string::npos) << name;
  }
  std::string layers = read(dir / "fig/layers_aupro@0.3.svg");
  EXPECT_NE(layers.find("cookie"), std::string::npos);
  EXPECT_NE(layers.find("bagel"), std::string::npos);
  EXPECT_NE(layers.find("aupro@0.3 vs transformer blocks kept"), std::string::npos);
  EXPECT_NE(read(dir / "fig/fps-memory_layers_kept.svg").find("layers_kept=12"), std::string::npos);
  EXPECT_NE(read(dir / "fig/layers_aupro@0.3.dat").find("12 0.915 0.00707"), std::string::npos)
      << read(dir / "fig/layers_aupro@0.3.dat");

  auto shots = test::run_command(
      fmt::format("{} results plot shots --db {} --out {}", kCfm, dir / "r.sqlite", dir / "fig"));
  EXPECT_EQ(shots.exit_code, 2);
  EXPECT_NE(shots.output.find("'shots'"), std::string::npos) << shots.output;  // not a setting of these jobs
}

}  // namespace
}  // namespace cfm
