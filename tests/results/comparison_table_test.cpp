#include "results/comparison_table.h"

#include <gtest/gtest.h>

#include <cmath>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/util/error.h"

namespace cfm {
namespace {

ResultRow row(const std::string& category, int layers, int seed, std::optional<double> i_auroc, double fps) {
  ResultRow r;
  r.key = category + std::to_string(layers) + std::to_string(seed);
  r.settings = {
      {"category", category}, {"layers_kept", std::to_string(layers)}, {"seed", std::to_string(seed)}};
  r.values = {{"i_auroc", i_auroc}, {"inference_fps", fps}};
  return r;
}

std::vector<ResultRow> rows() {
  return {row("cookie", 12, 1, 0.90, 1.0), row("cookie", 12, 2, 0.80, 1.2), row("cookie", 4, 1, 0.70, 3.0),
          row("bagel", 12, 1, 0.60, 1.1),
          row("bagel", 12, 2, std::nullopt, 1.1)};  // bagel/4 missing; one undefined
}

TEST(ComparisonTable, MeanStdCountBestAndMissingCells) {
  ComparisonTable t = build_comparison_table(rows(), {"category"}, {"layers_kept"}, {"i_auroc"});
  EXPECT_EQ(t.row_keys, (std::vector<std::vector<std::string>>{{"cookie"}, {"bagel"}}));  // first appearance
  EXPECT_EQ(t.col_keys, (std::vector<std::vector<std::string>>{{"4"}, {"12"}}));          // numeric order
  EXPECT_EQ(t.pooled, std::vector<std::string>{"seed"});
  const TableCell* c = t.cell(0, 1, 0);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->n, 2u);
  EXPECT_NEAR(c->mean, 0.85, 1e-12);
  EXPECT_NEAR(c->std, std::sqrt(0.005), 1e-12);  // sample std of {0.9, 0.8}
  EXPECT_TRUE(c->best);                          // 0.85 > 0.70
  EXPECT_FALSE(t.cell(0, 0, 0)->best);
  EXPECT_EQ(t.cell(1, 0, 0), nullptr);  // no bagel job with 4 layers: missing, not zero
  EXPECT_EQ(t.cell(1, 1, 0)->n, 1u);
  EXPECT_EQ(t.cell(1, 1, 0)->undefined, 1u);
  EXPECT_NEAR(t.mean_row.at({1, 0}).mean, (0.85 + 0.60) / 2, 1e-12);
  std::string md = render_markdown(t);
  EXPECT_NE(md.find("| cookie | 0.700 (1) | **0.850 ± 0.071 (2)** |"), std::string::npos) << md;
  EXPECT_NE(md.find("| bagel | — | 0.600 (1) |"), std::string::npos) << md;
  EXPECT_NE(md.find("| mean | 0.700 (partial) | 0.725 |"), std::string::npos) << md;
  EXPECT_NE(md.find("Cells: mean ± sample std over seed (count in brackets)."), std::string::npos) << md;
}

TEST(ComparisonTable, LowerIsBetterForCostsAndTheFormatsCarryTheSameCells) {
  std::vector<ResultRow> r = rows();
  r.push_back(row("cookie", 4, 2, 0.72, 2.0));
  r[0].values["seconds_total"] = 10.0;
  r[2].values["seconds_total"] = 4.0;
  ComparisonTable t = build_comparison_table(r, {"category"}, {"layers_kept"}, {"seconds_total"});
  EXPECT_TRUE(t.cell(0, 0, 0)->best);  // 4 s beats 10 s
  std::string latex =
      render_latex(build_comparison_table(r, {"category"}, {"layers_kept"}, {"i_auroc", "inference_fps"}));
  EXPECT_EQ(latex.rfind("\\begin{tabular}{lcccc}\n\\toprule\n", 0), 0u) << latex;
  for (const char* part : {"\\midrule", "\\bottomrule\n\\end{tabular}", "$\\pm$", "\\textbf{",
                           "layers\\_kept=12 i\\_auroc", "Mean &"})
    EXPECT_NE(latex.find(part), std::string::npos) << part << "\n" << latex;
  std::string csv = render_csv(t);
  EXPECT_NE(csv.find("category,layers_kept,metric,mean,std,n,undefined,unfinished,failed,best\n"),
            std::string::npos);
  EXPECT_NE(csv.find("bagel,4,seconds_total,,,0,0,0,0,0"), std::string::npos) << csv;
  EXPECT_NE(render_json(t).find("\"metric\": \"seconds_total\""), std::string::npos);
}

TEST(ComparisonTable, UnknownNamesListWhatIsAvailable) {
  try {
    build_comparison_table(rows(), {"category"}, {"layers"}, {"i_auroc"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "unknown setting 'layers' for rows/columns (available: category, layers_kept, seed)"),
              std::string::npos)
        << e.what();
  }
  try {
    build_comparison_table(rows(), {"category"}, {}, {"auroc"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown metric 'auroc' (available: i_auroc, inference_fps)"),
              std::string::npos)
        << e.what();
  }
}

TEST(WhereClause, AlternativesExclusionsAndComparisons) {
  auto w = parse_where("shots<=10,category=cookie|bagel,layers_kept!=4,seed>1");
  ASSERT_EQ(w.size(), 4u);
  EXPECT_EQ(w[0].setting, "shots");
  EXPECT_EQ(w[0].op, "<=");
  EXPECT_TRUE(w[0].matches("10"));
  EXPECT_TRUE(w[0].matches("0"));
  EXPECT_FALSE(w[0].matches("50"));
  EXPECT_FALSE(w[0].matches("all"));  // not a number: never passes a comparison
  EXPECT_EQ(w[1].values, (std::vector<std::string>{"cookie", "bagel"}));
  EXPECT_TRUE(w[1].matches("bagel"));
  EXPECT_FALSE(w[1].matches("tire"));
  EXPECT_FALSE(w[2].matches("4"));
  EXPECT_TRUE(w[2].matches("12"));
  EXPECT_TRUE(w[3].matches("2"));
  EXPECT_FALSE(w[3].matches("1"));
  EXPECT_EQ(parse_where("grid=56")[0].setting, "feature_grid");  // a renamed setting's old name
  for (const char* bad : {"shots", "=3", "shots<", "shots<=ten", "a=b|", "a!b", "shots=<3"})
    EXPECT_THROW(parse_where(bad), UsageError) << bad;
}

// Rows and columns as combinations of several settings (a pivot table), in numeric order per setting.
TEST(ComparisonTable, SeveralSettingsMakeRowsAndColumns) {
  std::vector<ResultRow> r = rows();
  r.push_back(row("bagel", 4, 1, 0.65, 2.5));
  for (std::size_t i = 0; i < r.size(); ++i) r[i].settings["method"] = i % 2 ? "memory_bank" : "cfm";
  ComparisonTable t = build_comparison_table(r, {"category"}, {"method", "layers_kept"}, {"i_auroc"});
  ASSERT_EQ(t.col_keys.size(), 4u);
  EXPECT_EQ(t.col_label(0), "method=cfm, layers_kept=4");
  EXPECT_EQ(t.col_label(3), "method=memory_bank, layers_kept=12");
  EXPECT_TRUE(t.pooled.empty());  // one job per cell here
  EXPECT_NE(render_markdown(t).find("Cells: one job each"), std::string::npos);
  std::string md = render_markdown(t);
  EXPECT_NE(md.find("| category | method=cfm, layers_kept=4 | method=cfm, layers_kept=12 |"),
            std::string::npos)
      << md;
  ComparisonTable by_rows = build_comparison_table(r, {"method", "layers_kept"}, {}, {"inference_fps"});
  EXPECT_EQ(by_rows.row_title(), "method, layers_kept");
  EXPECT_EQ(by_rows.row_label(0), "cfm, 4");
  EXPECT_EQ(by_rows.pooled, (std::vector<std::string>{"category", "seed"}));  // said, never silent
  // Every format carries the same cells: CSV has one field per setting, JSON names them.
  std::string csv = render_csv(t);
  EXPECT_NE(csv.find("category,method,layers_kept,metric,"), std::string::npos) << csv;
  EXPECT_NE(csv.find("cookie,cfm,12,i_auroc,0.9,0,1,0,0,0,1\n"), std::string::npos) << csv;
  nlohmann::json json = nlohmann::json::parse(render_json(t));
  EXPECT_EQ(json["pooled_over"], nlohmann::json::array());
  int cells_with_values = 0;
  for (const auto& cell : json["cells"])
    if (cell["n"].get<int>() > 0 && cell["row"].is_object()) ++cells_with_values;
  int csv_cells_with_values = 0;
  std::istringstream lines(csv);
  std::string line;
  std::getline(lines, line);
  while (std::getline(lines, line))
    if (line.rfind("mean,", 0) != 0 && line.find(",,,0,") == std::string::npos) ++csv_cells_with_values;
  EXPECT_EQ(cells_with_values, csv_cells_with_values);
}

// A running grid: cells count the jobs still to come and those that failed, apart from the finished ones.
TEST(ComparisonTable, UnfinishedAndFailedJobsAreCountedNotAveraged) {
  std::vector<ResultRow> r = rows();
  ResultRow running = row("bagel", 4, 1, std::nullopt, 0);
  running.state = "running";
  running.values.clear();
  ResultRow failed = row("cookie", 4, 3, std::nullopt, 0);
  failed.state = "failed";
  failed.values.clear();
  r.push_back(running);
  r.push_back(failed);
  ComparisonTable t = build_comparison_table(r, {"category"}, {"layers_kept"}, {"i_auroc"});
  const TableCell* bagel4 = t.cell(1, 0, 0);
  ASSERT_TRUE(bagel4);
  EXPECT_EQ(bagel4->n, 0u);
  EXPECT_EQ(bagel4->unfinished, 1u);
  EXPECT_EQ(cell_text(bagel4, "±"), "(1 unfinished)");
  const TableCell* cookie4 = t.cell(0, 0, 0);
  EXPECT_EQ(cookie4->n, 1u);
  EXPECT_EQ(cookie4->failed, 1u);
  EXPECT_EQ(cell_text(cookie4, "±"), "0.700 (1; 1 failed)");
  EXPECT_NEAR(cookie4->mean, 0.70, 1e-12);  // the failed job adds nothing to the mean
}

}  // namespace
}  // namespace cfm
