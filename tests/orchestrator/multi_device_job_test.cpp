// Jobs over several devices (devices_per_job: 2) through `cfm run` on CPU slots (Gloo): the two ranks
// train what one process trains and each scores half the test split, the result records both ranks, and a
// rank killed mid-job fails that attempt only: the job is retried and succeeds, with nothing of the failed
// attempt recorded as success.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <thread>
#include <tuple>

#include "common/store/sqlite.h"
#include "orchestrator/tiny_cfm_inputs.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

const std::string kCfm = CFM_BINARY;

class MultiDeviceJob : public ::testing::Test {
 protected:
  void SetUp() override {
#ifndef CFM_WITH_GLOO
    GTEST_SKIP() << "built without Gloo's headers (libgloo-dev): no CPU ranks";
#endif
    ASSERT_TRUE(test::write_tiny_cfm_inputs(dir_, 4));
  }
  // A one-job grid named `name` training `epochs` epochs on `devices` devices.
  std::string write_grid(const std::string& name, int devices, int epochs) {
    std::string path = dir_ / (name + ".yaml");
    std::ofstream(path) << "name: " << name << "\nfixed:\n"
                        << test::kTinyCfmFixedSettings
                        << fmt::format("  epochs: {}\n  batch_size: 2\n  devices_per_job: {}\n", epochs,
                                       devices);
    return path;
  }
  nlohmann::json only_result(const std::string& db_path) {
    Database db(db_path);
    Statement s = db.prepare("SELECT payload FROM results");
    EXPECT_TRUE(s.step());
    return nlohmann::json::parse(s.text(0));
  }
  test::TempDir dir_;
};

TEST_F(MultiDeviceJob, TwoRanksGiveTheResultOfOneAndRecordBoth) {
  // The ranks meet in the node's temporary folder (TMPDIR), not in the shared run folder.
  fs::create_directories(dir_ / "node-tmp");
  for (auto [name, devices] : {std::pair{"one", 1}, std::pair{"two", 2}}) {
    std::string run =
        fmt::format("TMPDIR={} {} run {} --db {} --runs {} --workers 2 --no-progress", dir_ / "node-tmp",
                    kCfm, write_grid(name, devices, 3), dir_ / (std::string(name) + ".sqlite"),
                    dir_ / (std::string("runs-") + name));
    auto r = test::run_command(run);
    ASSERT_EQ(r.exit_code, 0) << r.output;
    EXPECT_NE(r.output.find("1 succeeded, 0 failed"), std::string::npos) << r.output;
  }
  nlohmann::json one = only_result(dir_ / "one.sqlite"), two = only_result(dir_ / "two.sqlite");
  ASSERT_EQ(two["epoch_loss"].size(), 3u);
  for (std::size_t epoch = 0; epoch < 3; ++epoch)
    EXPECT_NEAR(one["epoch_loss"][epoch].get<double>(), two["epoch_loss"][epoch].get<double>(), 1e-6)
        << epoch;
  for (const char* metric : {"i_auroc", "p_auroc", "aupro@0.3"})
    EXPECT_NEAR(one["metrics"][metric].get<double>(), two["metrics"][metric].get<double>(), 1e-4) << metric;
  EXPECT_EQ(one["resources"]["world_size"], 1);
  EXPECT_FALSE(one["resources"].contains("ranks"));
  EXPECT_EQ(two["resources"]["world_size"], 2);
  ASSERT_EQ(two["resources"]["ranks"].size(), 1u) << two["resources"].dump();
  EXPECT_EQ(two["resources"]["ranks"][0]["rank"], 1);
  EXPECT_GT(two["resources"]["ranks"][0]["peak_rss_bytes"].get<long long>(), 0);
  EXPECT_GE(two["timings"]["all_reduce"].get<double>(), 0);
  EXPECT_GT(two["timings"]["infer_wall"].get<double>(), 0);
  // Evaluation was sharded: rank 1 scored part of the test split, and every map was written.
  EXPECT_GT(two["resources"]["ranks"][0]["infer_seconds"].get<double>(), 0);
  EXPECT_EQ(two["counts"]["test_images"], one["counts"]["test_images"]);
  auto tiffs = [](const std::string& maps) {
    std::size_t n = 0;
    for (const auto& entry : fs::recursive_directory_iterator(maps)) n += entry.path().extension() == ".tiff";
    return n;
  };
  EXPECT_EQ(tiffs(two["artifacts"]["maps"]), one["counts"]["test_images"].get<std::size_t>());
  // One slot of two CPU devices ran it: both ranks logged into the run folder.
  std::string run_dir = two["artifacts"]["run_dir"];
  EXPECT_TRUE(fs::exists(run_dir + "/attempt-1.log"));
  EXPECT_TRUE(fs::exists(run_dir + "/attempt-1-rank-1.log"));
  for (const auto& entry : fs::directory_iterator(run_dir))
    EXPECT_EQ(entry.path().filename().string().find("rendezvous"), std::string::npos) << entry.path();
  EXPECT_TRUE(fs::is_empty(dir_ / "node-tmp"));  // the rendezvous file went with its attempt
  // The resources table names the ranks' devices.
  for (auto [name, world, devices] : {std::tuple{"one", 1, "cpu"}, std::tuple{"two", 2, "cpu,cpu"}}) {
    Database db(dir_ / (std::string(name) + ".sqlite"));
    Statement row = db.prepare("SELECT world_size, devices FROM resources");
    ASSERT_TRUE(row.step()) << name;
    EXPECT_EQ(row.integer(0), world) << name;
    EXPECT_EQ(row.text(1), devices) << name;
  }
}

TEST_F(MultiDeviceJob, LocalDevicesThatDoNotSplitIntoJobsAreRefusedBeforeAnythingRuns) {
  auto r =
      test::run_command(fmt::format("{} run {} --db {} --runs {} --devices cpu,cpu,cpu --no-progress", kCfm,
                                    write_grid("odd", 2, 1), dir_ / "odd.sqlite", dir_ / "runs-odd"));
  EXPECT_EQ(r.exit_code, 2) << r.output;
  EXPECT_NE(r.output.find("up to 2 devices each (devices_per_job), which 3 local device(s) do not split"),
            std::string::npos)
      << r.output;
  EXPECT_FALSE(fs::exists(dir_.path() / "odd.sqlite"));
}

TEST_F(MultiDeviceJob, AKilledRankFailsTheAttemptAndTheRetrySucceeds) {
  std::string run =
      fmt::format("{} run {} --db {} --runs {} --workers 2 --no-progress > {} 2>&1 &", kCfm,
                  write_grid("killed", 2, 40), dir_ / "k.sqlite", dir_ / "runs", dir_ / "run.log");
  ASSERT_EQ(test::run_command(run).exit_code, 0);
  // Kill rank 1 of attempt 1 as soon as it has started (whatever it is doing then). The [1] in the patterns
  // keeps pkill/pgrep from matching the shell that runs them, whose command line holds the pattern.
  bool killed = false;
  for (int i = 0; i < 600 && !killed; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    killed =
        test::run_command("pkill -KILL -f -- '" + dir_ / "runs/.*--attempt [1] .*--rank [1] '").exit_code ==
        0;
  }
  ASSERT_TRUE(killed) << "rank 1 of attempt 1 never appeared";
  // Wait for `cfm run` to finish (it exits when the grid is done).
  for (int i = 0; i < 1200 && test::run_command("pgrep -f -- '" + dir_ / "k[.]sqlite" + "'").exit_code == 0;
       ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::ifstream log_file(dir_ / "run.log");
  std::string log((std::istreambuf_iterator<char>(log_file)), std::istreambuf_iterator<char>());
  EXPECT_NE(log.find("1 succeeded, 0 failed"), std::string::npos) << log;
  Database db(dir_ / "k.sqlite");
  Statement attempts = db.prepare("SELECT attempt, outcome, error FROM attempts ORDER BY attempt");
  ASSERT_TRUE(attempts.step());
  EXPECT_EQ(attempts.integer(0), 1);
  EXPECT_EQ(attempts.text(1), "failed");
  EXPECT_NE(attempts.text(2).find("killed by signal 9"), std::string::npos) << attempts.text(2);
  ASSERT_TRUE(attempts.step());
  EXPECT_EQ(attempts.integer(0), 2);
  EXPECT_EQ(attempts.text(1), "succeeded");
  Statement results = db.prepare("SELECT attempt FROM results");
  ASSERT_TRUE(results.step());
  EXPECT_EQ(results.integer(0), 2);
  EXPECT_FALSE(results.step()) << "the killed attempt left a result";
  // No rank of the killed attempt is left running.
  EXPECT_NE(test::run_command("pgrep -f -- '" + dir_ / "runs/.*--attempt [1] .*--world-size [2]'").exit_code,
            0);
}

}  // namespace
}  // namespace cfm
