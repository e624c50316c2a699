// The paper's tables are shaped by what varies: methods and variants are columns or sections, never
// pooled; only replicate settings are.
#include "results/paper_tables.h"

#include <gtest/gtest.h>

namespace cfm {
namespace {

ResultRow job(const std::string& method, int layers, const std::string& category, int seed, int shots = 0,
              int split_seed = 0) {
  ResultRow r;
  r.key = method + std::to_string(layers) + category + std::to_string(seed) + std::to_string(shots) +
          std::to_string(split_seed);
  r.state = "succeeded";
  r.settings = {{"method", method},
                {"layers_kept", std::to_string(layers)},
                {"category", category},
                {"seed", std::to_string(seed)},
                {"shots", std::to_string(shots)},
                {"split_seed", std::to_string(split_seed)},
                {"threads", std::to_string(seed)},                  // changes no result: never a variant
                {"dataset", "/data/" + std::to_string(seed % 2)}};  // a path: fingerprinted, not compared
  const double base = (method == "cfm" ? 0.9 : 0.8) - (layers == 4 ? 0.05 : 0) + 0.001 * seed;
  r.values = {{"i_auroc", base},
              {"aupro@0.3", base - 0.1},
              {"aupro@0.01", base - 0.5},
              {"p_auroc", base + 0.05},
              {"inference_fps", method == "cfm" ? 20.0 / layers : 5.0},
              {"peak_rss_gb", method == "cfm" ? 1.0 : 3.0},
              {"model_mb", method == "cfm" ? 22.0 : 300.0},
              {"seconds_fit", 10.0}};
  return r;
}

const PaperSection* section(const std::vector<PaperSection>& all, const std::string& kind,
                            std::size_t nth = 0) {
  for (const PaperSection& s : all)
    if (s.kind == kind && nth-- == 0) return &s;
  return nullptr;
}

TEST(PaperTables, TwoMethodsAndTwoVariantsStandSideBySideOnlySeedsPooled) {
  std::vector<ResultRow> rows;
  for (const char* method : {"cfm", "memory_bank"})
    for (int layers : {12, 4})
      for (const char* category : {"bagel", "cookie"})
        for (int seed : {1, 2}) rows.push_back(job(method, layers, category, seed));
  EXPECT_EQ(variant_settings(rows), (std::vector<std::string>{"method", "layers_kept"}));
  std::vector<PaperSection> sections = paper_sections(rows);

  const PaperSection* detection = section(sections, "detection");
  ASSERT_TRUE(detection);
  ASSERT_EQ(detection->table.col_keys.size(), 4u);
  EXPECT_EQ(detection->table.col_label(0), "method=cfm, layers_kept=4");
  EXPECT_EQ(detection->table.col_label(3), "method=memory_bank, layers_kept=12");
  EXPECT_EQ(detection->table.pooled, std::vector<std::string>{"seed"});
  EXPECT_EQ(detection->table.cell(0, 3, 0)->n, 2u);  // bagel, memory_bank with 12 blocks: two seeds
  EXPECT_NEAR(detection->table.cell(0, 3, 0)->mean, 0.8015, 1e-12);

  // Pruning once per method, with its cost; no few-shot section (shots never varies).
  const PaperSection* pruning = section(sections, "pruning");
  ASSERT_TRUE(pruning);
  EXPECT_EQ(pruning->title, "Layer pruning: metric vs transformer blocks kept (method=cfm)");
  EXPECT_EQ(section(sections, "pruning", 1)->title,
            "Layer pruning: metric vs transformer blocks kept (method=memory_bank)");
  EXPECT_EQ(pruning->table.col_settings, std::vector<std::string>{"layers_kept"});
  const PaperSection* cost = section(sections, "pruning-cost");
  ASSERT_TRUE(cost);
  EXPECT_EQ(cost->table.metrics,
            (std::vector<std::string>{"i_auroc", "aupro@0.3", "inference_fps", "peak_rss_gb"}));  // no GPU
  EXPECT_EQ(section(sections, "few-shot"), nullptr);

  const PaperSection* efficiency = section(sections, "efficiency");
  ASSERT_TRUE(efficiency);
  EXPECT_EQ(efficiency->table.row_settings, (std::vector<std::string>{"method", "layers_kept"}));
  EXPECT_EQ(efficiency->table.row_keys.size(), 4u);
  EXPECT_EQ(efficiency->table.metrics,
            (std::vector<std::string>{"inference_fps", "peak_rss_gb", "model_mb", "seconds_fit"}));
  EXPECT_EQ(efficiency->table.pooled, (std::vector<std::string>{"category", "seed"}));
  for (const PaperSection& s : sections)
    for (const std::string& pooled : s.table.pooled)
      EXPECT_TRUE(pooled == "seed" || pooled == "category") << s.title << " pools " << pooled;
}

TEST(PaperTables, AFewShotStudyPoolsSplitSeedsAndTablesShots) {
  std::vector<ResultRow> rows;
  for (int shots : {5, 10, 50})
    for (int split_seed : {0, 1, 2}) rows.push_back(job("cfm", 12, "cookie", 115, shots, split_seed));
  std::vector<PaperSection> sections = paper_sections(rows);
  const PaperSection* few_shot = section(sections, "few-shot");
  ASSERT_TRUE(few_shot);
  EXPECT_EQ(few_shot->title, "Few-shot: metric vs training samples (0 = all)");
  EXPECT_EQ(few_shot->table.col_keys, (std::vector<std::vector<std::string>>{{"5"}, {"10"}, {"50"}}));
  EXPECT_EQ(few_shot->table.pooled, std::vector<std::string>{"split_seed"});
  EXPECT_EQ(few_shot->table.cell(0, 1, 0)->n, 3u);
  EXPECT_EQ(section(sections, "pruning"), nullptr);
}

TEST(PaperTables, GroupsFollowTheTableOrder) {
  std::vector<ResultRow> rows = {job("cfm", 12, "a", 1), job("cfm", 4, "a", 1),
                                 job("memory_bank", 8, "a", 1)};
  auto groups = group_rows(rows, {"layers_kept"});
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].first, "layers_kept=4");
  EXPECT_EQ(groups[2].first, "layers_kept=12");
  EXPECT_EQ(group_rows(rows, {}).size(), 1u);
}

}  // namespace
}  // namespace cfm
