// `cfm results` on the database of a real tiny grid (tests/orchestrator/tiny_cfm_inputs.h): tables, the
// export, the jobs listing, the paper's tables, the gallery, and the HTML report in a headless browser.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/data/png_io.h"
#include "common/store/sqlite.h"
#include "common/util/whole_file.h"
#include "orchestrator/tiny_cfm_inputs.h"
#include "test_support.h"

namespace cfm {
namespace {

const std::string kCfm = CFM_BINARY;

TEST(ResultsCommands, TablesTheExportTheJobsAndThePaperReadTheGridsRows) {
  test::TempDir dir;
  auto run = test::run_tiny_grid(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto table = test::run_command(
      fmt::format("{} results table --db {} --rows category --cols seed --metrics i_auroc,aupro@0.3", kCfm,
                  dir / "r.sqlite"));
  EXPECT_EQ(table.exit_code, 0) << table.output;
  EXPECT_NE(
      table.output.find(
          "| category | seed=115 i_auroc | seed=115 aupro@0.3 | seed=116 i_auroc | seed=116 aupro@0.3 |"),
      std::string::npos)
      << table.output;
  EXPECT_NE(table.output.find("| cookie | "), std::string::npos) << table.output;
  auto exported = test::run_command(fmt::format("{} results export --db {}", kCfm, dir / "r.sqlite"));
  EXPECT_EQ(std::count(exported.output.begin(), exported.output.end(), '\n'), 3) << exported.output;
  auto jobs = test::run_command(fmt::format("{} results jobs --db {} --grid tiny", kCfm, dir / "r.sqlite"));
  EXPECT_NE(jobs.output.find("succeeded"), std::string::npos) << jobs.output;
  auto paper = test::run_command(fmt::format("{} results paper --db {}", kCfm, dir / "r.sqlite"));
  EXPECT_EQ(paper.exit_code, 0) << paper.output;
  for (const char* part : {"## Detection and segmentation per category", "| cookie | ",
                           "over seed (count in brackets)", "## Efficiency", "| cfm | "})
    EXPECT_NE(paper.output.find(part), std::string::npos) << part << "\n" << paper.output;
  // Only what the grid varies gets a section: the seeds are pooled, nothing else varies.
  EXPECT_EQ(paper.output.find("## Few-shot"), std::string::npos) << paper.output;
  EXPECT_EQ(paper.output.find("## Layer pruning"), std::string::npos) << paper.output;
  auto unknown =
      test::run_command(fmt::format("{} results table --db {} --grid nope", kCfm, dir / "r.sqlite"));
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.output.find("no grid 'nope' in"), std::string::npos) << unknown.output;
  EXPECT_NE(unknown.output.find("(grids: tiny)"), std::string::npos) << unknown.output;
}

// The gallery, then the report: loaded in a real headless browser, no script error, every figure drawn,
// every gallery image decoded, and the tables hold the database's numbers.
TEST(ResultsCommands, TheGalleryAndTheReportShowEveryPanelAndFigure) {
  test::TempDir dir;
  auto run = test::run_tiny_grid(dir);
  ASSERT_EQ(run.exit_code, 0) << run.output;
  auto gallery = test::run_command(fmt::format("{} results gallery --db {} --out {} --per-kind 1", kCfm,
                                               dir / "r.sqlite", dir / "gallery"));
  ASSERT_EQ(gallery.exit_code, 0) << gallery.output;
  // 1 test sample per defect folder: 4 anomalous + 1 good -> best, worst and false positive per job.
  EXPECT_NE(gallery.output.find("6 panels of 2 jobs"), std::string::npos) << gallery.output;
  const std::string listing = read_whole_file(dir / "gallery/index.md");
  const std::size_t at = listing.find("](tiny/cookie/");
  ASSERT_NE(at, std::string::npos) << listing;
  const std::string panel = listing.substr(at + 2, listing.find(')', at) - at - 2);
  PngSize size = read_png_size(dir / ("gallery/" + panel));
  EXPECT_EQ(size.width, 5 * 224 + 16);
  EXPECT_EQ(size.height, 224);

  auto report = test::run_command(
      fmt::format("{} results report --db {} --out {}", kCfm, dir / "r.sqlite", dir / "report/report.html"));
  ASSERT_EQ(report.exit_code, 0) << report.output;
  EXPECT_NE(report.output.find("2 figures, 6 gallery panels"), std::string::npos)
      << report.output;  // fps-memory + PRO curves
  CFM_REQUIRE(std::filesystem::exists("/usr/bin/chromium"), "no /usr/bin/chromium to load the report in",
              "chromium");
  auto dom =
      test::run_command(fmt::format("timeout 120 chromium --headless --no-sandbox --disable-gpu "
                                    "--virtual-time-budget=5000 --dump-dom file://{} 2>/dev/null",
                                    dir / "report/report.html"));
  EXPECT_NE(dom.output.find("data-figures-rendered=\"2\""), std::string::npos) << dom.output.substr(0, 2000);
  EXPECT_NE(dom.output.find("data-panels-loaded=\"6\""), std::string::npos);
  EXPECT_NE(dom.output.find("data-errors=\"0\""), std::string::npos);
  Database db(dir / "r.sqlite");
  Statement mean = db.prepare("SELECT avg(value) FROM metrics WHERE name = 'i_auroc'");
  ASSERT_TRUE(mean.step());
  EXPECT_NE(dom.output.find(fmt::format("data-mean=\"{:.6g}\"", mean.real(0))), std::string::npos)
      << "I-AUROC mean " << mean.real(0);
}

// The report of the comparison a grid is run for: two methods x two pruning variants. Rendered in a real
// headless browser with its scripts: every table and figure keeps methods and variants apart, every curve
// has its own name, hovering a point shows its values.
class ComparisonReport : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(test::write_tiny_grid(dir_, "compare", "  coreset_ratio: 0.5\n",
                                      "  method: [cfm, memory_bank]\n  layers_kept: [4, 3]\n"));
    auto run = test::run_command(test::tiny_grid_command(dir_));
    ASSERT_EQ(run.exit_code, 0) << run.output;
  }
  // The report's DOM after its scripts ran.
  std::string rendered_report() {
    auto report = test::run_command(
        fmt::format("{} results report --db {} --out {}", kCfm, dir_ / "r.sqlite", dir_ / "report.html"));
    EXPECT_EQ(report.exit_code, 0) << report.output;
    return test::run_command(fmt::format("timeout 120 chromium --headless --no-sandbox --disable-gpu "
                                         "--virtual-time-budget=5000 --dump-dom file://{} 2>/dev/null",
                                         dir_ / "report.html"))
        .output;
  }
  test::TempDir dir_;
};

std::string element(const std::string& dom, const std::string& open, const std::string& close) {
  std::size_t at = dom.find(open);
  return at == std::string::npos ? "" : dom.substr(at, dom.find(close, at) - at);
}

TEST_F(ComparisonReport, MethodsAndVariantsSideBySideCurvesNamedAndHoverable) {
  CFM_REQUIRE(std::filesystem::exists("/usr/bin/chromium"), "no /usr/bin/chromium to load the report in",
              "chromium");
  const std::string dom = rendered_report();
  EXPECT_NE(dom.find("data-errors=\"0\""), std::string::npos) << element(dom, "data-error-text", ">");
  EXPECT_NE(dom.find("data-figures-rendered=\"3\""), std::string::npos);  // layers, fps-memory, PRO
  EXPECT_NE(dom.find("data-hover-working=\"2\""), std::string::npos);     // the two figures with points
  const std::string detection = element(dom, "<table id=\"table-0\"", "</table>");
  for (const char* column :
       {"method=cfm, layers_kept=3 i_auroc", "method=cfm, layers_kept=4 aupro@0.3",
        "method=memory_bank, layers_kept=3 aupro@0.01", "method=memory_bank, layers_kept=4 p_auroc"})
    EXPECT_NE(detection.find(column), std::string::npos) << column << "\n" << detection;
  const std::string efficiency = element(dom, "<h2>Efficiency</h2>", "</table>");
  for (const char* part :
       {"method, layers_kept", "inference_fps", "peak_rss_gb", "<th>cfm, 3</th>", "<th>memory_bank, 4</th>"})
    EXPECT_NE(efficiency.find(part), std::string::npos) << part << "\n" << efficiency;
  EXPECT_EQ(dom.find("pooled over: method"), std::string::npos);
  // No two curves of a figure share a name; the PRO figure names each of the four jobs.
  std::vector<std::set<std::string>> names;
  for (std::size_t at = dom.find("<figure class=\"plot\">"); at != std::string::npos;
       at = dom.find("<figure class=\"plot\">", at + 1)) {
    const std::string figure = dom.substr(at, dom.find("</figure>", at) - at);
    std::set<std::string> titles;
    std::size_t curves = 0;
    for (std::size_t t = figure.find("<g id=\"gnuplot_plot_"); t != std::string::npos;
         t = figure.find("<g id=\"gnuplot_plot_", t + 1)) {
      const std::size_t digits = t + 20, end = figure.find_first_not_of("0123456789", digits);
      if (figure[end] != '"') continue;  // gnuplot's key-entry groups ("gnuplot_plot_1_keyentry")
      const std::size_t open = figure.find("<title>", t) + 7;
      titles.insert(figure.substr(open, figure.find("</title>", open) - open));
      ++curves;
    }
    EXPECT_EQ(titles.size(), curves) << figure.substr(0, 300);
    names.push_back(titles);
  }
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[2].size(), 4u);
  EXPECT_TRUE(names[2].count("cookie · method=memory_bank · layers_kept=3"));
  EXPECT_TRUE(names[0].count("cookie · method=cfm"));  // the pruning curve of each method
  EXPECT_TRUE(names[0].count("cookie · method=memory_bank"));
  // The fps-memory points are labelled with their method and variant, and carry their values on hover.
  const std::string report = read_whole_file(dir_ / "report.html");
  EXPECT_NE(report.find("method=memory_bank, layers_kept=4\\n"), std::string::npos);
  EXPECT_NE(report.find(" samples/s\\npeak RSS "), std::string::npos);
}

// A grid still running (one job running, one failed for good): the report says where it stands, lists the
// failure with its error and log, and marks the cells that are not complete.
TEST_F(ComparisonReport, ARunningGridShowsProgressFailuresAndUnfinishedCells) {
  CFM_REQUIRE(std::filesystem::exists("/usr/bin/chromium"), "no /usr/bin/chromium to load the report in",
              "chromium");
  {
    Database db(dir_ / "r.sqlite");
    db.exec(
        "UPDATE jobs SET state = 'running' WHERE key = (SELECT key FROM jobs WHERE json_extract(config, "
        "'$.method') = 'cfm' AND json_extract(config, '$.layers_kept') = 3)");
    db.exec(
        "UPDATE jobs SET state = 'failed', error = 'CUDA error: an illegal memory access\nmore', attempts = "
        "3 "
        "WHERE key = (SELECT key FROM jobs WHERE json_extract(config, '$.method') = 'memory_bank' AND "
        "json_extract(config, '$.layers_kept') = 4)");
  }
  const std::string dom = rendered_report();
  EXPECT_NE(dom.find("data-errors=\"0\""), std::string::npos) << element(dom, "data-error-text", ">");
  const std::string states = element(dom, "<p id=\"states\">", "</p>");
  for (const char* part : {"0 pending", "1 running", "2 succeeded", "1 failed"})
    EXPECT_NE(states.find(part), std::string::npos) << part << "\n" << states;
  const std::string progress = element(dom, "<table id=\"progress\"", "</table>");
  EXPECT_NE(
      progress.find("<th>method</th><th>memory_bank</th><td>0</td><td>0</td><td>0</td><td>1</td><td>1</td>"),
      std::string::npos)
      << progress;
  const std::string failed = element(dom, "<ul id=\"failed\">", "</ul>");
  EXPECT_NE(failed.find("CUDA error: an illegal memory access"), std::string::npos) << failed;
  EXPECT_EQ(failed.find("more"), std::string::npos);  // the one-line error
  EXPECT_NE(failed.find("/attempt-3.log"), std::string::npos) << failed;
  const std::string detection = element(dom, "<table id=\"table-0\"", "</table>");
  EXPECT_NE(detection.find("(1 unfinished)"), std::string::npos) << detection;
  EXPECT_NE(detection.find("(1 failed)"), std::string::npos) << detection;
}

}  // namespace
}  // namespace cfm
