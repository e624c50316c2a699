#include "results/plots.h"

#include <fmt/format.h>
#include <sys/wait.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/store/sqlite.h"
#include "common/util/child_process.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"
#include "results/comparison_table.h"
#include "results/markup.h"
#include "results/paper_tables.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::string gp_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out + "\"";
}

// gnuplot titles each plot's SVG group by its number ("gnuplot_plot_3"): name it after what it draws, so
// hovering a curve says which it is, and mark the hypertext points (class "hover") for the report's check.
void name_svg_plots(const std::string& path, const std::vector<std::string>& names) {
  std::string svg = read_whole_file(path, "the figure");
  for (std::size_t i = 0; i < names.size(); ++i) {
    const std::string id = fmt::format("gnuplot_plot_{}", i + 1);
    const std::string from = "<title>" + id + "</title>";
    if (auto at = svg.find(from); at != std::string::npos)
      svg.replace(at, from.size(), "<title>" + escape_markup(names[i]) + "</title>");
  }
  const std::string hover = "<g onmousemove=\"gnuplot_svg.showHypertext(";
  for (auto at = svg.find(hover); at != std::string::npos; at = svg.find(hover, at + hover.size()))
    svg.insert(at + 2, " class=\"hover\"");
  write_whole_file(path, svg);
}

// Runs the script once per terminal; returns both figure paths. The SVG carries gnuplot's own script
// (mouse standalone): hovering a point shows its hypertext, a curve its name (`names`: one per plot
// clause, in order).
std::vector<std::string> render(const std::string& out_dir, const std::string& name, const std::string& body,
                                const std::vector<std::string>& names) {
  std::vector<std::string> written;
  for (const auto& [terminal, extension] : {std::pair{"pngcairo size 900,600 font ',11'", "png"},
                                            std::pair{"svg size 900,600 dynamic mouse standalone", "svg"}}) {
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
    if (std::string(extension) == "svg") name_svg_plots(figure, names);
    written.push_back(figure);
  }
  return written;
}

std::string joined(const std::vector<std::string>& parts, const char* separator) {
  std::string out;
  for (const std::string& p : parts)
    if (!p.empty()) out += (out.empty() ? "" : separator) + p;
  return out;
}

std::string pooled_text(const ComparisonTable& t, const TableCell& cell) {
  std::string text = cell_text(&cell, "±");
  return t.pooled.empty() ? text : text + " over " + joined(t.pooled, ", ");
}

// A metric against a setting: one line per category and combination of the other variant settings
// (never two methods or variants in one line), each point's hover text its cell.
std::vector<std::string> metric_vs_setting(const std::vector<ResultRow>& rows, const std::string& setting,
                                           const std::string& label, const PlotRequest& r) {
  if (!setting_varies(rows, setting))
    throw UsageError("no two jobs differ in '" + setting + "' among the selected results: nothing to plot");
  std::vector<std::string> others = variant_settings(rows);
  others.erase(std::remove(others.begin(), others.end(), setting), others.end());  // the x axis
  std::string name = fmt::format("{}_{}", r.kind, r.metric);
  std::string data = (fs::path(r.out_dir) / (name + ".dat")).string();
  std::ostringstream out;
  std::string plots;
  std::set<std::string> ticks;
  std::vector<std::string> names;
  int index = 0;
  for (const auto& [group, subset] : group_rows(rows, others)) {
    ComparisonTable t = build_comparison_table(subset, {"category"}, {setting}, {r.metric});
    for (std::size_t row = 0; row < t.row_keys.size(); ++row) {
      const std::string curve = joined({t.row_label(row), group}, " · ");
      out << "# " << curve << "\n";
      for (std::size_t c = 0; c < t.col_keys.size(); ++c)
        if (const TableCell* cell = t.cell(row, c, 0); cell && cell->n) {
          const std::string& x = t.col_keys[c][0];
          ticks.insert(x);
          out << x << " " << cell->mean << " " << cell->std << " "
              << gp_string(curve + "\\n" + setting + "=" + x + ": " + r.metric + " " + pooled_text(t, *cell))
              << "\n";
        }
      out << "\n\n";
      plots += fmt::format(
          "{}{} index {} using 1:2:3 with yerrorlines lc {} title {}, '' index {} using 1:2:4 with labels "
          "hypertext point pt 7 ps 0.6 lc {} notitle",
          plots.empty() ? "" : ", ", gp_string(data), index, index + 1, gp_string(curve), index, index + 1);
      names.insert(names.end(), {curve, curve + " · points"});
      ++index;
    }
  }
  std::string tics;
  for (const std::string& x : ticks) tics += (tics.empty() ? "" : ", ") + gp_string(x) + " " + x;
  std::string body = fmt::format(
      "set title {}\nset xlabel {}\nset ylabel {}\nset key outside right\nset grid\nset xtics ({})\nplot "
      "{}\n",
      gp_string(r.metric + " vs " + label), gp_string(label), gp_string(r.metric), tics, plots);
  write_whole_file(data, out.str());  // gnuplot reads it next
  return render(r.out_dir, name, body, names);
}

// One point per combination of `group_by` (default: every variant setting), labelled with it.
std::vector<std::string> fps_vs_memory(const std::vector<ResultRow>& rows, const PlotRequest& r) {
  std::vector<std::string> group_by = r.group_by.empty() ? variant_settings(rows) : r.group_by;
  if (group_by.empty()) group_by = {"method"};
  ComparisonTable t = build_comparison_table(rows, group_by, {}, {"peak_rss_gb", "inference_fps"});
  std::string name = "fps-memory_" + joined(group_by, "-");
  std::string data = (fs::path(r.out_dir) / (name + ".dat")).string();
  std::ostringstream out;
  for (std::size_t row = 0; row < t.row_keys.size(); ++row) {
    const TableCell *memory = t.cell(row, 0, 0), *fps = t.cell(row, 0, 1);
    if (!memory || !fps || !memory->n || !fps->n) continue;
    const std::string point = named_values(group_by, t.row_keys[row]);
    out << memory->mean << " " << fps->mean << " " << gp_string(point) << " "
        << gp_string(point + "\\n" + pooled_text(t, *fps) + " samples/s\\npeak RSS " +
                     pooled_text(t, *memory) + " GB")
        << "\n";
  }
  std::string body = fmt::format(
      "set title {}\nset xlabel 'peak RSS (GB)'\nset ylabel 'inference (samples/s)'\nset grid\nset offsets "
      "graph 0.1, graph 0.3, graph 0.1, graph 0.1\n"
      "plot {} using 1:2:4 with labels hypertext point pt 7 ps 1.5 notitle, '' using 1:2:3 with labels "
      "offset "
      "0,1 notitle\n",
      gp_string("inference speed vs memory by " + joined(group_by, ", ")), gp_string(data));
  write_whole_file(data, out.str());  // gnuplot reads it next
  return render(r.out_dir, name, body, {"inference speed vs memory", "labels"});
}

// Each job's curve, titled by its category, variant and replicate settings (unique: the job key's start
// is added where two jobs would share a title).
std::vector<std::string> pro_curves(Database& db, const std::vector<ResultRow>& rows, const PlotRequest& r) {
  std::vector<std::string> naming = variant_settings(rows);
  for (const std::string& replicate : replicate_settings())
    if (setting_varies(rows, replicate)) naming.push_back(replicate);
  std::vector<std::string> titles;
  std::map<std::string, int> uses;
  for (const ResultRow& row : rows) {
    std::vector<std::string> parts = setting_values(row, {"category"});
    for (const std::string& s : naming) parts.push_back(s + "=" + setting_values(row, {s})[0]);
    titles.push_back(joined(parts, " · "));
    ++uses[titles.back()];
  }
  std::string name = "pro";
  std::string data = (fs::path(r.out_dir) / "pro.dat").string();
  std::ostringstream out;
  std::string plots;
  std::vector<std::string> names;
  int index = 0;
  for (std::size_t job = 0; job < rows.size(); ++job) {
    const ResultRow& row = rows[job];
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
    std::string title = titles[job];
    if (uses[title] > 1) title += " · job " + row.key.substr(0, 8);
    names.push_back(title);
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
  return render(r.out_dir, name, body, names);
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
