#include "results/html_report.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <filesystem>
#include <map>

#include "common/store/sqlite.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"
#include "results/comparison_table.h"
#include "results/gallery.h"
#include "results/markup.h"
#include "results/paper_tables.h"
#include "results/plots.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string html_table(const ComparisonTable& t, const std::string& id) {
  std::string h = fmt::format("<table id=\"{}\"><thead><tr><th>{}</th>", id, escape_markup(t.row_title()));
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (const auto& m : t.metrics)
      h += "<th>" + escape_markup(t.col_label(c).empty() ? m : t.col_label(c) + " " + m) + "</th>";
  h += "</tr></thead><tbody>";
  for (std::size_t r = 0; r < t.row_keys.size(); ++r) {
    h += "<tr><th>" + escape_markup(t.row_label(r)) + "</th>";
    for (std::size_t c = 0; c < t.col_keys.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const TableCell* cell = t.cell(r, c, m);
        std::string text = cell_text(cell, "±");
        if (text.empty()) {
          h += "<td class=\"missing\">—</td>";
          continue;
        }
        std::string classes = std::string(cell->best ? "best" : "") +
                              (cell->unfinished ? " unfinished" : "") + (cell->failed ? " failed" : "");
        h +=
            fmt::format("<td class=\"{}\"{}>{}</td>", classes,
                        cell->n ? fmt::format(" data-mean=\"{:.6g}\"", cell->mean) : "", escape_markup(text));
      }
    h += "</tr>";
  }
  h += "<tr class=\"mean\"><th>mean</th>";
  for (std::size_t c = 0; c < t.col_keys.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      auto it = t.mean_row.find({c, m});
      h += it == t.mean_row.end() ? "<td class=\"missing\">—</td>"
                                  : fmt::format("<td data-mean=\"{:.6g}\">{}</td>", it->second.mean,
                                                format_value(it->second.mean));
    }
  return h + "</tr></tbody></table>\n<p class=\"pooled\">" + escape_markup(t.pooled_note()) + "</p>\n";
}

// Where a grid stands: jobs per state for each value of each axis, and every failed job with its error
// and the log to read.
std::string progress_section(Database& db, const std::vector<ResultRow>& rows) {
  std::map<std::string, int> states;
  for (const ResultRow& row : rows) ++states[row.state];
  std::string h = "<h2>Progress</h2>\n<p id=\"states\">";
  for (const char* state : {"pending", "leased", "running", "succeeded", "failed"})
    h += fmt::format("<span class=\"state-{0}\">{1} {0}</span> ", state, states[state]);
  h += "</p>\n";
  if (states["succeeded"] == static_cast<int>(rows.size())) return h;
  std::vector<std::string> axes = variant_settings(rows);
  axes.insert(axes.begin(), "category");
  for (const std::string& replicate : replicate_settings())
    if (setting_varies(rows, replicate)) axes.push_back(replicate);
  h += "<table id=\"progress\"><thead><tr><th>axis</th><th>value</th><th>pending</th><th>leased</th>"
       "<th>running</th><th>succeeded</th><th>failed</th></tr></thead><tbody>";
  for (const std::string& axis : axes) {
    std::map<std::string, std::map<std::string, int>> counts;  // value -> state -> jobs
    for (const ResultRow& row : rows) ++counts[setting_values(row, {axis})[0]][row.state];
    for (const std::vector<std::string>& value : setting_combinations(rows, {axis})) {
      std::map<std::string, int>& c = counts[value[0]];
      h += fmt::format(
          "<tr><th>{}</th><th>{}</th><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
          escape_markup(axis), escape_markup(value[0]), c["pending"], c["leased"], c["running"],
          c["succeeded"], c["failed"]);
    }
  }
  h += "</tbody></table>\n";
  // The failed jobs of the selection, with what only the jobs table holds: error, attempts, run folder.
  std::string items;
  for (const ResultRow& row : rows) {
    if (row.state != "failed") continue;
    Statement failed = db.prepare(
        "SELECT axes, COALESCE(error, ''), attempts, COALESCE(run_dir, '') FROM jobs WHERE key = ?1");
    failed.bind(1, row.key);
    if (!failed.step()) continue;
    const std::string error = failed.text(1);
    items += fmt::format("<li><code>{}</code> {}: {} <small>(log: {})</small></li>", row.key.substr(0, 12),
                         escape_markup(failed.text(0)), escape_markup(error.substr(0, error.find('\n'))),
                         escape_markup(fmt::format("{}/attempt-{}.log", failed.text(3), failed.integer(2))));
  }
  if (!items.empty()) h += "<h3>Failed jobs</h3>\n<ul id=\"failed\">" + items + "</ul>\n";
  return h;
}

const char* kStyle =
    R"(body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}thead th{background:#f0f0f0}td.best{font-weight:bold;background:#e8f5e9}
td.missing{color:#999;text-align:center}tr.mean{border-top:2px solid #444}figure{display:inline-block;margin:0.5em}
figure svg{width:600px;height:auto}img.panel{max-width:100%;display:block}figcaption{font-size:small;color:#444})";

// Runs in the browser: counts rendered figures and script errors into attributes a test can read.
const char* kSelfCheck = R"(<script>
window.cfmErrors = [];
window.addEventListener('error', function (e) { window.cfmErrors.push(String(e.message)); });
// After every load handler (gnuplot's scripts set up their figures' hovering in theirs).
window.addEventListener('load', function () { setTimeout(selfCheck, 0); });
function selfCheck() {
  var rendered = 0;
  document.querySelectorAll('figure.plot svg').forEach(function (svg) {
    var box = svg.getBBox();
    if (box.width > 0 && box.height > 0 && svg.querySelectorAll('path,polyline,line').length > 0) rendered++;
  });
  var images = 0;
  document.querySelectorAll('img.panel').forEach(function (img) { if (img.complete && img.naturalWidth > 0) images++; });
  // Hover each figure's first point as a reader would: gnuplot's script must show its values.
  var hovering = 0, points = 0;
  document.querySelectorAll('figure.plot svg').forEach(function (svg) {
    var marks = svg.querySelectorAll('g.hover');
    points += marks.length;
    if (!marks.length) return;
    var box = marks[0].getBoundingClientRect();
    marks[0].dispatchEvent(new MouseEvent('mousemove', {bubbles: true, clientX: box.x + 1, clientY: box.y + 1}));
    var text = svg.getElementById('hypertext');
    if (text && text.textContent.trim().length > 0) hovering++;
    marks[0].dispatchEvent(new MouseEvent('mouseout', {bubbles: true}));  // leave the page as it was
  });
  document.body.setAttribute('data-hover-points', points);
  document.body.setAttribute('data-hover-working', hovering);
  document.body.setAttribute('data-figures-rendered', rendered);
  document.body.setAttribute('data-panels-loaded', images);
  document.body.setAttribute('data-errors', window.cfmErrors.length);
  document.body.setAttribute('data-error-text', window.cfmErrors.join(' | '));
}
</script>)";

// The figures of the finished jobs, SVG inlined (the XML prologue dropped, so the page needs no other
// file); a figure that cannot be drawn says why instead.
std::string figures_section(Database& db, const std::vector<ResultRow>& finished, const fs::path& work,
                            int& figures) {
  std::string h = "<h2>Figures</h2>\n<p>Hover a point for its values, a curve for its name.</p>\n";
  auto figure = [&](const std::string& kind) {
    try {
      for (const std::string& path : write_plot(db, finished, {kind, "aupro@0.3", {}, work.string()}))
        if (path.size() > 4 && path.substr(path.size() - 4) == ".svg") {
          std::string svg = read_whole_file(path, "the figure");
          h += "<figure class=\"plot\">" + svg.substr(svg.find("<svg")) + "</figure>\n";
          ++figures;
        }
    } catch (const UsageError& e) {
      h += "<p>" + escape_markup(kind) + " figure: " + escape_markup(e.what()) + "</p>\n";
    }
  };
  if (finished.empty()) return h + "<p>No job has finished yet.</p>\n";
  if (setting_varies(finished, "shots")) figure("shots");
  if (setting_varies(finished, "layers_kept")) figure("layers");
  figure("fps-memory");
  figure("pro");
  return h;
}

std::string gallery_section(Database& db, const std::vector<ResultRow>& finished, const fs::path& work,
                            int per_kind, std::size_t& count) {
  std::string h =
      "<h2>Gallery: best, worst and false-positive samples</h2>\n<p>RGB | ground truth | s3D | s2D | "
      "combined map.</p>\n";
  if (finished.empty()) return h;
  std::vector<GalleryPanel> panels =
      write_gallery(db, finished, {(work / "gallery").string(), per_kind, 160});
  for (const GalleryPanel& p : panels)
    h += fmt::format(
        "<figure><img class=\"panel\" alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{2} · {3} · "
        "{0} (score {4:.4f})</figcaption></figure>\n",
        escape_markup(p.sample), base64(read_whole_file(p.path, "the gallery panel")),
        escape_markup(p.category), escape_markup(p.kind), p.score);
  count = panels.size();
  return h;
}

}  // namespace

std::string write_html_report(Database& db, const std::vector<ResultRow>& rows, const ReportOptions& o) {
  fs::path work = fs::path(o.out_path).parent_path() / (fs::path(o.out_path).filename().string() + ".parts");
  fs::create_directories(work);
  std::vector<ResultRow> finished;
  for (const ResultRow& row : rows)
    if (row.state == "succeeded") finished.push_back(row);
  std::string compared;
  for (const std::string& s : variant_settings(rows)) compared += (compared.empty() ? "" : ", ") + s;
  std::string body = fmt::format(
      "<h1>{}</h1>\n<p>{} jobs, {} finished. Compared: {}. Tables: mean ± sample std over the replicate "
      "settings a cell pools (said under each table; count in brackets); best per row in bold; — marks a "
      "combination no job covers; cells of jobs still to run say so.</p>\n",
      escape_markup(o.title), rows.size(), finished.size(),
      escape_markup(compared.empty() ? "one configuration" : compared));
  body += progress_section(db, rows);
  int tables = 0, figures = 0;
  for (const PaperSection& section : paper_sections(rows))
    body += "<h2>" + escape_markup(section.title) + "</h2>\n" +
            html_table(section.table, fmt::format("table-{}", tables++));
  body += figures_section(db, finished, work, figures);
  std::size_t panels = 0;
  body += gallery_section(db, finished, work, o.gallery_per_kind, panels);
  write_whole_file(o.out_path, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                                   escape_markup(o.title) + "</title><style>" + kStyle + "</style>" +
                                   kSelfCheck + "</head><body>\n" + body + "</body></html>\n");
  fs::remove_all(work);
  return fmt::format("{} tables, {} figures, {} gallery panels", tables, figures, panels);
}

}  // namespace cfm
