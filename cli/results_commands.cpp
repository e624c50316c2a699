// `cfm results`: read a results database — tables, figures, gallery, HTML report, job list, CSV export.
#include <fmt/format.h>

#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>

#include "commands.h"
#include "common/store/schema.h"
#include "common/store/sqlite.h"
#include "common/util/error.h"
#include "results/comparison_table.h"
#include "results/gallery.h"
#include "results/html_report.h"
#include "results/paper_tables.h"
#include "results/plots.h"
#include "results/result_rows.h"

namespace fs = std::filesystem;

namespace cfm::cli {
namespace {

std::unique_ptr<Database> open_results(const std::string& path) {
  if (!fs::exists(path)) throw FileError(path, "no such results database");
  auto db = std::make_unique<Database>(path, true);
  check_readable_schema(*db);
  return db;
}

// The rows a command reads: --db, and optionally --grid and --where, shared by every `cfm results` command.
struct Selection {
  std::string db, grid, where;

  void add_options(CLI::App* cmd, bool with_where = true) {
    cmd->add_option("--db", db, "Results database")->required();
    cmd->add_option("--grid", grid, "Only this grid");
    if (with_where)
      cmd->add_option("--where", where,
                      "Filter on settings: s=v, s=v1|v2, s!=v, s<n, s<=n, s>n, s>=n, comma-separated, e.g. "
                      "\"layers_kept=4|8,shots<=10\"");
  }
};

// Everything a command reads, it reads as of one moment (a running grid's coordinator goes on writing).
struct Selected {
  std::unique_ptr<Database> db;
  std::unique_ptr<ReadSnapshot> snapshot;  // ends before the connection does
  std::vector<ResultRow> rows;
};

Selected select_rows(const Selection& s, bool succeeded_only = true) {
  Selected out{open_results(s.db), nullptr, {}};
  out.snapshot = std::make_unique<ReadSnapshot>(*out.db);
  out.rows = load_result_rows(*out.db, {s.grid, parse_where(s.where), succeeded_only});
  return out;
}

std::vector<std::string> split(const std::string& text) {
  std::vector<std::string> out;
  std::stringstream in(text);
  for (std::string item; std::getline(in, item, ',');)
    if (!item.empty()) out.push_back(item);
  return out;
}

std::string csv_field(const std::string& s) {
  if (s.find_first_of(",\"\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
  return out + "\"";
}

void add_table(CLI::App* results) {
  struct Flags {
    Selection selection;
    std::string rows = "category", cols, metrics = "i_auroc,aupro@0.3,aupro@0.01,p_auroc", format = "md";
  };
  auto f = std::make_shared<Flags>();
  CLI::App* cmd = results->add_subcommand(
      "table", "Comparison table: mean ± std over the jobs sharing a row and column value");
  f->selection.add_options(cmd);
  cmd->add_option("--rows", f->rows, "Settings whose value combinations are the rows (comma-separated)")
      ->capture_default_str();
  cmd->add_option(
      "--cols", f->cols,
      "Settings whose value combinations are the columns, e.g. method,layers_kept (none: one column)");
  cmd->add_option("--metrics", f->metrics, "Comma-separated metrics")->capture_default_str();
  cmd->add_option("--format", f->format, "md, latex, csv or json")
      ->capture_default_str()
      ->check(CLI::IsMember({"md", "latex", "csv", "json"}));
  cmd->callback([f] {
    ComparisonTable t = build_comparison_table(select_rows(f->selection).rows, split(f->rows), split(f->cols),
                                               split(f->metrics));
    if (f->format == "md") fmt::print("{}", render_markdown(t));
    if (f->format == "latex") fmt::print("{}", render_latex(t));
    if (f->format == "csv") fmt::print("{}", render_csv(t));
    if (f->format == "json") fmt::print("{}", render_json(t));
  });
}

void add_jobs(CLI::App* results) {
  auto selection = std::make_shared<Selection>();
  CLI::App* cmd =
      results->add_subcommand("jobs", "Every job with its state, attempts, worker, duration and last error");
  selection->add_options(cmd, false);
  cmd->callback([=] {
    auto db = open_results(selection->db);
    const std::string& grid = selection->grid;
    Statement s = db->prepare(
        "SELECT g.grid, j.key, j.axes, j.state, j.attempts, j.max_attempts, COALESCE(j.worker, ''), "
        "j.finished_at - j.started_at, COALESCE(j.error, '') FROM jobs j JOIN grid_jobs g ON g.key = j.key "
        "WHERE ?1 = '' OR g.grid = ?1 ORDER BY g.grid, g.position");
    s.bind(1, grid);
    fmt::print("{:<12} {:<12} {:<10} {:>8} {:<14} {:>9}  {:<40} {}\n", "grid", "job", "state", "attempts",
               "worker", "seconds", "cell", "error");
    int n = 0;
    while (s.step()) {
      ++n;
      std::string seconds = s.is_null(7) ? "-" : fmt::format("{:.1f}", s.real(7));
      fmt::print("{:<12} {:<12} {:<10} {:>8} {:<14} {:>9}  {:<40} {}\n", s.text(0), s.text(1).substr(0, 12),
                 s.text(3), fmt::format("{}/{}", s.integer(4), s.integer(5)), s.text(6), seconds, s.text(2),
                 s.text(8));
    }
    if (n == 0)
      throw UsageError(grid.empty() ? "the database holds no job yet" : "no job in grid '" + grid + "'");
  });
}

void add_export(CLI::App* results) {
  auto selection = std::make_shared<Selection>();
  auto all = std::make_shared<bool>(false);
  CLI::App* cmd = results->add_subcommand(
      "export", "Every finished job as one CSV row: settings, metrics, timings, resources");
  selection->add_options(cmd);
  cmd->add_flag("--all", *all, "Include jobs that did not succeed (their figures empty)");
  cmd->callback([=] {
    std::vector<ResultRow> rows = select_rows(*selection, !*all).rows;
    std::vector<std::string> settings = setting_names(rows), values = value_names(rows);
    std::string line = "experiment_grid,key,state";  // "grid" is a setting (the pixel grid side)
    for (const auto& s : settings) line += "," + csv_field(s);
    for (const auto& v : values) line += "," + csv_field(v);
    fmt::print("{}\n", line);
    for (const auto& r : rows) {
      line = csv_field(r.grid) + "," + r.key + "," + r.state;
      for (const auto& s : settings) line += "," + csv_field(r.settings.count(s) ? r.settings.at(s) : "");
      for (const auto& v : values) {
        auto it = r.values.find(v);
        line +=
            "," + (it != r.values.end() && it->second ? fmt::format("{:.9g}", *it->second) : std::string());
      }
      fmt::print("{}\n", line);
    }
  });
}

// The paper's table shapes for the selected jobs (results/paper_tables.h, shared with the report): every
// setting that varies is a column group or a section, only seeds are pooled.
void add_paper(CLI::App* results) {
  auto selection = std::make_shared<Selection>();
  auto format = std::make_shared<std::string>("md");
  CLI::App* cmd = results->add_subcommand(
      "paper", "The paper's tables: detection/segmentation per category, few-shot, pruning, efficiency");
  selection->add_options(cmd);
  cmd->add_option("--format", *format, "md or latex")
      ->capture_default_str()
      ->check(CLI::IsMember({"md", "latex"}));
  cmd->callback([=] {
    std::vector<ResultRow> rows = select_rows(*selection).rows;
    for (const PaperSection& section : paper_sections(rows))
      fmt::print("## {}\n\n{}\n", section.title,
                 *format == "md" ? render_markdown(section.table) : render_latex(section.table));
  });
}

void add_plot(CLI::App* results) {
  auto selection = std::make_shared<Selection>();
  auto request = std::make_shared<PlotRequest>();
  CLI::App* cmd = results->add_subcommand(
      "plot", "Figures (PNG + SVG, gnuplot): metric vs shots or layers, fps vs memory, PRO curves");
  cmd->add_option("kind", request->kind, "shots, layers, fps-memory or pro")
      ->required()
      ->check(CLI::IsMember({"shots", "layers", "fps-memory", "pro"}));
  selection->add_options(cmd);
  cmd->add_option("--out", request->out_dir, "Folder for the figures")->required();
  cmd->add_option("--metric", request->metric, "Metric of shots/layers plots")->capture_default_str();
  cmd->add_option("--group-by", request->group_by,
                  "Settings whose combinations are the fps-memory points (default: every setting that varies "
                  "but the category and seeds)")
      ->delimiter(',');
  cmd->callback([=] {
    Selected selected = select_rows(*selection);
    for (const std::string& path : write_plot(*selected.db, selected.rows, *request))
      fmt::print("{}\n", path);
  });
}

void add_gallery(CLI::App* results) {
  auto selection = std::make_shared<Selection>();
  auto options = std::make_shared<GalleryOptions>();
  CLI::App* cmd = results->add_subcommand("gallery",
                                          "Qualitative panels (RGB, GT, s3D, s2D, combined) of each job's "
                                          "best, worst and false-positive samples");
  selection->add_options(cmd);
  cmd->add_option("--out", options->out_dir, "Folder for the panels and index.md")->required();
  cmd->add_option("--per-kind", options->per_kind, "Best and worst samples per job")->capture_default_str();
  cmd->add_option("--tile", options->tile, "Tile side in pixels")
      ->capture_default_str()
      ->check(CLI::Range(32, 1024));
  cmd->callback([=] {
    Selected selected = select_rows(*selection);
    std::vector<GalleryPanel> panels = write_gallery(*selected.db, selected.rows, *options);
    fmt::print("{} panels of {} jobs in {} (index.md lists them)\n", panels.size(), selected.rows.size(),
               options->out_dir);
  });
}

void add_report(CLI::App* results) {
  auto selection = std::make_shared<Selection>();
  auto options = std::make_shared<ReportOptions>();
  CLI::App* cmd = results->add_subcommand(
      "report", "One self-contained HTML file: tables, figures and a gallery, readable offline");
  selection->add_options(cmd);
  cmd->add_option("--out", options->out_path, "The .html file to write")->required();
  cmd->add_option("--title", options->title, "Page title")->capture_default_str();
  cmd->callback([=] {
    if (fs::path(options->out_path).has_parent_path())
      fs::create_directories(fs::path(options->out_path).parent_path());
    Selected selected = select_rows(*selection, false);  // every job, finished or not
    fmt::print("{}: {}\n", options->out_path, write_html_report(*selected.db, selected.rows, *options));
  });
}

}  // namespace

void add_results_commands(CLI::App& app) {
  CLI::App* results = app.add_subcommand(
      "results", "Tables and exports from a results database (schema: docs/results-schema.md)");
  results->require_subcommand(1);
  add_table(results);
  add_jobs(results);
  add_export(results);
  add_paper(results);
  add_plot(results);
  add_gallery(results);
  add_report(results);
}

}  // namespace cfm::cli
