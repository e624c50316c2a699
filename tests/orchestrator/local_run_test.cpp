// `cfm run` end to end on a tiny synthetic category with tiny random backbones: real CFM jobs through the
// embedded coordinator and two local workers, then every expected row in the database.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>

#include "common/data/png_io.h"
#include "common/store/sqlite.h"
#include "orchestrator/tiny_cfm_inputs.h"
#include "test_support.h"

namespace cfm {
namespace {

const std::string kCfm = CFM_BINARY;

int scalar(Database& db, const std::string& sql) {
  Statement s = db.prepare(sql);
  s.step();
  return static_cast<int>(s.integer(0));
}

TEST(LocalRun, TinyCfmGridRunsEndToEndAndResumesWithNothingToDo) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_tiny_cfm_inputs(dir, 3));
  std::ofstream(dir / "grid.yaml") << "name: tiny\nfixed:\n"
                                   << test::kTinyCfmFixedSettings
                                   << "  epochs: 2\naxes:\n  seed: [115, 116]\n";
  std::string run = fmt::format("{} run {} --db {} --runs {} --workers 2 --no-progress", kCfm,
                                dir / "grid.yaml", dir / "r.sqlite", dir / "runs");
  auto first = test::run_command(run);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  EXPECT_NE(first.output.find("2 succeeded, 0 failed"), std::string::npos) << first.output;
  EXPECT_NE(first.output.find("| seed | state     | I-AUROC"), std::string::npos) << first.output;

  Database db(dir / "r.sqlite");
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM jobs WHERE state = 'succeeded'"), 2);
  EXPECT_EQ(scalar(db,
                   "SELECT COUNT(*) FROM metrics WHERE name IN ('i_auroc', 'p_auroc', 'aupro@0.3', "
                   "'aupro@0.01') AND value BETWEEN 0 AND 1"),
            8);
  for (const char* stage : {"load", "extract", "train", "train_per_epoch", "infer", "metrics", "total"})
    EXPECT_EQ(
        scalar(db, fmt::format("SELECT COUNT(*) FROM timings WHERE stage = '{}' AND seconds >= 0", stage)), 2)
        << stage;
  EXPECT_EQ(scalar(db,
                   "SELECT COUNT(*) FROM resources WHERE peak_rss_bytes > 0 AND parameters > 0 AND "
                   "model_bytes > 0 AND inference_fps > 0 "
                   "AND device = 'cpu'"),
            2);
  Statement payload =
      db.prepare("SELECT r.payload, j.run_dir FROM results r JOIN jobs j ON j.key = r.key LIMIT 1");
  ASSERT_TRUE(payload.step());
  nlohmann::json result = nlohmann::json::parse(payload.text(0));
  EXPECT_EQ(result["train_files"].size(), 3u);
  EXPECT_EQ(result["epoch_loss"].size(), 2u);
  EXPECT_TRUE(std::filesystem::exists(payload.text(1) + "/CFM_2Dto3D_cookie_2ep_4bs.pth"));
  EXPECT_TRUE(std::filesystem::exists(payload.text(1) + "/eval/maps/good/000.tiff"));
  EXPECT_TRUE(std::filesystem::exists(payload.text(1) + "/attempt-1.log"));
  // Two local workers, one slot each: every job knows it shares the machine with the other's.
  std::ifstream log(payload.text(1) + "/attempt-1.log");
  const std::string job_log((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_NE(job_log.find("/ 2 processes: BLAS"), std::string::npos) << job_log;

  // cfm results reads the same rows.
  auto table = test::run_command(
      fmt::format("{} results table --db {} --rows category --cols seed --metrics i_auroc,aupro@0.3", kCfm,
                  dir / "r.sqlite"));
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(
      table.output.find(
          "| category | seed=115 i_auroc | seed=115 aupro@0.3 | seed=116 i_auroc | seed=116 aupro@0.3 |"),
      std::string::npos)
      << table.output;
  EXPECT_NE(table.output.find("| cookie | "), std::string::npos) << table.output;
  auto exported = test::run_command(fmt::format("{} results export --db {}", kCfm, dir / "r.sqlite"));
  EXPECT_EQ(std::count(exported.output.begin(), exported.output.end(), '\n'), 3) << exported.output;
  auto jobs = test::run_command(fmt::format("{} results jobs --db {} --grid tiny", kCfm, dir / "r.sqlite"));
  EXPECT_NE(jobs.output.find("succeeded"), std::string::npos) << jobs.output;
  auto paper = test::run_command(fmt::format("{} results paper --db {}", kCfm, dir / "r.sqlite"));
  EXPECT_EQ(paper.exit_code, 0) << paper.output;
  for (const char* part :
       {"## Detection and segmentation per category", "| cookie | ", "no jobs vary 'shots'",
        "no jobs vary 'layers_kept'", "## Efficiency", "| demo | "})
    EXPECT_NE(paper.output.find(part), std::string::npos) << part << "\n" << paper.output;
  auto gallery = test::run_command(fmt::format("{} results gallery --db {} --out {} --per-kind 1", kCfm,
                                               dir / "r.sqlite", dir / "gallery"));
  ASSERT_EQ(gallery.exit_code, 0) << gallery.output;
  // 1 test sample per defect folder: 4 anomalous + 1 good -> best, worst and false positive per job.
  EXPECT_NE(gallery.output.find("6 panels of 2 jobs"), std::string::npos) << gallery.output;
  std::ifstream index(dir / "gallery/index.md");
  std::string listing((std::istreambuf_iterator<char>(index)), std::istreambuf_iterator<char>());
  std::size_t at = listing.find("](tiny/cookie/");
  ASSERT_NE(at, std::string::npos) << listing;
  std::string panel = listing.substr(at + 2, listing.find(')', at) - at - 2);
  PngSize size = read_png_size(dir / ("gallery/" + panel));
  EXPECT_EQ(size.width, 5 * 224 + 16);
  EXPECT_EQ(size.height, 224);
  // The HTML report, loaded in a real headless browser: no script error, every figure drawn, every
  // gallery image decoded, and the tables hold the database's numbers.
  auto report = test::run_command(
      fmt::format("{} results report --db {} --out {}", kCfm, dir / "r.sqlite", dir / "report/report.html"));
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("2 figures, 6 gallery panels"), std::string::npos)
      << report.output;  // fps-memory + PRO curves
  if (std::filesystem::exists("/usr/bin/chromium")) {
    auto dom =
        test::run_command(fmt::format("timeout 120 chromium --headless --no-sandbox --disable-gpu "
                                      "--virtual-time-budget=5000 --dump-dom file://{} 2>/dev/null",
                                      dir / "report/report.html"));
    EXPECT_NE(dom.output.find("data-figures-rendered=\"2\""), std::string::npos)
        << dom.output.substr(0, 2000);
    EXPECT_NE(dom.output.find("data-panels-loaded=\"6\""), std::string::npos);
    EXPECT_NE(dom.output.find("data-errors=\"0\""), std::string::npos);
    Statement mean = db.prepare("SELECT avg(value) FROM metrics WHERE name = 'i_auroc'");
    ASSERT_TRUE(mean.step());
    EXPECT_NE(dom.output.find(fmt::format("data-mean=\"{:.6g}\"", mean.real(0))), std::string::npos)
        << "I-AUROC mean " << mean.real(0);
  } else {
    ADD_FAILURE() << "chromium is not installed (scripts/setup.sh installs it): the report was not checked "
                     "in a browser";
  }
  auto unknown =
      test::run_command(fmt::format("{} results table --db {} --grid nope", kCfm, dir / "r.sqlite"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("no grid 'nope' in"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("(grids: tiny)"), std::string::npos) << unknown.output;

#ifndef CFM_WITH_CUDA
  // Without CUDA a CUDA slot fails its job with the reason instead of computing on the CPU under a GPU's
  // name (CUDA builds run jobs on GPUs: tests/cfm/gpu_test.cpp).
  auto cuda =
      test::run_command(fmt::format("{} job --config {}/config.json --run-dir {} --result {} --device cuda:0",
                                    kCfm, payload.text(1), dir / "cuda-run", dir / "cuda-result.json"));
  EXPECT_EQ(cuda.exit_code, 1) << cuda.output;
  EXPECT_NE(cuda.output.find("device cuda:0: this cfm has no CUDA"), std::string::npos) << cuda.output;
  // The same through `cfm run --devices`: one local worker on that slot, the jobs fail with the reason.
  auto cuda_run =
      test::run_command(fmt::format("{} run {} --db {} --runs {} --devices cuda:0 --no-progress", kCfm,
                                    dir / "grid.yaml", dir / "cuda.sqlite", dir / "cuda-runs"));
  EXPECT_EQ(cuda_run.exit_code, 1) << cuda_run.output;
  EXPECT_NE(cuda_run.output.find("0 succeeded, 2 failed"), std::string::npos) << cuda_run.output;
  EXPECT_NE(cuda_run.output.find("this cfm has no CUDA"), std::string::npos) << cuda_run.output;
#endif

  auto second = test::run_command(run);
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("0 new, 0 requeued, 2 done before"), std::string::npos) << second.output;
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM attempts"), 2);
}

}  // namespace
}  // namespace cfm
