// The paper's comparison in one grid: `method: [cfm, memory_bank]` runs CFM and the M3DM-style memory
// banks on the same data and backbones, each job keeps only its own method's settings, and `cfm results
// paper` puts both side by side with their measured fps, memory and bank/model size.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/models/checkpoint/state_dict.h"
#include "common/store/sqlite.h"
#include "orchestrator/tiny_cfm_inputs.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

const std::string kCfm = CFM_BINARY;

TEST(MethodComparison, OneGridRunsBothMethodsAndThePaperTablePutsThemSideBySide) {
  test::TempDir dir;
  ASSERT_TRUE(
      test::write_tiny_grid(dir, "methods", "  coreset_ratio: 0.5\n", "  method: [cfm, memory_bank]\n"));
  auto run = test::run_command(test::tiny_grid_command(dir));
  ASSERT_EQ(run.exit_code, 0) << run.output;
  EXPECT_NE(run.output.find("2 succeeded, 0 failed"), std::string::npos) << run.output;

  Database db(dir / "r.sqlite");
  Statement rows = db.prepare(
      "SELECT json_extract(j.config, '$.method'), j.config, r.payload FROM jobs j JOIN results r ON r.key = "
      "j.key ORDER BY 1");
  std::map<std::string, std::pair<nlohmann::json, nlohmann::json>> by_method;
  while (rows.step())
    by_method[rows.text(0)] = {nlohmann::json::parse(rows.text(1)), nlohmann::json::parse(rows.text(2))};
  ASSERT_EQ(by_method.size(), 2u);
  const auto& [cfm_config, cfm_result] = by_method.at("cfm");
  const auto& [bank_config, bank_result] = by_method.at("memory_bank");
  // Each job holds its own method's settings only (the grid gave both).
  EXPECT_TRUE(cfm_config.contains("epochs"));
  EXPECT_FALSE(cfm_config.contains("coreset_ratio"));
  EXPECT_FALSE(bank_config.contains("epochs"));
  EXPECT_EQ(bank_config["coreset_ratio"], 0.5);
  EXPECT_EQ(bank_config["bank_recipe"], "m3dm");

  // The bank job: defined metrics, the bank file as its model, fit timings, fps and memory measured.
  for (const char* metric : {"i_auroc", "p_auroc", "aupro@0.3"}) {
    ASSERT_TRUE(bank_result["metrics"][metric].is_number()) << metric << bank_result.dump();
    EXPECT_GE(bank_result["metrics"][metric].get<double>(), 0);
    EXPECT_LE(bank_result["metrics"][metric].get<double>(), 1);
  }
  for (const char* stage : {"fit", "extract", "coreset", "infer", "total"})
    EXPECT_TRUE(bank_result["timings"].contains(stage)) << stage;
  EXPECT_TRUE(cfm_result["timings"].contains("fit"));
  EXPECT_GT(bank_result["resources"]["inference_fps"].get<double>(), 0);
  EXPECT_GT(bank_result["resources"]["peak_rss_bytes"].get<double>(), 0);
  const std::string bank_file = bank_result["artifacts"]["memory_bank"];
  EXPECT_EQ(bank_result["resources"]["model_bytes"].get<std::int64_t>(),
            static_cast<std::int64_t>(fs::file_size(bank_file)));
  // The bank file as torch.load would read it: 3 samples x 56² 3D patches halved, then the RGB coreset
  // sized from that (M3DM's recipe): 3 x 56² x 0.5 x 0.5 rows; the tiny ViT has 14 x 14 tokens per sample.
  StateDict bank = read_checkpoint(bank_file);
  EXPECT_EQ(bank.at("xyz_bank").size(0), 3 * 56 * 56 / 2);
  EXPECT_EQ(bank.at("rgb_bank").size(0), std::min<std::int64_t>(3 * 56 * 56 / 4, 3 * 14 * 14));
  EXPECT_EQ(bank_result["resources"]["parameters"].get<std::int64_t>(),
            bank.at("xyz_bank").numel() + bank.at("rgb_bank").numel());
  EXPECT_TRUE(
      fs::exists(bank_result["artifacts"]["run_dir"].get<std::string>() + "/eval/maps-3d/good/000.tiff"));

  auto paper = test::run_command(fmt::format("{} results paper --db {}", kCfm, dir / "r.sqlite"));
  ASSERT_EQ(paper.exit_code, 0) << paper.output;
  for (const char* part :
       {"method=cfm i_auroc", "method=memory_bank i_auroc", "method=memory_bank aupro@0.01", "## Efficiency",
        "| cfm | ", "| memory_bank | ", "seconds_fit"})
    EXPECT_NE(paper.output.find(part), std::string::npos) << part << "\n" << paper.output;
  EXPECT_EQ(paper.output.find("## Few-shot"), std::string::npos) << paper.output;  // shots never varied
}

}  // namespace
}  // namespace cfm
