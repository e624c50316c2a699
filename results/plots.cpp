#include "results/plots.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <sstream>

#include "common/store/sqlite.h"
#include "common/util/child_process.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"
#include "results/comparison_table.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::string gp_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// Runs the script once per terminal; returns both figure paths.
std::vector<std::string> render(const std::string& out_dir, const std::string& name,
                                const std::string& body) {
  std::vector<std::string> written;
  for (const auto& [terminal, extension] :
       {std::pair{"pngcairo size 900,600 font ',11'", "png"}, std::pair{"svg size 900,600 dynamic", "svg"}}) {
    std::string figure = (fs::path(out_dir) / (name + "." + extension)).string();
    std::string script = (fs::path(out_dir) / (name + "." + extension + ".gp")).string();
    // noenhanced: metric names such as aupro@0.3 would otherwise be read as text markup.
    write_whole_file(script, fmt::format("set terminal {}\nset termoption noenhanced\nset output {}\n{}",
                                         terminal, gp_string(figure), body));
    const std::string log = script + ".log";
    std::filesystem::remove(log);
    const int status = run_program({"gnuplot", script}, log);
    if (status != 0) {
      const std::string text = read_whole_file(log, "gnuplot's log");
      bool missing = WIFEXITED(status) && WEXITSTATUS(status) == 127;
      throw Error(missing ? "gnuplot not found (install Debian's gnuplot-nox)"
                          : "gnuplot failed on " + script + ": " + text);
    }
    written.push_back(figure);
  }
  return written;
}

// A metric against a setting: x = the table's columns, one line per row (category).
std::vector<std::string> metric_vs_setting(const std::vector<ResultRow>& rows, const std::string& setting,
                                           const std::string& label, const PlotRequest& r) {
  ComparisonTable t = build_comparison_table(rows, "category", setting, {r.metric});
  if (t.col_labels.size() < 2)
    throw UsageError("no two jobs differ in '" + setting + "' among the selected results: nothing to plot");
  std::string name = fmt::format("{}_{}", r.kind, r.metric);
  std::string data = (fs::path(r.out_dir) / (name + ".dat")).string();
  std::ostringstream out;
  std::string plots;
  for (std::size_t row = 0; row < t.row_labels.size(); ++row) {
    out << "# " << t.row_labels[row] << "\n";
    for (std::size_t c = 0; c < t.col_labels.size(); ++c)
      if (const TableCell* cell = t.cell(row, c, 0); cell && cell->n)
        out << t.col_labels[c] << " " << cell->mean << " " << cell->std << "\n";
    out << "\n\n";
    plots += fmt::format("{}{} index {} using 1:2:3 with yerrorlines title {}", plots.empty() ? "" : ", ",
                         gp_string(data), row, gp_string(t.row_labels[row]));
  }
  std::string body = fmt::format(
      "set title {}\nset xlabel {}\nset ylabel {}\nset key outside right\nset grid\nset xtics ({})\nplot "
      "{}\n",
      gp_string(r.metric + " vs " + label), gp_string(label), gp_string(r.metric),
      [&] {
        std::string tics;
        for (const auto& l : t.col_labels) tics += (tics.empty() ? "" : ", ") + gp_string(l) + " " + l;
        return tics;
      }(),
      plots);
  write_whole_file(data, out.str());  // gnuplot reads it next
  return render(r.out_dir, name, body);
}

std::vector<std::string> fps_vs_memory(const std::vector<ResultRow>& rows, const PlotRequest& r) {
  ComparisonTable t = build_comparison_table(rows, r.group_by, "", {"peak_rss_gb", "inference_fps"});
  std::string name = "fps-memory_" + r.group_by;
  std::string data = (fs::path(r.out_dir) / (name + ".dat")).string();
  std::ostringstream out;
  for (std::size_t row = 0; row < t.row_labels.size(); ++row) {
    const TableCell *memory = t.cell(row, 0, 0), *fps = t.cell(row, 0, 1);
    if (memory && fps && memory->n && fps->n)
      out << memory->mean << " " << fps->mean << " " << gp_string(r.group_by + "=" + t.row_labels[row])
          << "\n";
  }
  std::string body = fmt::format(
      "set title {}\nset xlabel 'peak RSS (GB)'\nset ylabel 'inference (samples/s)'\nset grid\nset offsets "
      "graph 0.1, graph 0.1, graph 0.1, graph 0.1\n"
      "plot {} using 1:2 with points pt 7 ps 1.5 notitle, '' using 1:2:3 with labels offset 0,1 notitle\n",
      gp_string("inference speed vs memory by " + r.group_by), gp_string(data));
  write_whole_file(data, out.str());  // gnuplot reads it next
  return render(r.out_dir, name, body);
}

std::vector<std::string> pro_curves(Database& db, const std::vector<ResultRow>& rows, const PlotRequest& r) {
  std::string name = "pro";
  std::string data = (fs::path(r.out_dir) / "pro.dat").string();
  std::ostringstream out;
  std::string plots;
  int index = 0;
  for (const ResultRow& row : rows) {
    Statement s = db.prepare("SELECT payload FROM results WHERE key = ?1 ORDER BY attempt DESC LIMIT 1");
    s.bind(1, row.key);
    if (!s.step()) continue;
    const nlohmann::json payload = nlohmann::json::parse(s.text(0));
    if (!payload.contains("pro_curve")) continue;
    const auto& fpr = payload["pro_curve"]["fpr"];
    const auto& pro = payload["pro_curve"]["pro"];
    out << "# " << row.key << "\n";
    for (std::size_t i = 0; i < fpr.size() && i < pro.size(); ++i)
      out << fpr[i].get<double>() << " " << pro[i].get<double>() << "\n";
    out << "\n\n";
    std::string title = row.settings.count("category") ? row.settings.at("category") : row.key.substr(0, 8);
    if (row.settings.count("seed")) title += " seed " + row.settings.at("seed");
    plots += fmt::format("{}{} index {} using 1:2 with lines lw 2 title {}", plots.empty() ? "" : ", ",
                         gp_string(data), index++, gp_string(title));
  }
  if (plots.empty())
    throw UsageError("none of the selected jobs stores a PRO curve (results of an older cfm?)");
  std::string body = fmt::format(
      "set title 'PRO curves'\nset xlabel 'false positive rate'\nset ylabel 'per-region overlap'\nset xrange "
      "[0:0.3]\n"
      "set yrange [0:1]\nset grid\nset key outside right\nplot {}\n",
      plots);
  write_whole_file(data, out.str());  // gnuplot reads it next
  return render(r.out_dir, name, body);
}

}  // namespace

std::vector<std::string> write_plot(Database& db, const std::vector<ResultRow>& rows, const PlotRequest& r) {
  fs::create_directories(r.out_dir);
  if (r.kind == "shots") return metric_vs_setting(rows, "shots", "training samples (0 = all)", r);
  if (r.kind == "layers") return metric_vs_setting(rows, "layers_kept", "transformer blocks kept", r);
  if (r.kind == "fps-memory") return fps_vs_memory(rows, r);
  if (r.kind == "pro") return pro_curves(db, rows, r);
  throw UsageError("unknown plot kind '" + r.kind + "' (known: shots, layers, fps-memory, pro)");
}

}  // namespace cfm
