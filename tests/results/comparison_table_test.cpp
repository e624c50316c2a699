#include "results/comparison_table.h"

#include <gtest/gtest.h>

#include <cmath>

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
  ComparisonTable t = build_comparison_table(rows(), "category", "layers_kept", {"i_auroc"});
  EXPECT_EQ(t.row_labels, (std::vector<std::string>{"cookie", "bagel"}));  // first appearance
  EXPECT_EQ(t.col_labels, (std::vector<std::string>{"4", "12"}));          // numeric order
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
}

TEST(ComparisonTable, LowerIsBetterForCostsAndTheFormatsCarryTheSameCells) {
  std::vector<ResultRow> r = rows();
  r.push_back(row("cookie", 4, 2, 0.72, 2.0));
  r[0].values["seconds_total"] = 10.0;
  r[2].values["seconds_total"] = 4.0;
  ComparisonTable t = build_comparison_table(r, "category", "layers_kept", {"seconds_total"});
  EXPECT_TRUE(t.cell(0, 0, 0)->best);  // 4 s beats 10 s
  std::string latex =
      render_latex(build_comparison_table(r, "category", "layers_kept", {"i_auroc", "inference_fps"}));
  EXPECT_EQ(latex.rfind("\\begin{tabular}{lcccc}\n\\toprule\n", 0), 0u) << latex;
  for (const char* part : {"\\midrule", "\\bottomrule\n\\end{tabular}", "$\\pm$", "\\textbf{",
                           "layers\\_kept=12 i\\_auroc", "Mean &"})
    EXPECT_NE(latex.find(part), std::string::npos) << part << "\n" << latex;
  std::string csv = render_csv(t);
  EXPECT_NE(csv.find("category,layers_kept,metric,mean,std,n,undefined,best\n"), std::string::npos);
  EXPECT_NE(csv.find("bagel,4,seconds_total,,,0,0,0"), std::string::npos) << csv;
  EXPECT_NE(render_json(t).find("\"metric\": \"seconds_total\""), std::string::npos);
}

TEST(ComparisonTable, UnknownNamesListWhatIsAvailable) {
  try {
    build_comparison_table(rows(), "category", "layers", {"i_auroc"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find(
                  "unknown setting 'layers' for rows/columns (available: category, layers_kept, seed)"),
              std::string::npos)
        << e.what();
  }
  try {
    build_comparison_table(rows(), "category", "", {"auroc"});
    FAIL();
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("unknown metric 'auroc' (available: i_auroc, inference_fps)"),
              std::string::npos)
        << e.what();
  }
}

TEST(ComparisonTable, WhereClausesParse) {
  auto w = parse_where("shots=10,category=cookie");
  ASSERT_EQ(w.size(), 2u);
  EXPECT_EQ(w[1], (std::pair<std::string, std::string>{"category", "cookie"}));
  EXPECT_THROW(parse_where("shots"), UsageError);
  EXPECT_THROW(parse_where("=3"), UsageError);
}

}  // namespace
}  // namespace cfm
