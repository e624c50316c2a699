// The finished jobs of a results database as flat rows for tables and exports: every resolved setting
// (so any setting can be a row or column, axis or not), every metric, and the resource and timing
// figures under derived names (inference_fps, peak_rss_gb, parameters, model_mb, seconds_<stage>).
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "results/where_clause.h"

namespace cfm {

class Database;

struct ResultRow {
  std::string key, grid, state;
  std::map<std::string, std::string> settings;          // resolved configuration, values as text
  std::map<std::string, std::optional<double>> values;  // metrics and figures (nullopt: undefined)
};

struct RowFilter {
  std::string grid;                // "" = every grid
  std::vector<WhereClause> where;  // all must hold
  bool succeeded_only = true;      // false: every job, finished or not (its figures empty until it is)
};

// Throws UsageError when the database has no grid of that name (listing the grids there are) or no
// finished job at all, and when a `where` setting is unknown.
std::vector<ResultRow> load_result_rows(Database& db, const RowFilter& filter);

// Names usable as metrics / settings in these rows, for messages.
std::vector<std::string> value_names(const std::vector<ResultRow>& rows);
std::vector<std::string> setting_names(const std::vector<ResultRow>& rows);

// True when the rows hold at least two values of `setting` (a missing setting counts as a value).
bool setting_varies(const std::vector<ResultRow>& rows, const std::string& setting);

// Higher is better for detection metrics and fps; lower for time, memory and size.
bool higher_is_better(const std::string& value_name);

}  // namespace cfm
