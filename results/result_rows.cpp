#include "results/result_rows.h"

#include <algorithm>
#include <nlohmann/json.hpp>
#include <set>

#include "common/settings/settings.h"
#include "common/store/sqlite.h"
#include "common/util/error.h"

namespace cfm {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out.empty() ? "(none)" : out;
}

std::vector<std::string> grids_in(Database& db) {
  Statement s = db.prepare("SELECT name FROM grids ORDER BY name");
  std::vector<std::string> names;
  while (s.step()) names.push_back(s.text(0));
  return names;
}

std::string as_text(const nlohmann::json& v) { return v.is_string() ? v.get<std::string>() : v.dump(); }

void add_figures(Database& db, ResultRow& row) {
  Statement metrics = db.prepare("SELECT name, value FROM metrics WHERE key = ?1");
  metrics.bind(1, row.key);
  while (metrics.step())
    row.values[metrics.text(0)] = metrics.is_null(1) ? std::nullopt : std::optional<double>(metrics.real(1));
  Statement timings = db.prepare("SELECT stage, seconds FROM timings WHERE key = ?1");
  timings.bind(1, row.key);
  while (timings.step()) row.values["seconds_" + timings.text(0)] = timings.real(1);
  Statement r = db.prepare(
      "SELECT inference_fps, peak_rss_bytes, parameters, model_bytes, peak_gpu_bytes FROM resources WHERE "
      "key = ?1");
  r.bind(1, row.key);
  if (r.step()) {
    auto real = [&](int c, double scale) {
      return r.is_null(c) ? std::nullopt : std::optional<double>(r.real(c) * scale);
    };
    row.values["inference_fps"] = real(0, 1);
    row.values["peak_rss_gb"] = real(1, 1e-9);
    row.values["parameters"] = real(2, 1);
    row.values["model_mb"] = real(3, 1e-6);
    if (!r.is_null(4)) row.values["peak_gpu_gb"] = real(4, 1e-9);
  }
}

}  // namespace

std::vector<ResultRow> load_result_rows(Database& db, const RowFilter& filter) {
  std::vector<std::string> grids = grids_in(db);
  if (grids.empty())
    throw UsageError(db.path() + ": the database holds no grid yet (run or submit one first)");
  if (!filter.grid.empty() && std::find(grids.begin(), grids.end(), filter.grid) == grids.end())
    throw UsageError("no grid '" + filter.grid + "' in " + db.path() + " (grids: " + join(grids) + ")");
  std::string sql =
      "SELECT j.key, g.grid, j.state, j.config FROM jobs j JOIN grid_jobs g ON g.key = j.key WHERE 1 = 1";
  if (!filter.grid.empty()) sql += " AND g.grid = ?1";
  if (filter.succeeded_only) sql += " AND j.state = 'succeeded'";
  sql += " ORDER BY g.grid, g.position";
  Statement s = db.prepare(sql);
  if (!filter.grid.empty()) s.bind(1, filter.grid);
  std::vector<ResultRow> rows;
  while (s.step()) {
    ResultRow row{s.text(0), s.text(1), s.text(2), {}, {}};
    const nlohmann::json config = nlohmann::json::parse(s.text(3));  // kept alive: items() does not own it
    for (const auto& [name, value] : config.items()) row.settings[name] = as_text(value);
    rows.push_back(std::move(row));
  }
  if (rows.empty())
    throw UsageError("no " + std::string(filter.succeeded_only ? "finished " : "") + "job in " +
                     (filter.grid.empty() ? "any grid" : "grid '" + filter.grid + "'") + " of " + db.path());
  std::vector<std::string> settings = setting_names(rows);
  for (const WhereClause& clause : filter.where)
    if (std::find(settings.begin(), settings.end(), clause.setting) == settings.end())
      throw UsageError("--where: unknown setting '" + clause.setting + "' (available: " + join(settings) +
                       ")");
  std::vector<ResultRow> kept;
  for (auto& row : rows) {
    bool match = true;
    for (const WhereClause& clause : filter.where)
      match = match && row.settings.count(clause.setting) && clause.matches(row.settings[clause.setting]);
    if (match) {
      add_figures(db, row);
      kept.push_back(std::move(row));
    }
  }
  if (kept.empty())
    throw UsageError("no finished job matches --where (" + std::to_string(rows.size()) +
                     " before filtering)");
  return kept;
}

std::vector<std::string> value_names(const std::vector<ResultRow>& rows) {
  std::set<std::string> names;
  for (const auto& r : rows)
    for (const auto& [name, value] : r.values) names.insert(name);
  return {names.begin(), names.end()};
}

std::vector<std::string> setting_names(const std::vector<ResultRow>& rows) {
  std::set<std::string> names;
  for (const auto& r : rows)
    for (const auto& [name, value] : r.settings) names.insert(name);
  return {names.begin(), names.end()};
}

bool setting_varies(const std::vector<ResultRow>& rows, const std::string& setting) {
  std::set<std::string> values;
  for (const auto& r : rows) values.insert(r.settings.count(setting) ? r.settings.at(setting) : "");
  return values.size() > 1;
}

bool higher_is_better(const std::string& name) {
  return !(name.rfind("seconds_", 0) == 0 || name == "peak_rss_gb" || name == "peak_gpu_gb" ||
           name == "model_mb" || name == "parameters");
}

}  // namespace cfm
