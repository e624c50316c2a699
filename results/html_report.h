// `cfm results report`: one self-contained HTML file a researcher can open offline or mail, of a finished
// grid or one still running:
//  - progress: jobs per state for each value of each axis, and every failed job with its one-line error
//    and log path;
//  - the paper's tables (results/paper_tables.h: methods and variants side by side, only replicates
//    pooled; cells of unfinished jobs marked);
//  - the figures (gnuplot SVG, inlined, with gnuplot's own hover script: labelled curves, point values);
//  - a gallery of each finished job's best and worst samples (PNG panels inlined as data URIs).
// A small script in the page checks that every figure rendered and records script errors, so a headless
// browser can verify the page.
#pragma once

#include <string>

#include "results/result_rows.h"

namespace cfm {

class Database;

struct ReportOptions {
  std::string out_path;  // the .html file
  std::string title = "CFM results";
  int gallery_per_kind = 1;
};

// `rows`: every job of the selection, finished or not (read in one transaction: a consistent snapshot).
// Returns a one-line summary (tables, figures, panels).
std::string write_html_report(Database& db, const std::vector<ResultRow>& rows, const ReportOptions& options);

}  // namespace cfm
