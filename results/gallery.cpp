#include "results/gallery.h"

#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/data/heat_map.h"
#include "common/data/png_io.h"
#include "common/data/resample.h"
#include "common/data/tiff_io.h"
#include "common/store/sqlite.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

struct ScoredSample {
  std::string defect, name;
  double score = 0;
  bool anomalous = false;
};

// scores.csv of `cfm eval`: map,score,label with map = <defect>/<name>.tiff
std::vector<ScoredSample> read_scores(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw FileError(path.string(), "cannot read the scores file");
  std::vector<ScoredSample> samples;
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    std::stringstream fields(line);
    std::string map, score, label;
    std::getline(fields, map, ',');
    std::getline(fields, score, ',');
    std::getline(fields, label, ',');
    auto slash = map.find('/');
    if (slash == std::string::npos || map.size() < 5)
      throw FormatError(path.string(), "malformed line '" + line + "'");
    samples.push_back({map.substr(0, slash), map.substr(slash + 1, map.size() - slash - 6), std::stod(score),
                       label == "1"});
  }
  return samples;
}

void paste(ImageU8& canvas, const ImageU8& tile, int slot) {
  ImageU8 rgb = tile;
  if (tile.channels == 1) {
    rgb = ImageU8(tile.width, tile.height, 3);
    for (std::size_t i = 0; i < tile.pixels.size(); ++i)
      for (int c = 0; c < 3; ++c) rgb.pixels[i * 3 + static_cast<std::size_t>(c)] = tile.pixels[i];
  }
  for (int y = 0; y < rgb.height; ++y)
    for (int x = 0; x < rgb.width; ++x)
      for (int c = 0; c < 3; ++c) canvas.at(y, slot * (rgb.width + 4) + x, c) = rgb.at(y, x, c);
}

ImageU8 panel(const fs::path& sample_dir, const fs::path& eval_dir, const ScoredSample& s, int tile) {
  ImageU8 canvas(5 * tile + 4 * 4, tile, 3, 255);
  paste(canvas,
        pillow_resize_bicubic(
            square_pad_edge(read_png_rgb((sample_dir / "rgb" / (s.name + ".png")).string())), tile, tile),
        0);
  fs::path gt = eval_dir / "gt" / s.defect / (s.name + ".png");
  paste(canvas,
        fs::exists(gt) ? pillow_resize_nearest(read_png_luma(gt.string()), tile, tile)
                       : ImageU8(tile, tile, 1, 0),
        1);
  int slot = 2;
  for (const char* folder : {"maps-3d", "maps-2d", "maps"})
    paste(canvas,
          pillow_resize_nearest(
              heat_map(read_map_tiff((eval_dir / folder / s.defect / (s.name + ".tiff")).string())), tile,
              tile),
          slot++);
  return canvas;
}

std::vector<std::pair<std::string, ScoredSample>> pick(std::vector<ScoredSample> samples, int per_kind) {
  std::sort(samples.begin(), samples.end(), [](const auto& a, const auto& b) { return a.score > b.score; });
  std::vector<ScoredSample> anomalous, good;
  for (const auto& s : samples) (s.anomalous ? anomalous : good).push_back(s);
  std::vector<std::pair<std::string, ScoredSample>> chosen;
  for (int i = 0; i < per_kind && i < static_cast<int>(anomalous.size()); ++i)
    chosen.emplace_back("best", anomalous[static_cast<std::size_t>(i)]);
  for (int i = 0; i < per_kind && static_cast<int>(anomalous.size()) - 1 - i >= per_kind; ++i)
    chosen.emplace_back("worst", anomalous[anomalous.size() - 1 - static_cast<std::size_t>(i)]);
  if (!good.empty()) chosen.emplace_back("false-positive", good.front());
  return chosen;
}

}  // namespace

std::vector<GalleryPanel> write_gallery(Database& db, const std::vector<ResultRow>& rows,
                                        const GalleryOptions& o) {
  std::vector<GalleryPanel> panels;
  std::string index = "# Gallery\n\nTiles: RGB | ground truth | s3D | s2D | combined map.\n\n";
  for (const ResultRow& row : rows) {
    Statement s = db.prepare("SELECT run_dir FROM jobs WHERE key = ?1");
    s.bind(1, row.key);
    if (!s.step() || s.is_null(0)) continue;
    fs::path eval_dir = fs::path(s.text(0)) / "eval";
    if (!fs::exists(eval_dir / "scores.csv") || !row.settings.count("dataset")) continue;
    std::string category = row.settings.at("category");
    fs::path test_dir = fs::path(row.settings.at("dataset")) / category / "test";
    fs::path out = fs::path(o.out_dir) / row.grid / category / row.key.substr(0, 12);
    fs::create_directories(out);
    index += fmt::format("## {} / {} / job {}\n\n", row.grid, category, row.key.substr(0, 12));
    for (const auto& [kind, sample] : pick(read_scores(eval_dir / "scores.csv"), o.per_kind)) {
      fs::path path = out / fmt::format("{}-{}-{}.png", kind, sample.defect, sample.name);
      write_png(path.string(), panel(test_dir / sample.defect, eval_dir, sample, o.tile));
      panels.push_back(
          {path.string(), row.key, category, kind, sample.defect + "/" + sample.name, sample.score});
      index += fmt::format("- {} {}/{} (score {:.4f}): ![]({})\n", kind, sample.defect, sample.name,
                           sample.score, fs::relative(path, o.out_dir).string());
    }
    index += "\n";
  }
  if (panels.empty())
    throw UsageError(
        "none of the selected jobs has an evaluation in its run folder (are the run folders on this "
        "machine?)");
  write_whole_file((fs::path(o.out_dir) / "index.md").string(), index);
  return panels;
}

}  // namespace cfm
