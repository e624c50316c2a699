// `cfm results report`: one self-contained HTML file a researcher can open offline or mail: the paper's
// tables (from the database rows), the figures (gnuplot SVG, inlined), and a gallery of each job's best
// and worst samples (PNG panels inlined as data URIs). A small script in the page checks that every
// figure rendered and records script errors, so a headless browser can verify the page.
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

// Returns a one-line summary (tables, figures, panels).
std::string write_html_report(Database& db, const std::vector<ResultRow>& rows, const ReportOptions& options);

}  // namespace cfm
