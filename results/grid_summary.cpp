#include "results/grid_summary.h"

#include <fmt/format.h>

#include <algorithm>
#include <nlohmann/json.hpp>
#include <vector>

#include "common/store/sqlite.h"

namespace cfm {
namespace {

const std::vector<std::pair<std::string, std::string>> kColumns = {
    {"i_auroc", "I-AUROC"}, {"p_auroc", "P-AUROC"}, {"aupro@0.3", "AUPRO@30%"}, {"aupro@0.01", "AUPRO@1%"}};

std::string render(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width(rows.front().size(), 0);
  for (const auto& row : rows)
    for (std::size_t c = 0; c < row.size(); ++c) width[c] = std::max(width[c], row[c].size());
  std::string out;
  for (std::size_t r = 0; r < rows.size(); ++r) {
    out += "|";
    for (std::size_t c = 0; c < rows[r].size(); ++c)
      out += " " + rows[r][c] + std::string(width[c] - rows[r][c].size(), ' ') + " |";
    out += "\n";
    if (r == 0) {
      out += "|";
      for (std::size_t w : width) out += std::string(w + 2, '-') + "|";
      out += "\n";
    }
  }
  return out;
}

}  // namespace

std::string grid_summary_table(Database& db, const std::string& grid) {
  Statement jobs = db.prepare(
      "SELECT j.key, j.axes, j.state, (SELECT seconds FROM timings t WHERE t.key = j.key AND t.stage = "
      "'total') "
      "FROM grid_jobs g JOIN jobs j ON j.key = g.key WHERE g.grid = ?1 ORDER BY g.position");
  jobs.bind(1, grid);
  Statement metric = db.prepare("SELECT value FROM metrics WHERE key = ?1 AND name = ?2");
  std::vector<std::string> axes;
  std::vector<std::vector<std::string>> body;
  while (jobs.step()) {
    nlohmann::json cell = nlohmann::json::parse(jobs.text(1));
    if (axes.empty())
      for (const auto& [name, value] : cell.items()) axes.push_back(name);
    std::vector<std::string> row;
    for (const auto& axis : axes)
      row.push_back(cell.contains(axis)
                        ? (cell[axis].is_string() ? cell[axis].get<std::string>() : cell[axis].dump())
                        : "");
    row.push_back(jobs.text(2));
    for (const auto& [name, header] : kColumns) {
      metric.bind(1, jobs.text(0)).bind(2, name);
      row.push_back(metric.step() && !metric.is_null(0) ? fmt::format("{:.3f}", metric.real(0)) : "-");
      metric.reset();
    }
    row.push_back(jobs.is_null(3) ? "-" : fmt::format("{:.1f}", jobs.real(3)));
    body.push_back(std::move(row));
  }
  std::vector<std::string> header = axes;
  header.push_back("state");
  for (const auto& column : kColumns) header.push_back(column.second);
  header.push_back("seconds");
  body.insert(body.begin(), header);
  return render(body);
}

std::string grid_failures(Database& db, const std::string& grid) {
  Statement s = db.prepare(
      "SELECT j.axes, j.attempts, j.error FROM grid_jobs g JOIN jobs j ON j.key = g.key "
      "WHERE g.grid = ?1 AND j.state = 'failed' ORDER BY g.position");
  s.bind(1, grid);
  std::string out;
  while (s.step())
    out += fmt::format("failed after {} attempt(s): {}: {}\n", s.integer(1), s.text(0), s.text(2));
  return out;
}

}  // namespace cfm
