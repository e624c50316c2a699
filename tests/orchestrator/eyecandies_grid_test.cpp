// The Eyecandies path end to end, as a user runs it on small synthetic data: `cfm synth --format
// eyecandies` (the raw layout), `cfm preprocess eyecandies`, `cfm check --decode`, a grid with both mapping
// networks through `cfm run`, and `cfm results`.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <nlohmann/json.hpp>

#include "common/store/sqlite.h"
#include "test_support.h"

namespace cfm::test {
namespace {

const std::string kCfm = CFM_BINARY;

CommandResult step(const std::string& arguments) {
  CommandResult r = run_command(kCfm + " " + arguments);
  EXPECT_EQ(r.exit_code, 0) << arguments << "\n" << r.output;
  return r;
}

std::string grid_yaml(const std::string& name, const std::string& axes) {
  return "name: " + name +
         "\nfixed:\n  dataset: data\n  dataset_name: eyecandies\n  category: Cookie\n  preset: demo\n"
         "  vit_weights: w/vit_tiny_random.pth\n  point_mae_weights: w/pointmae_tiny_random.pth\n"
         "  image_size: 112\n  feature_grid: 28\n  groups: 32\n  group_size: 16\n  epochs: 2\n  batch_size: "
         "2\n" +
         axes;
}

TEST(EyecandiesGrid, RawDataToResultsWithBothMappers) {
  TempDir dir;
  step(
      fmt::format("synth --format eyecandies --out {} --categories 1 --train 3 --validation 0 --test 1 "
                  "--no-progress",
                  dir / "raw"));
  step(fmt::format("preprocess eyecandies --in {} --out {} --no-progress", dir / "raw", dir / "data"));
  CommandResult check = step(fmt::format("check --data {} --decode", dir / "data"));
  EXPECT_NE(check.output.find("no problems found"), std::string::npos) << check.output;
  step(fmt::format("backbones init --preset tiny --out {} --seed 3", dir / "w"));

  std::ofstream(dir / "mappers.yaml")
      << grid_yaml("eyecandies_mappers", "axes:\n  mapper: [standard, big]\n");
  CommandResult run = step(fmt::format("run {} --db {} --runs {} --workers 2 --no-progress",
                                       dir / "mappers.yaml", dir / "r.sqlite", dir / "runs"));
  EXPECT_NE(run.output.find("2 succeeded, 0 failed"), std::string::npos) << run.output;
  {
    Database db(dir / "r.sqlite");
    Statement s = db.prepare(
        "SELECT json_extract(j.config, '$.mapper'), r.payload FROM jobs j JOIN results r ON r.key = j.key "
        "ORDER BY 1");
    std::map<std::string, long long> model_bytes;
    while (s.step()) {
      nlohmann::json result = nlohmann::json::parse(s.text(1));
      model_bytes[s.text(0)] = result["resources"]["model_bytes"].get<long long>();
      EXPECT_TRUE(result["metrics"].contains("i_auroc")) << s.text(0);
    }
    ASSERT_EQ(model_bytes.size(), 2u);
    // Five hidden layers instead of one: the big job's checkpoints are the bigger ones.
    EXPECT_GT(model_bytes["big"], 2 * model_bytes["standard"]);
  }
  CommandResult table = step(fmt::format("results table --db {} --cols mapper", dir / "r.sqlite"));
  for (const char* column : {"mapper=standard i_auroc", "mapper=big i_auroc"})
    EXPECT_NE(table.output.find(column), std::string::npos) << table.output;
  CommandResult paper = step(fmt::format("results paper --db {}", dir / "r.sqlite"));
  EXPECT_NE(paper.output.find("Cookie"), std::string::npos) << paper.output;

  // The standard mapper's job is the job a grid without the setting makes: nothing runs again.
  std::ofstream(dir / "plain.yaml") << grid_yaml("eyecandies_plain", "");
  CommandResult again = step(fmt::format("run {} --db {} --runs {} --workers 1 --no-progress",
                                         dir / "plain.yaml", dir / "r.sqlite", dir / "runs"));
  EXPECT_NE(again.output.find("0 new, 0 requeued, 1 done before"), std::string::npos) << again.output;
}

}  // namespace
}  // namespace cfm::test
