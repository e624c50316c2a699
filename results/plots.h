// Figures from the results database with gnuplot (Debian's gnuplot-nox), each written as PNG and SVG:
//   shots       metric vs training samples, one line per category and combination of the other variant
//               settings (results/paper_tables.h: methods and variants are never pooled; mean ± std over
//               seeds as error bars)
//   layers      metric vs transformer blocks kept, likewise
//   fps-memory  inference fps vs peak RSS, one labelled point per combination of `group_by` (default: every
//               variant setting)
//   pro         PRO curves (FPR up to 0.3), one per job, titled by category, variant and seed
// Every legend entry is unique. The SVG is interactive (gnuplot's mouse standalone script): hovering a
// point shows its job's or cell's values, a curve its title. The data files and the gnuplot script stay
// beside the figures, so a figure can be restyled by hand.
#pragma once

#include <string>
#include <vector>

#include "results/result_rows.h"

namespace cfm {

class Database;

struct PlotRequest {
  std::string kind;  // shots, layers, fps-memory, pro
  std::string metric = "aupro@0.3";
  std::vector<std::string> group_by;  // fps-memory ("": every variant setting)
  std::string out_dir;
};

// Returns the paths written (PNG and SVG). UsageError for an unknown kind, a setting that never varies
// in the selected rows, or jobs without stored PRO curves.
std::vector<std::string> write_plot(Database& db, const std::vector<ResultRow>& rows,
                                    const PlotRequest& request);

}  // namespace cfm
