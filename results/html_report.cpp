#include "results/html_report.h"

#include <fmt/format.h>
#include <openssl/evp.h>

#include <filesystem>

#include "common/util/error.h"
#include "common/util/whole_file.h"
#include "results/comparison_table.h"
#include "results/gallery.h"
#include "results/plots.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) {
    if (c == '<')
      out += "&lt;";
    else if (c == '>')
      out += "&gt;";
    else if (c == '&')
      out += "&amp;";
    else if (c == '"')
      out += "&quot;";
    else
      out += c;
  }
  return out;
}

std::string base64(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n =
      EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                      reinterpret_cast<const unsigned char*>(bytes.data()), static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::string html_table(const ComparisonTable& t, const std::string& id) {
  std::string h = fmt::format("<table id=\"{}\"><thead><tr><th>{}</th>", id, escape(t.row_setting));
  for (const auto& col : t.col_labels)
    for (const auto& m : t.metrics)
      h += "<th>" + escape((t.col_setting.empty() ? "" : t.col_setting + "=" + col + " ") + m) + "</th>";
  h += "</tr></thead><tbody>";
  for (std::size_t r = 0; r < t.row_labels.size(); ++r) {
    h += "<tr><th>" + escape(t.row_labels[r]) + "</th>";
    for (std::size_t c = 0; c < t.col_labels.size(); ++c)
      for (std::size_t m = 0; m < t.metrics.size(); ++m) {
        const TableCell* cell = t.cell(r, c, m);
        if (!cell || cell->n == 0) {
          h += "<td class=\"missing\">—</td>";
          continue;
        }
        std::string text = cell->n > 1
                               ? fmt::format("{} ± {}", format_value(cell->mean), format_value(cell->std))
                               : format_value(cell->mean);
        h += fmt::format("<td class=\"{}\" data-mean=\"{:.6g}\">{} <small>({})</small></td>",
                         cell->best ? "best" : "", cell->mean, text, cell->n);
      }
    h += "</tr>";
  }
  h += "<tr class=\"mean\"><th>mean</th>";
  for (std::size_t c = 0; c < t.col_labels.size(); ++c)
    for (std::size_t m = 0; m < t.metrics.size(); ++m) {
      auto it = t.mean_row.find({c, m});
      h += it == t.mean_row.end() ? "<td class=\"missing\">—</td>"
                                  : fmt::format("<td data-mean=\"{:.6g}\">{}</td>", it->second.mean,
                                                format_value(it->second.mean));
    }
  return h + "</tr></tbody></table>\n";
}

const char* kStyle =
    R"(body{font-family:sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;margin:1em 0}
th,td{border:1px solid #ccc;padding:4px 8px;text-align:right}thead th{background:#f0f0f0}td.best{font-weight:bold;background:#e8f5e9}
td.missing{color:#999;text-align:center}tr.mean{border-top:2px solid #444}figure{display:inline-block;margin:0.5em}
figure svg{width:600px;height:auto}img.panel{max-width:100%;display:block}figcaption{font-size:small;color:#444})";

// Runs in the browser: counts rendered figures and script errors into attributes a test can read.
const char* kSelfCheck = R"(<script>
window.cfmErrors = [];
window.addEventListener('error', function (e) { window.cfmErrors.push(String(e.message)); });
window.addEventListener('load', function () {
  var rendered = 0;
  document.querySelectorAll('figure.plot svg').forEach(function (svg) {
    var box = svg.getBBox();
    if (box.width > 0 && box.height > 0 && svg.querySelectorAll('path,polyline,line').length > 0) rendered++;
  });
  var images = 0;
  document.querySelectorAll('img.panel').forEach(function (img) { if (img.complete && img.naturalWidth > 0) images++; });
  document.body.setAttribute('data-figures-rendered', rendered);
  document.body.setAttribute('data-panels-loaded', images);
  document.body.setAttribute('data-errors', window.cfmErrors.length);
});
</script>)";

}  // namespace

std::string write_html_report(Database& db, const std::vector<ResultRow>& rows, const ReportOptions& o) {
  fs::path work = fs::path(o.out_path).parent_path() / (fs::path(o.out_path).filename().string() + ".parts");
  fs::create_directories(work);
  std::string body = fmt::format(
      "<h1>{}</h1>\n<p>{} finished jobs. Cells: mean ± sample std over the jobs sharing the row (count in "
      "brackets); "
      "best per row in bold; — marks a combination no job covers.</p>\n",
      escape(o.title), rows.size());
  int tables = 0, figures = 0;
  auto add_table = [&](const std::string& title, const ComparisonTable& t) {
    body += "<h2>" + escape(title) + "</h2>\n" + html_table(t, fmt::format("table-{}", tables++));
  };
  // The SVG figures are inlined (the XML prologue dropped), so the page needs no other file.
  auto embed = [&](const std::vector<std::string>& paths) {
    for (const std::string& path : paths)
      if (path.size() > 4 && path.substr(path.size() - 4) == ".svg") {
        std::string svg = read_whole_file(path, "the figure");
        body += "<figure class=\"plot\">" + svg.substr(svg.find("<svg")) + "</figure>\n";
        ++figures;
      }
  };
  add_table("Detection and segmentation per category",
            build_comparison_table(rows, "category", "", {"i_auroc", "aupro@0.3", "aupro@0.01", "p_auroc"}));
  for (const auto& [setting, title, kind] :
       {std::tuple<std::string, std::string, std::string>{"shots", "Few-shot", "shots"},
        {"layers_kept", "Layer pruning", "layers"}}) {
    if (!setting_varies(rows, setting)) continue;
    add_table(title, build_comparison_table(rows, "category", setting, {"i_auroc", "aupro@0.3"}));
    embed(write_plot(db, rows, {kind, "aupro@0.3", "layers_kept", work.string()}));
  }
  std::string group = setting_varies(rows, "layers_kept") ? "layers_kept" : "preset";
  add_table("Efficiency",
            build_comparison_table(rows, group, "",
                                   {"inference_fps", "peak_rss_gb", "model_mb", "seconds_train_per_epoch"}));
  embed(write_plot(db, rows, {"fps-memory", "aupro@0.3", group, work.string()}));
  try {
    embed(write_plot(db, rows, {"pro", "aupro@0.3", group, work.string()}));
  } catch (const UsageError& e) {
    body += "<p>PRO curves: " + escape(e.what()) + "</p>\n";
  }
  body +=
      "<h2>Gallery: best, worst and false-positive samples</h2>\n<p>RGB | ground truth | s3D | s2D | "
      "combined map.</p>\n";
  std::vector<GalleryPanel> panels =
      write_gallery(db, rows, {(work / "gallery").string(), o.gallery_per_kind, 160});
  for (const GalleryPanel& p : panels)
    body += fmt::format(
        "<figure><img class=\"panel\" alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{2} · {3} · "
        "{0} (score {4:.4f})</figcaption></figure>\n",
        escape(p.sample), base64(read_whole_file(p.path, "the gallery panel")), escape(p.category),
        escape(p.kind), p.score);
  write_whole_file(o.out_path, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" +
                                   escape(o.title) + "</title><style>" + kStyle + "</style>" + kSelfCheck +
                                   "</head><body>\n" + body + "</body></html>\n");
  fs::remove_all(work);
  return fmt::format("{} tables, {} figures, {} gallery panels", tables, figures, panels.size());
}

}  // namespace cfm
