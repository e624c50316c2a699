// `cfm results` on the database of a real tiny grid (tests/orchestrator/tiny_cfm_inputs.h): tables, the
// export, the jobs listing, the paper's tables, the gallery, and the HTML report in a headless browser.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>

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
  for (const char* part :
       {"## Detection and segmentation per category", "| cookie | ", "no jobs vary 'shots'",
        "no jobs vary 'layers_kept'", "## Efficiency", "| demo | "})
    EXPECT_NE(paper.output.find(part), std::string::npos) << part << "\n" << paper.output;
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

}  // namespace
}  // namespace cfm
