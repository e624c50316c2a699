#include "results/comparison_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>
#include <set>

#include "common/settings/settings.h"
#include "common/util/error.h"

namespace cfm {
namespace {

std::string join(const std::vector<std::string>& names, const char* separator = ", ") {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : separator) + n;
  return out;
}

bool is_number(const std::string& s) {
  char* end = nullptr;
  std::strtod(s.c_str(), &end);
  return !s.empty() && *end == '\0';
}

}  // namespace

std::vector<std::string> setting_values(const ResultRow& row, const std::vector<std::string>& settings) {
  std::vector<std::string> key;
  for (const std::string& s : settings) {
    auto it = row.settings.find(s);
    key.push_back(it == row.settings.end() ? "" : it->second);
  }
  return key;
}

std::string named_values(const std::vector<std::string>& settings, const std::vector<std::string>& values) {
  std::vector<std::string> parts;
  for (std::size_t i = 0; i < settings.size(); ++i) parts.push_back(settings[i] + "=" + values.at(i));
  return join(parts);
}

// Per setting in numeric order when all its values are numbers, else in order of first appearance.
std::vector<std::vector<std::string>> setting_combinations(const std::vector<ResultRow>& rows,
                                                           const std::vector<std::string>& settings) {
  std::vector<std::vector<std::string>> keys;
  std::vector<std::vector<std::string>> seen(settings.size());  // each setting's values, first appearance
  for (const ResultRow& row : rows) {
    std::vector<std::string> key = setting_values(row, settings);
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) keys.push_back(key);
    for (std::size_t i = 0; i < settings.size(); ++i)
      if (std::find(seen[i].begin(), seen[i].end(), key[i]) == seen[i].end()) seen[i].push_back(key[i]);
  }
  std::vector<bool> numeric;
  for (const auto& values : seen) numeric.push_back(std::all_of(values.begin(), values.end(), is_number));
  std::stable_sort(keys.begin(), keys.end(), [&](const auto& a, const auto& b) {
    for (std::size_t i = 0; i < a.size(); ++i) {
      if (a[i] == b[i]) continue;
      if (numeric[i]) return std::stod(a[i]) < std::stod(b[i]);
      auto position = [&](const std::string& v) { return std::find(seen[i].begin(), seen[i].end(), v); };
      return position(a[i]) < position(b[i]);
    }
    return false;
  });
  return keys;
}

namespace {

TableCell summarise(const std::vector<double>& v, std::size_t undefined) {
  TableCell c;
  c.n = v.size();
  c.undefined = undefined;
  if (v.empty()) return c;
  for (double x : v) c.mean += x;
  c.mean /= static_cast<double>(v.size());
  if (v.size() > 1) {
    double ss = 0;
    for (double x : v) ss += (x - c.mean) * (x - c.mean);
    c.std = std::sqrt(ss / static_cast<double>(v.size() - 1));
  }
  return c;
}

// Settings whose values differ among the jobs of one cell; settings that do not change results (threads,
// paths: their content is fingerprinted into other settings) do not count.
std::vector<std::string> pooled_settings(const std::vector<const ResultRow*>& jobs,
                                         const std::vector<std::string>& fixed) {
  std::map<std::string, std::set<std::string>> values;
  for (const ResultRow* row : jobs)
    for (const auto& [name, value] : row->settings) values[name].insert(value);
  std::vector<std::string> pooled;
  for (const auto& [name, seen] : values) {
    const Setting* s = find_setting(name);
    const bool counts = !s || s->in_key;
    if (seen.size() > 1 && counts && std::find(fixed.begin(), fixed.end(), name) == fixed.end())
      pooled.push_back(name);
  }
  return pooled;
}

// One cell of one metric: the finished jobs' mean and spread, and the jobs still to come or failed.
TableCell summarise_jobs(const std::vector<const ResultRow*>& jobs, const std::string& metric) {
  std::vector<double> v;
  std::size_t undefined = 0, unfinished = 0, failed = 0;
  for (const ResultRow* job : jobs) {
    if (job->state == "failed") {
      ++failed;
    } else if (job->state != "succeeded" && !job->state.empty()) {
      ++unfinished;
    } else if (auto it = job->values.find(metric); it != job->values.end() && it->second) {
      v.push_back(*it->second);
    } else {
      ++undefined;
    }
  }
  TableCell cell = summarise(v, undefined);
  cell.unfinished = unfinished;
  cell.failed = failed;
  return cell;
}

void check_names(const std::vector<ResultRow>& rows, const std::vector<std::string>& row_settings,
                 const std::vector<std::string>& col_settings, const std::vector<std::string>& metrics) {
  std::vector<std::string> settings = setting_names(rows), values = value_names(rows);
  if (row_settings.empty()) throw UsageError("no setting for the rows (available: " + join(settings) + ")");
  for (const auto* group : {&row_settings, &col_settings})
    for (const std::string& s : *group)
      if (std::find(settings.begin(), settings.end(), s) == settings.end())
        throw UsageError("unknown setting '" + s + "' for rows/columns (available: " + join(settings) + ")");
  if (metrics.empty()) throw UsageError("no metric given (available: " + join(values) + ")");
  for (const auto& m : metrics)
    if (std::find(values.begin(), values.end(), m) == values.end())
      throw UsageError("unknown metric '" + m + "' (available: " + join(values) + ")");
}

void mark_best(ComparisonTable& t) {
  for (std::size_t r = 0; r < t.row_keys.size(); ++r)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      TableCell* best = nullptr;
      std::size_t present = 0;
      for (std::size_t c = 0; c < t.col_keys.size(); ++c) {
        auto it = t.cells.find({r, c, m});
        if (it == t.cells.end() || it->second.n == 0) continue;
        ++present;
        bool better = !best || (higher_is_better(t.metrics[m]) ? it->second.mean > best->mean
                                                               : it->second.mean < best->mean);
        if (better) best = &it->second;
      }
      if (best && present > 1) best->best = true;  // a lone value is not "best" of anything
    }
}

void add_mean_row(ComparisonTable& t) {
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      std::vector<double> means;
      for (std::size_t r = 0; r < t.row_keys.size(); ++r)
        if (const TableCell* cell = t.cell(r, c, m); cell && cell->n) means.push_back(cell->mean);
      if (!means.empty()) t.mean_row[{c, m}] = summarise(means, t.row_keys.size() - means.size());
    }
}

std::string header(const ComparisonTable& t, std::size_t c, std::size_t m) {
  std::string col = t.col_label(c);
  if (t.metrics.size() == 1 && !col.empty()) return col;
  return col.empty() ? t.metrics[m] : col + " " + t.metrics[m];
}

std::string mean_text(const ComparisonTable& t, std::size_t c, std::size_t m, const std::string& missing) {
  auto it = t.mean_row.find({c, m});
  if (it == t.mean_row.end()) return missing;
  return format_value(it->second.mean) + (it->second.undefined ? " (partial)" : "");
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '_' || ch == '%' || ch == '&' || ch == '#') out += '\\';
    out += ch;
  }
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

}  // namespace

std::string format_value(double v) {
  return std::fabs(v) >= 1000 ? fmt::format("{:.0f}", v)
         : std::fabs(v) >= 10 ? fmt::format("{:.2f}", v)
                              : fmt::format("{:.3f}", v);
}

std::string cell_text(const TableCell* c, const char* plus_minus) {
  if (!c) return "";
  std::vector<std::string> notes;
  if (c->unfinished) notes.push_back(fmt::format("{} unfinished", c->unfinished));
  if (c->failed) notes.push_back(fmt::format("{} failed", c->failed));
  if (c->n == 0) {
    if (!notes.empty()) return "(" + join(notes, "; ") + ")";
    return c->undefined ? "undef." : "";
  }
  std::string s = c->n > 1 ? fmt::format("{} {} {}", format_value(c->mean), plus_minus, format_value(c->std))
                           : format_value(c->mean);
  notes.insert(notes.begin(), std::to_string(c->n));
  return s + " (" + join(notes, "; ") + ")";
}

const TableCell* ComparisonTable::cell(std::size_t r, std::size_t c, std::size_t m) const {
  auto it = cells.find({r, c, m});
  return it == cells.end() ? nullptr : &it->second;
}

std::string ComparisonTable::row_title() const { return join(row_settings); }

std::string ComparisonTable::row_label(std::size_t r) const { return join(row_keys.at(r)); }

std::string ComparisonTable::col_label(std::size_t c) const {
  return named_values(col_settings, col_keys.at(c));
}

std::string ComparisonTable::pooled_note() const {
  if (pooled.empty()) return "Cells: one job each (count in brackets).";
  return "Cells: mean ± sample std over " + join(pooled) + " (count in brackets).";
}

ComparisonTable build_comparison_table(const std::vector<ResultRow>& rows,
                                       const std::vector<std::string>& row_settings,
                                       const std::vector<std::string>& col_settings,
                                       const std::vector<std::string>& metrics) {
  check_names(rows, row_settings, col_settings, metrics);
  ComparisonTable t;
  t.row_settings = row_settings;
  t.col_settings = col_settings;
  t.metrics = metrics;
  t.row_keys = setting_combinations(rows, row_settings);
  t.col_keys = col_settings.empty() ? std::vector<std::vector<std::string>>{{}}
                                    : setting_combinations(rows, col_settings);
  std::vector<std::string> fixed = row_settings;
  fixed.insert(fixed.end(), col_settings.begin(), col_settings.end());
  // Each job into its cell once.
  auto index_of = [](const std::vector<std::vector<std::string>>& keys, const std::vector<std::string>& key) {
    return static_cast<std::size_t>(std::find(keys.begin(), keys.end(), key) - keys.begin());
  };
  std::map<std::pair<std::size_t, std::size_t>, std::vector<const ResultRow*>> jobs_of_cell;
  for (const ResultRow& row : rows)
    jobs_of_cell[{index_of(t.row_keys, setting_values(row, row_settings)),
                  index_of(t.col_keys, setting_values(row, col_settings))}]
        .push_back(&row);
  std::set<std::string> pooled;
  for (const auto& [cell, jobs] : jobs_of_cell) {
    for (const std::string& s : pooled_settings(jobs, fixed)) pooled.insert(s);
    for (std::size_t m = 0; m < metrics.size(); ++m)
      t.cells[{cell.first, cell.second, m}] = summarise_jobs(jobs, metrics[m]);
  }
  t.pooled.assign(pooled.begin(), pooled.end());
  mark_best(t);
  add_mean_row(t);
  return t;
}

std::string render_markdown(const ComparisonTable& t) {
  std::string out = "| " + t.row_title() + " |";
  std::string rule = "|---|";
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      out += " " + header(t, c, m) + " |";
      rule += "---|";
    }
  out += "\n" + rule + "\n";
  for (std::size_t r = 0; r < t.row_keys.size(); ++r) {
    out += "| " + t.row_label(r) + " |";
    for (std::size_t c = 0; c < t.col_keys.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const TableCell* cell = t.cell(r, c, m);
        std::string text = cell_text(cell, "±");
        if (text.empty()) text = "—";
        out += " " + (cell && cell->best ? "**" + text + "**" : text) + " |";
      }
    out += "\n";
  }
  out += "| mean |";
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) out += " " + mean_text(t, c, m, "—") + " |";
  return out + "\n\n" + t.pooled_note() + "\n";
}

std::string render_latex(const ComparisonTable& t) {
  std::size_t columns = t.col_keys.size() * t.metrics.size();
  std::string out =
      "\\begin{tabular}{l" + std::string(columns, 'c') + "}\n\\toprule\n" + latex_escape(t.row_title());
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) out += " & " + latex_escape(header(t, c, m));
  out += " \\\\\n\\midrule\n";
  for (std::size_t r = 0; r < t.row_keys.size(); ++r) {
    out += latex_escape(t.row_label(r));
    for (std::size_t c = 0; c < t.col_keys.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const TableCell* cell = t.cell(r, c, m);
        std::string text = cell_text(cell, "$\\pm$");
        if (text.empty()) text = "--";
        out += " & " + (cell && cell->best ? "\\textbf{" + text + "}" : text);
      }
    out += " \\\\\n";
  }
  out += "\\midrule\nMean";
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) out += " & " + mean_text(t, c, m, "--");
  return out + " \\\\\n\\bottomrule\n\\end{tabular}\n% " + t.pooled_note() + "\n";
}

std::string render_csv(const ComparisonTable& t) {
  std::string out;
  for (const std::string& s : t.row_settings) out += csv_field(s) + ",";
  for (const std::string& s : t.col_settings) out += csv_field(s) + ",";
  out += "metric,mean,std,n,undefined,unfinished,failed,best\n";
  auto line = [&](const std::vector<std::string>& row, std::size_t c, std::size_t m, const TableCell* cell) {
    std::string l;
    for (const std::string& v : row) l += csv_field(v) + ",";
    for (const std::string& v : t.col_keys[c]) l += csv_field(v) + ",";
    l += csv_field(t.metrics[m]) + ",";
    if (!cell || cell->n == 0)
      return l + fmt::format(",,0,{},{},{},0\n", cell ? cell->undefined : 0, cell ? cell->unfinished : 0,
                             cell ? cell->failed : 0);
    return l + fmt::format("{:.6g},{:.6g},{},{},{},{},{}\n", cell->mean, cell->std, cell->n, cell->undefined,
                           cell->unfinished, cell->failed, cell->best ? 1 : 0);
  };
  for (std::size_t r = 0; r < t.row_keys.size(); ++r)
    for (std::size_t c = 0; c < t.col_keys.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) out += line(t.row_keys[r], c, m, t.cell(r, c, m));
  const std::vector<std::string> mean_label(t.row_settings.size(), "mean");
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      auto it = t.mean_row.find({c, m});
      out += line(mean_label, c, m, it == t.mean_row.end() ? nullptr : &it->second);
    }
  return out;
}

std::string render_json(const ComparisonTable& t) {
  nlohmann::json cells = nlohmann::json::array();
  auto named = [](const std::vector<std::string>& settings, const std::vector<std::string>& values) {
    nlohmann::json j = nlohmann::json::object();
    for (std::size_t i = 0; i < settings.size(); ++i) j[settings[i]] = values[i];
    return j;
  };
  auto add = [&](nlohmann::json row, std::size_t c, std::size_t m, const TableCell* cell) {
    nlohmann::json j = {
        {"row", std::move(row)}, {"column", named(t.col_settings, t.col_keys[c])}, {"metric", t.metrics[m]}};
    if (cell && cell->n)
      j.update({{"mean", cell->mean}, {"std", cell->std}, {"n", cell->n}, {"best", cell->best}});
    else
      j.update({{"mean", nullptr}, {"n", 0}});
    j["undefined"] = cell ? cell->undefined : 0;
    j["unfinished"] = cell ? cell->unfinished : 0;
    j["failed"] = cell ? cell->failed : 0;
    cells.push_back(j);
  };
  for (std::size_t r = 0; r < t.row_keys.size(); ++r)
    for (std::size_t c = 0; c < t.col_keys.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m)
        add(named(t.row_settings, t.row_keys[r]), c, m, t.cell(r, c, m));
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      auto it = t.mean_row.find({c, m});
      add("mean", c, m, it == t.mean_row.end() ? nullptr : &it->second);
    }
  return nlohmann::json({{"rows", t.row_settings},
                         {"columns", t.col_settings},
                         {"metrics", t.metrics},
                         {"pooled_over", t.pooled},
                         {"cells", cells}})
             .dump(2) +
         "\n";
}

}  // namespace cfm
