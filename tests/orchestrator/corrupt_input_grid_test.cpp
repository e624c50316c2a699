// Corrupt inputs inside a grid: each of five categories carries one kind of damage a real dataset copy
// can have (a truncated point cloud, an RGB file that is not a PNG, a point cloud of the wrong size, a
// missing ground-truth mask, a point cloud without a single valid point). Each such job fails with an
// error that names the damaged file, and the rest of the grid (a clean copy of a category) completes.
#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "common/data/tiff_io.h"
#include "common/store/sqlite.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

const std::string kCfm = CFM_BINARY;

bool run_ok(const std::string& command) {
  auto r = test::run_command(command);
  EXPECT_EQ(r.exit_code, 0) << command << "\n" << r.output;
  return r.exit_code == 0;
}

TEST(CorruptInputGrid, EachDamagedCategoryFailsNamingItsFileAndTheRestCompletes) {
  test::TempDir dir;
  ASSERT_TRUE(run_ok(fmt::format(
      "{} synth --out {} --categories 5 --size 200 --train 2 --validation 0 --test 1 --no-progress", kCfm,
      dir / "data")));
  ASSERT_TRUE(
      run_ok(fmt::format("{} preprocess mvtec --in {} --in-place --no-progress", kCfm, dir / "data")));
  ASSERT_TRUE(run_ok(fmt::format(
      "{} synth --out {} --categories 1 --size 100 --train 1 --validation 0 --test 1 --no-progress", kCfm,
      dir / "small")));
  ASSERT_TRUE(run_ok(fmt::format("{} backbones init --preset tiny --out {} --seed 3", kCfm, dir / "w")));
  fs::create_directories(dir / "clean");
  fs::copy(dir / "data/cookie", dir / "clean/cookie", fs::copy_options::recursive);

  // The damage, one kind per category; each file is named in the job's error.
  const fs::path data = dir / "data";
  std::map<std::string, fs::path> damaged = {
      {"cookie", data / "cookie/test/good/xyz/000.tiff"},  // truncated
      {"bagel", data / "bagel/train/good/rgb/001.png"},    // not a PNG
      {"dowel", data / "dowel/test/good/xyz/000.tiff"},    // 100 x 100 instead of 200 x 200
      {"potato", fs::path()},                              // a missing GT mask (found below)
      {"gland", data / "gland/train/good/xyz/000.tiff"},   // no valid point
  };
  fs::resize_file(damaged["cookie"], fs::file_size(damaged["cookie"]) / 2);
  std::ofstream(damaged["bagel"], std::ios::trunc) << "this is not a PNG file\n";
  fs::copy_file(dir / "small/cookie/test/good/xyz/000.tiff", damaged["dowel"],
                fs::copy_options::overwrite_existing);
  for (const auto& entry : fs::recursive_directory_iterator(data / "potato/test"))
    if (entry.path().parent_path().filename() == "gt" &&
        entry.path().parent_path().parent_path().filename() != "good") {
      damaged["potato"] = entry.path();
      break;
    }
  ASSERT_FALSE(damaged["potato"].empty());
  fs::remove(damaged["potato"]);
  PointImage zeros(200, 200, 3);  // every pixel (0, 0, 0): a cloud without a valid point
  write_xyz_tiff(damaged["gland"], zeros);

  std::ofstream(dir / "grid.yaml")
      << "name: damaged\nmax_attempts: 1\nfixed:\n"
      << "  dataset: data\n  preset: demo\n  vit_weights: w/vit_tiny_random.pth\n"
      << "  point_mae_weights: w/pointmae_tiny_random.pth\n  image_size: 112\n"
      << "  grid: 28\n  groups: 32\n  group_size: 16\n  epochs: 1\n"
      << "axes:\n  category: [cookie, bagel, dowel, potato, gland]\n"
      << "include: [{dataset: clean, category: cookie}]\n";
  auto run = test::run_command(fmt::format("{} run {} --db {} --runs {} --workers 2 --no-progress", kCfm,
                                           dir / "grid.yaml", dir / "r.sqlite", dir / "runs"));
  EXPECT_NE(run.output.find("1 succeeded, 5 failed"), std::string::npos) << run.output;

  Database db(dir / "r.sqlite");
  Statement rows = db.prepare(
      "SELECT json_extract(config, '$.dataset'), json_extract(config, '$.category'), state, COALESCE(error, "
      "'') "
      "FROM jobs");
  int seen = 0;
  while (rows.step()) {
    ++seen;
    const std::string dataset = rows.text(0), category = rows.text(1), state = rows.text(2),
                      error = rows.text(3);
    if (fs::path(dataset).filename() == "clean") {
      EXPECT_EQ(state, "succeeded") << error;
      continue;
    }
    EXPECT_EQ(state, "failed") << category;
    // A missing file is named from its sample: "<sample>/rgb/000.png: no matching gt/000.png".
    const fs::path file = damaged.at(category);
    const std::string named = category == "potato"
                                  ? (file.parent_path().parent_path() / "rgb" / file.filename()).string() +
                                        ": no matching gt/" + file.filename().string()
                                  : file.string();
    EXPECT_NE(error.find(named), std::string::npos)
        << category << ": the error does not name " << named << ":\n"
        << error;
  }
  EXPECT_EQ(seen, 6);
  // The clean job's result was recorded as usual.
  Statement results = db.prepare("SELECT COUNT(*) FROM results");
  ASSERT_TRUE(results.step());
  EXPECT_EQ(results.integer(0), 1);
}

}  // namespace
}  // namespace cfm
