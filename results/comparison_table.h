// A comparison table over result rows (`cfm results table`, `cfm results paper`, the HTML report): rows and
// columns are combinations of values of one or more settings (a pivot table); each cell is the mean ±
// sample standard deviation over the finished jobs that share them, with their count. The table says over
// which settings its cells pool jobs (seeds, normally), the best cell of each row (per metric) is marked,
// a mean row closes it, a combination no job covers stays missing (never zero), and a cell whose jobs
// have not all finished says how many are still to come or failed.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

#include "results/result_rows.h"

namespace cfm {

struct TableCell {
  std::size_t n = 0;           // finished jobs with a defined value
  std::size_t undefined = 0;   // finished jobs whose value is undefined (e.g. I-AUROC without good images)
  std::size_t unfinished = 0;  // jobs pending, leased or running
  std::size_t failed = 0;      // jobs that failed for good
  double mean = 0, std = 0;    // std: sample standard deviation (0 for n = 1)
  bool best = false;
};

struct ComparisonTable {
  std::vector<std::string> row_settings, col_settings;       // col_settings empty: one column
  std::vector<std::vector<std::string>> row_keys, col_keys;  // each row's (column's) values of those settings
  std::vector<std::string> metrics;
  std::vector<std::string> pooled;  // settings whose values differ among the jobs of some cell
  std::map<std::tuple<std::size_t, std::size_t, std::size_t>, TableCell> cells;  // (row, col, metric)
  std::map<std::pair<std::size_t, std::size_t>, TableCell> mean_row;  // (col, metric): mean of the row means

  const TableCell* cell(std::size_t r, std::size_t c, std::size_t m) const;
  std::string row_title() const;               // "category" or "method, layers_kept"
  std::string row_label(std::size_t r) const;  // "cookie" or "cfm, 4"
  std::string col_label(
      std::size_t c) const;         // "layers_kept=4" or "method=cfm, layers_kept=4" ("": one column)
  std::string pooled_note() const;  // "Cells: mean ± std (n) over seed." or "one job per cell."
};

// Rows and columns are the combinations of `row_settings` (`col_settings`) values that occur, in numeric
// order per setting where all its values are numbers, else in order of first appearance. Rows of jobs that
// have not succeeded count as unfinished or failed. UsageError naming an unknown setting or metric and
// listing the available ones.
ComparisonTable build_comparison_table(const std::vector<ResultRow>& rows,
                                       const std::vector<std::string>& row_settings,
                                       const std::vector<std::string>& col_settings,
                                       const std::vector<std::string>& metrics);

// The combinations of `settings` values among the rows, in the order a table lists them (above).
std::vector<std::vector<std::string>> setting_combinations(const std::vector<ResultRow>& rows,
                                                           const std::vector<std::string>& settings);
// A row's values of `settings` ("" where it has none).
std::vector<std::string> setting_values(const ResultRow& row, const std::vector<std::string>& settings);
// "method=cfm, layers_kept=4": each setting with its value.
std::string named_values(const std::vector<std::string>& settings, const std::vector<std::string>& values);

// A table value with 3 significant decimals below 10, 2 below 1000, none above (shared by every format).
std::string format_value(double v);

// "0.850 ± 0.071 (2)", "0.700 (1; 1 unfinished)", "(2 unfinished)", "undef.", "" for a missing cell.
std::string cell_text(const TableCell* cell, const char* plus_minus);

std::string render_markdown(const ComparisonTable& t);
std::string render_latex(const ComparisonTable& t);  // booktabs tabular
std::string render_csv(const ComparisonTable& t);    // long format: one field per row/column setting
std::string render_json(const ComparisonTable& t);

}  // namespace cfm
