#include "results/comparison_table.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <nlohmann/json.hpp>

#include "common/util/error.h"

namespace cfm {
namespace {

std::string join(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

// Values in numeric order when they are all numbers, else in order of first appearance.
std::vector<std::string> labels_of(const std::vector<ResultRow>& rows, const std::string& setting) {
  std::vector<std::string> labels;
  for (const auto& r : rows) {
    auto it = r.settings.find(setting);
    std::string v = it == r.settings.end() ? "" : it->second;
    if (std::find(labels.begin(), labels.end(), v) == labels.end()) labels.push_back(v);
  }
  bool numeric = std::all_of(labels.begin(), labels.end(), [](const std::string& s) {
    char* end = nullptr;
    std::strtod(s.c_str(), &end);
    return !s.empty() && *end == '\0';
  });
  if (numeric)
    std::sort(labels.begin(), labels.end(),
              [](const auto& a, const auto& b) { return std::stod(a) < std::stod(b); });
  return labels;
}

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

std::string cell_text(const TableCell* c, const char* plus_minus) {
  if (!c || c->n == 0) return c && c->undefined ? "undef." : "";
  std::string s = c->n > 1 ? fmt::format("{} {} {}", format_value(c->mean), plus_minus, format_value(c->std))
                           : format_value(c->mean);
  return s + fmt::format(" ({})", c->n);
}

std::string header(const ComparisonTable& t, std::size_t c, std::size_t m) {
  std::string col = t.col_setting.empty() ? "" : t.col_setting + "=" + t.col_labels[c];
  if (t.metrics.size() == 1 && !col.empty()) return col;
  return col.empty() ? t.metrics[m] : col + " " + t.metrics[m];
}

std::string latex_escape(const std::string& s) {
  std::string out;
  for (char ch : s) {
    if (ch == '_' || ch == '%' || ch == '&' || ch == '#') out += '\\';
    out += ch;
  }
  return out;
}

}  // namespace

std::string format_value(double v) {
  return std::fabs(v) >= 1000 ? fmt::format("{:.0f}", v)
         : std::fabs(v) >= 10 ? fmt::format("{:.2f}", v)
                              : fmt::format("{:.3f}", v);
}

const TableCell* ComparisonTable::cell(std::size_t r, std::size_t c, std::size_t m) const {
  auto it = cells.find({r, c, m});
  return it == cells.end() ? nullptr : &it->second;
}

ComparisonTable build_comparison_table(const std::vector<ResultRow>& rows, const std::string& row_setting,
                                       const std::string& col_setting,
                                       const std::vector<std::string>& metrics) {
  std::vector<std::string> settings = setting_names(rows), values = value_names(rows);
  for (const std::string& s : {row_setting, col_setting})
    if (!s.empty() && std::find(settings.begin(), settings.end(), s) == settings.end())
      throw UsageError("unknown setting '" + s + "' for rows/columns (available: " + join(settings) + ")");
  if (metrics.empty()) throw UsageError("no metric given (available: " + join(values) + ")");
  for (const auto& m : metrics)
    if (std::find(values.begin(), values.end(), m) == values.end())
      throw UsageError("unknown metric '" + m + "' (available: " + join(values) + ")");

  ComparisonTable t;
  t.row_setting = row_setting;
  t.col_setting = col_setting;
  t.metrics = metrics;
  t.row_labels = labels_of(rows, row_setting);
  t.col_labels = col_setting.empty() ? std::vector<std::string>{""} : labels_of(rows, col_setting);
  for (std::size_t r = 0; r < t.row_labels.size(); ++r)
    for (std::size_t c = 0; c < t.col_labels.size(); ++c)
      for (std::size_t m = 0; m < metrics.size(); ++m) {
        std::vector<double> v;
        std::size_t undefined = 0, jobs = 0;
        for (const auto& row : rows) {
          if (row.settings.at(row_setting) != t.row_labels[r]) continue;
          if (!col_setting.empty() && row.settings.at(col_setting) != t.col_labels[c]) continue;
          ++jobs;
          auto it = row.values.find(metrics[m]);
          if (it != row.values.end() && it->second)
            v.push_back(*it->second);
          else
            ++undefined;
        }
        if (jobs) t.cells[{r, c, m}] = summarise(v, undefined);
      }
  // Best per row and metric; then the mean row over the rows' cell means.
  for (std::size_t r = 0; r < t.row_labels.size(); ++r)
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      TableCell* best = nullptr;
      std::size_t present = 0;
      for (std::size_t c = 0; c < t.col_labels.size(); ++c) {
        auto it = t.cells.find({r, c, m});
        if (it == t.cells.end() || it->second.n == 0) continue;
        ++present;
        bool better = !best || (higher_is_better(metrics[m]) ? it->second.mean > best->mean
                                                             : it->second.mean < best->mean);
        if (better) best = &it->second;
      }
      if (best && present > 1) best->best = true;  // a lone value is not "best" of anything
    }
  for (std::size_t c = 0; c < t.col_labels.size(); ++c)
    for (std::size_t m = 0; m < metrics.size(); ++m) {
      std::vector<double> means;
      for (std::size_t r = 0; r < t.row_labels.size(); ++r)
        if (const TableCell* cell = t.cell(r, c, m); cell && cell->n) means.push_back(cell->mean);
      if (!means.empty()) t.mean_row[{c, m}] = summarise(means, t.row_labels.size() - means.size());
    }
  return t;
}

std::string render_markdown(const ComparisonTable& t) {
  std::string out = "| " + t.row_setting + " |";
  std::string rule = "|---|";
  for (std::size_t c = 0; c < t.col_labels.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      out += " " + header(t, c, m) + " |";
      rule += "---|";
    }
  out += "\n" + rule + "\n";
  for (std::size_t r = 0; r < t.row_labels.size(); ++r) {
    out += "| " + t.row_labels[r] + " |";
    for (std::size_t c = 0; c < t.col_labels.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const TableCell* cell = t.cell(r, c, m);
        std::string text = cell_text(cell, "±");
        if (text.empty()) text = "—";
        out += " " + (cell && cell->best ? "**" + text + "**" : text) + " |";
      }
    out += "\n";
  }
  out += "| mean |";
  for (std::size_t c = 0; c < t.col_labels.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      auto it = t.mean_row.find({c, m});
      out += " " +
             (it == t.mean_row.end()
                  ? std::string("—")
                  : format_value(it->second.mean) + (it->second.undefined ? " (partial)" : "")) +
             " |";
    }
  return out + "\n";
}

std::string render_latex(const ComparisonTable& t) {
  std::size_t columns = t.col_labels.size() * t.metrics.size();
  std::string out =
      "\\begin{tabular}{l" + std::string(columns, 'c') + "}\n\\toprule\n" + latex_escape(t.row_setting);
  for (std::size_t c = 0; c < t.col_labels.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) out += " & " + latex_escape(header(t, c, m));
  out += " \\\\\n\\midrule\n";
  for (std::size_t r = 0; r < t.row_labels.size(); ++r) {
    out += latex_escape(t.row_labels[r]);
    for (std::size_t c = 0; c < t.col_labels.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const TableCell* cell = t.cell(r, c, m);
        std::string text = cell_text(cell, "$\\pm$");
        if (text.empty()) text = "--";
        out += " & " + (cell && cell->best ? "\\textbf{" + text + "}" : text);
      }
    out += " \\\\\n";
  }
  out += "\\midrule\nMean";
  for (std::size_t c = 0; c < t.col_labels.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      auto it = t.mean_row.find({c, m});
      out += " & " + (it == t.mean_row.end() ? std::string("--") : format_value(it->second.mean));
    }
  return out + " \\\\\n\\bottomrule\n\\end{tabular}\n";
}

std::string render_csv(const ComparisonTable& t) {
  std::string out = fmt::format("{},{},metric,mean,std,n,undefined,best\n", t.row_setting,
                                t.col_setting.empty() ? "column" : t.col_setting);
  for (std::size_t r = 0; r <= t.row_labels.size(); ++r)
    for (std::size_t c = 0; c < t.col_labels.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const TableCell* cell = r < t.row_labels.size() ? t.cell(r, c, m) : nullptr;
        if (r == t.row_labels.size()) {
          auto it = t.mean_row.find({c, m});
          if (it != t.mean_row.end()) cell = &it->second;
        }
        std::string label = r < t.row_labels.size() ? t.row_labels[r] : "mean";
        if (!cell || cell->n == 0) {
          out += fmt::format("{},{},{},,,0,{},0\n", label, t.col_labels[c], t.metrics[m],
                             cell ? cell->undefined : 0);
          continue;
        }
        out += fmt::format("{},{},{},{:.6g},{:.6g},{},{},{}\n", label, t.col_labels[c], t.metrics[m],
                           cell->mean, cell->std, cell->n, cell->undefined, cell->best ? 1 : 0);
      }
  return out;
}

std::string render_json(const ComparisonTable& t) {
  nlohmann::json cells = nlohmann::json::array();
  auto add = [&](const std::string& row, std::size_t c, std::size_t m, const TableCell* cell) {
    nlohmann::json j = {{"row", row}, {"column", t.col_labels[c]}, {"metric", t.metrics[m]}};
    if (cell && cell->n)
      j.update({{"mean", cell->mean}, {"std", cell->std}, {"n", cell->n}, {"best", cell->best}});
    else
      j.update({{"mean", nullptr}, {"n", 0}});
    j["undefined"] = cell ? cell->undefined : 0;
    cells.push_back(j);
  };
  for (std::size_t r = 0; r < t.row_labels.size(); ++r)
    for (std::size_t c = 0; c < t.col_labels.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) add(t.row_labels[r], c, m, t.cell(r, c, m));
  for (std::size_t c = 0; c < t.col_labels.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      auto it = t.mean_row.find({c, m});
      add("mean", c, m, it == t.mean_row.end() ? nullptr : &it->second);
    }
  return nlohmann::json(
             {{"rows", t.row_setting}, {"columns", t.col_setting}, {"metrics", t.metrics}, {"cells", cells}})
             .dump(2) +
         "\n";
}

}  // namespace cfm
