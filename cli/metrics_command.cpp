#include <fmt/format.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "commands.h"
#include "common/data/png_io.h"
#include "common/data/tiff_io.h"
#include "common/metrics/evaluation.h"
#include "common/util/error.h"

namespace fs = std::filesystem;

namespace cfm::cli {
namespace {

// "relative/path.tiff,score" per line (a header line without a number is skipped).
std::map<std::string, float> read_scores_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw IoError(path, "cannot open the scores file");
  std::map<std::string, float> scores;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    if (line.empty()) continue;
    std::size_t comma = line.rfind(',');
    try {
      if (comma == std::string::npos) throw std::invalid_argument("no comma");
      scores[line.substr(0, comma)] = std::stof(line.substr(comma + 1));
    } catch (const std::exception&) {
      if (number == 1) continue;  // header
      throw FormatError(path,
                        fmt::format("line {}: expected '<map path>,<score>', found '{}'", number, line));
    }
  }
  return scores;
}

}  // namespace

void add_metrics_command(CLI::App& app) {
  struct Options {
    std::string maps, gt, scores;
    bool exact = false, json = false, normalise = true;
    int thresholds = 99;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd =
      app.add_subcommand("metrics", "I-AUROC, P-AUROC and AU-PRO of a folder of anomaly maps against masks");
  cmd->add_option("--maps", o->maps, "Folder of float32 TIFF anomaly maps (searched recursively)")
      ->required();
  cmd->add_option("--gt", o->gt,
                  "Folder of PNG masks with the same relative paths (a map without a mask is a good image)")
      ->required();
  auto* thresholds =
      cmd->add_option("--thresholds", o->thresholds, "Thresholds of the official AU-PRO protocol")
          ->capture_default_str();
  cmd->add_flag("--exact", o->exact, "AU-PRO over every distinct threshold (MVTec 3D-AD script)")
      ->excludes(thresholds);
  cmd->add_flag("!--no-normalise", o->normalise,
                "Use the maps as given (default: CFM's three per-image normalisations)");
  cmd->add_option("--scores", o->scores, "CSV of '<map path>,<image score>' replacing the map maxima");
  cmd->add_flag("--json", o->json, "Print JSON");
  cmd->callback([o] {
    if (!fs::is_directory(o->maps)) throw IoError(o->maps, "maps folder does not exist");
    if (!fs::is_directory(o->gt)) throw IoError(o->gt, "GT folder does not exist");
    std::vector<std::string> names;
    for (const auto& e : fs::recursive_directory_iterator(o->maps))
      if (e.is_regular_file() && e.path().extension() == ".tiff")
        names.push_back(fs::relative(e.path(), o->maps).string());
    if (names.empty()) throw IoError(o->maps, "no .tiff anomaly maps found");
    std::sort(names.begin(), names.end());
    std::map<std::string, float> given =
        o->scores.empty() ? std::map<std::string, float>() : read_scores_file(o->scores);
    PixelMaps maps;
    std::vector<float> image_scores;
    for (const std::string& name : names) {
      std::string map_path = (fs::path(o->maps) / name).string();
      Image<float> map = read_map_tiff(map_path);
      std::string mask_path = (fs::path(o->gt) / fs::path(name).replace_extension(".png")).string();
      ImageU8 mask = fs::exists(mask_path) ? read_png_luma(mask_path) : ImageU8(map.width, map.height, 1);
      if (!mask.same_size(map.width, map.height))
        throw DataError(mask_path, fmt::format("mask is {}x{} but its map {} is {}x{}", mask.width,
                                               mask.height, map_path, map.width, map.height));
      maps.scores.push_back(std::move(map));
      maps.masks.push_back(std::move(mask));
      if (!given.empty()) {
        auto it = given.find(name);
        if (it == given.end()) throw FormatError(o->scores, "no score for " + name);
        image_scores.push_back(it->second);
      }
    }
    EvaluationOptions options;
    options.exact = o->exact;
    options.thresholds = o->thresholds;
    options.normalise = o->normalise;
    Evaluation e = evaluate_maps(maps, image_scores, options);
    if (o->json) {
      fmt::print("{}\n", evaluation_json(e, options));
      return;
    }
    fmt::print("{} maps ({} anomalous, {} regions), AU-PRO {}\n", e.images, e.anomalous_images, e.regions,
               o->exact ? "exact" : fmt::format("official ({} thresholds)", o->thresholds));
    fmt::print("{}", evaluation_table(e));
    if (!e.i_auroc)
      fmt::print("I-AUROC is undefined: the maps hold only {} images\n",
                 e.anomalous_images ? "anomalous" : "good");
  });
}

}  // namespace cfm::cli
