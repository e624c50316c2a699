// `cfm run` end to end on a tiny synthetic category with tiny random backbones: real CFM jobs through the
// embedded coordinator and two local workers. What `cfm results` makes of such a run:
// tests/results/results_commands_test.cpp.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <nlohmann/json.hpp>

#include "common/store/sqlite.h"
#include "common/util/whole_file.h"
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

TEST(LocalRun, ATinyGridRecordsEveryJobsMetricsTimingsAndResources) {
  test::TempDir dir;
  auto run = test::run_tiny_grid(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("2 succeeded, 0 failed"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("| seed | state     | I-AUROC"), std::string::npos) << run.output;
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
                   "model_bytes > 0 AND inference_fps > 0 AND device = 'cpu'"),
            2);
}

TEST(LocalRun, EachJobWritesItsCheckpointsMapsAndLogAndSharesTheCores) {
  test::TempDir dir;
  auto run = test::run_tiny_grid(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  Database db(dir / "r.sqlite");
  Statement payload =
      db.prepare("SELECT r.payload, j.run_dir FROM results r JOIN jobs j ON j.key = r.key LIMIT 1");
  ASSERT_TRUE(payload.step());
  const nlohmann::json result = nlohmann::json::parse(payload.text(0));
  EXPECT_EQ(result["train_files"].size(), 3u);
  EXPECT_EQ(result["epoch_loss"].size(), 2u);
  const std::string run_dir = payload.text(1);
  EXPECT_TRUE(std::filesystem::exists(run_dir + "/CFM_2Dto3D_cookie_2ep_4bs.pth"));
  EXPECT_TRUE(std::filesystem::exists(run_dir + "/eval/maps/good/000.tiff"));
  // One result file per job, the one the worker reported.
  EXPECT_EQ(nlohmann::json::parse(read_whole_file(run_dir + "/result.json")), result);
  EXPECT_FALSE(std::filesystem::exists(run_dir + "/result-attempt-1.json"));
  // Two local workers, one slot each: every job knows it shares the machine with the other's.
  const std::string job_log = read_whole_file(run_dir + "/attempt-1.log");
  EXPECT_NE(job_log.find("/ 2 processes: BLAS"), std::string::npos) << job_log;
}

TEST(LocalRun, RunningTheGridAgainRunsNothing) {
  test::TempDir dir;
  auto first = test::run_tiny_grid(dir);
  ASSERT_EQ(first.exit_code, 0) << first.output;
  auto second = test::run_command(test::tiny_grid_command(dir));
  EXPECT_EQ(second.exit_code, 0) << second.output;
  EXPECT_NE(second.output.find("0 new, 0 requeued, 2 done before"), std::string::npos) << second.output;
  Database db(dir / "r.sqlite");
  EXPECT_EQ(scalar(db, "SELECT COUNT(*) FROM attempts"), 2);
}

#ifndef CFM_WITH_CUDA
// Without CUDA a CUDA slot fails its job with the reason instead of computing on the CPU under a GPU's
// name (CUDA builds run jobs on GPUs: tests/cfm/gpu_test.cpp): through `cfm run --devices` and `cfm job`.
TEST(LocalRun, ACudaSlotOfACpuBuildFailsItsJobsWithTheReason) {
  test::TempDir dir;
  ASSERT_TRUE(test::write_tiny_grid(dir));
  auto run = test::run_command(fmt::format("{} run {} --db {} --runs {} --devices cuda:0 --no-progress", kCfm,
                                           dir / "grid.yaml", dir / "cuda.sqlite", dir / "runs"));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("0 succeeded, 2 failed"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("this cfm has no CUDA"), std::string::npos) << run.output;
  Database db(dir / "cuda.sqlite");
  Statement job = db.prepare("SELECT run_dir FROM jobs LIMIT 1");
  ASSERT_TRUE(job.step());
  auto direct =
      test::run_command(fmt::format("{} job --config {}/config.json --run-dir {} --result {} --device cuda:0",
                                    kCfm, job.text(0), dir / "cuda-run", dir / "cuda-result.json"));
  EXPECT_EQ(direct.exit_code, 1) << direct.output;
  EXPECT_NE(direct.output.find("device cuda:0: this cfm has no CUDA"), std::string::npos) << direct.output;
}
#endif

}  // namespace
}  // namespace cfm
