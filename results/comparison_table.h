// A comparison table over result rows (`cfm results table`): one row per value of a row setting, one
// column per value of a column setting and metric; each cell is the mean ± sample standard deviation
// over the jobs that share those values (typically seeds), with their count. The best cell of each row
// (per metric) is marked, a mean row closes the table, and a combination no job covers stays missing —
// never zero.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "results/result_rows.h"

namespace cfm {

struct TableCell {
  std::size_t n = 0;          // jobs with a defined value
  std::size_t undefined = 0;  // jobs whose value is undefined (e.g. I-AUROC without good images)
  double mean = 0, std = 0;   // std: sample standard deviation (0 for n = 1)
  bool best = false;
};

struct ComparisonTable {
  std::string row_setting, col_setting;  // col_setting "" = one column
  std::vector<std::string> row_labels, col_labels, metrics;
  std::map<std::tuple<std::size_t, std::size_t, std::size_t>, TableCell> cells;  // (row, col, metric)
  std::map<std::pair<std::size_t, std::size_t>, TableCell> mean_row;  // (col, metric): mean of the row means

  const TableCell* cell(std::size_t r, std::size_t c, std::size_t m) const;
};

// UsageError naming the unknown setting or metric and listing the available ones.
ComparisonTable build_comparison_table(const std::vector<ResultRow>& rows, const std::string& row_setting,
                                       const std::string& col_setting,
                                       const std::vector<std::string>& metrics);

// A table value with 3 significant decimals below 10, 2 below 1000, none above (shared by every format).
std::string format_value(double v);

std::string render_markdown(const ComparisonTable& t);
std::string render_latex(const ComparisonTable& t);  // booktabs tabular
std::string render_csv(const ComparisonTable& t);    // long format: row,column,metric,mean,std,n,best
std::string render_json(const ComparisonTable& t);

}  // namespace cfm
