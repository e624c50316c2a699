// Figures from the results database with gnuplot (Debian's gnuplot-nox), each written as PNG and SVG:
//   shots       metric vs training samples, one line per category (mean ± std over seeds as error bars)
//   layers      metric vs transformer blocks kept, one line per category
//   fps-memory  inference fps vs peak RSS, one point per value of a setting (default layers_kept)
//   pro         PRO curves (FPR up to 0.3) of the selected jobs, one per job
// The data files and the gnuplot script stay beside the figures, so a figure can be restyled by hand.
#pragma once

#include <string>
#include <vector>

#include "results/result_rows.h"

namespace cfm {

class Database;

struct PlotRequest {
  std::string kind;  // shots, layers, fps-memory, pro
  std::string metric = "aupro@0.3";
  std::string group_by = "layers_kept";  // fps-memory
  std::string out_dir;
};

// Returns the paths written (PNG and SVG). UsageError for an unknown kind, a setting that never varies
// in the selected rows, or jobs without stored PRO curves.
std::vector<std::string> write_plot(Database& db, const std::vector<ResultRow>& rows,
                                    const PlotRequest& request);

}  // namespace cfm
