#include "common/data/synth/synth_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "common/data/png_io.h"
#include "common/data/synth/eyecandies_writer.h"
#include "common/data/synth/scene.h"
#include "common/data/synth/synth_random.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "common/util/progress_bar.h"
#include "common/util/threads.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace cfm::synth {
namespace {

struct Task {
  std::size_t category;
  std::string split;
  DefectKind defect;
  int index;
};

void validate(const SynthOptions& o) {
  if (o.out.empty()) throw UsageError("synth: --out is required");
  if (o.categories < 1 || o.categories > 50) throw UsageError("synth: --categories must be in 1..50");
  if (o.format == DatasetFormat::Mvtec && (o.size < 100 || o.size > 4000 || o.size % 100 != 0))
    throw UsageError(
        fmt::format("synth: --size must be a multiple of 100 in 100..4000 (got {}): CFM's preprocessing pads "
                    "to multiples "
                    "of 100, and RGB and xyz stay aligned only then (docs/method.md §2.1)",
                    o.size));
  if (o.train < 1 || o.test < 1 || o.validation < 0)
    throw UsageError("synth: --train and --test must be >= 1");
}

std::string name_of(int index) { return fmt::format("{:03}", index); }

void write_mvtec_calibration(const fs::path& category_root, int width, int height) {
  fs::create_directories(category_root / "calibration");
  double pitch = 0.16 / height, focal = 0.55 / pitch;
  nlohmann::json j = {{"image_width", width}, {"image_height", height},
                      {"focus", focal},       {"cx", width / 2.0},
                      {"cy", height / 2.0},   {"note", "cfm synthetic dataset; nominal pinhole"}};
  write_whole_file((category_root / "calibration" / "camera_parameters.json").string(), j.dump(2) + "\n");
}

// Writes one MVTec-layout sample; returns (files written, defect area / object area).
std::pair<int, double> write_mvtec_task(const SynthOptions& o, const CategoryStyle& style, const Task& t) {
  std::uint64_t seed = sample_seed(
      o.seed, style.name + "/" + t.split + "/" + defect_folder(t.defect) + "/" + name_of(t.index));
  MvtecSample sample = generate_mvtec_sample(style, o.size, t.defect, seed);
  fs::path folder = fs::path(o.out) / style.name / t.split / defect_folder(t.defect);
  for (const char* sub : {"rgb", "xyz", "gt"}) fs::create_directories(folder / sub);
  std::string name = name_of(t.index);
  write_png((folder / "rgb" / (name + ".png")).string(), sample.rgb);
  write_xyz_tiff((folder / "xyz" / (name + ".tiff")).string(), sample.xyz, TiffSampleType::Float32);
  write_png((folder / "gt" / (name + ".png")).string(), sample.gt);
  auto count = [](const ImageU8& m) { return std::count(m.pixels.begin(), m.pixels.end(), 255); };
  double fraction = static_cast<double>(count(sample.gt)) /
                    std::max<double>(1.0, static_cast<double>(count(sample.object_mask)));
  return {3, fraction};
}

std::vector<Task> mvtec_tasks(const SynthOptions& o, const std::vector<CategoryStyle>& styles) {
  std::vector<Task> tasks;
  for (std::size_t c = 0; c < styles.size(); ++c) {
    for (int i = 0; i < o.train; ++i) tasks.push_back({c, "train", DefectKind::None, i});
    for (int i = 0; i < o.validation; ++i) tasks.push_back({c, "validation", DefectKind::None, i});
    for (int i = 0; i < o.test; ++i) tasks.push_back({c, "test", DefectKind::None, i});
    for (DefectKind d : styles[c].defects)
      for (int i = 0; i < o.test; ++i) tasks.push_back({c, "test", d, i});
  }
  return tasks;
}

// Runs tasks on the shared thread helper, advancing the progress bar after each; the first error stops
// the run and is rethrown.
template <typename Fn>
void run_parallel(std::size_t count, unsigned threads, ProgressBar* bar, Fn&& fn) {
  parallel_for(count, threads, [&](std::size_t i) {
    fn(i);
    if (bar) bar->advance();
  });
}

std::uintmax_t folder_bytes(const fs::path& root) {
  std::uintmax_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(root))
    if (e.is_regular_file()) total += e.file_size();
  return total;
}

}  // namespace

SynthSummary write_synthetic_dataset(const SynthOptions& o) {
  validate(o);
  auto start = std::chrono::steady_clock::now();
  std::vector<CategoryStyle> styles = category_styles(o.categories);
  std::error_code error;
  fs::create_directories(o.out, error);
  if (error) throw IoError(o.out, "cannot create output folder: " + error.message());

  SynthSummary summary;
  std::vector<std::pair<int, double>> results;
  if (o.format == DatasetFormat::Mvtec) {
    std::vector<Task> tasks = mvtec_tasks(o, styles);
    results.resize(tasks.size());
    {
      ProgressBar bar("synth", tasks.size(), o.progress ? stderr : nullptr);
      run_parallel(tasks.size(), o.threads, o.progress ? &bar : nullptr, [&](std::size_t i) {
        results[i] = write_mvtec_task(o, styles[tasks[i].category], tasks[i]);
      });
    }
    for (std::size_t c = 0; c < styles.size(); ++c) {
      SynthCategorySummary s;
      s.name = styles[c].name;
      s.height = o.size;
      s.width = static_cast<int>(std::lround(o.size * styles[c].aspect));
      write_mvtec_calibration(fs::path(o.out) / s.name, s.width, s.height);
      s.train = o.train;
      s.validation = o.validation;
      s.test_good = o.test;
      s.test_anomalous = o.test * static_cast<int>(styles[c].defects.size());
      for (DefectKind d : styles[c].defects) s.defects.push_back(defect_folder(d));
      double sum = 0;
      for (std::size_t i = 0; i < tasks.size(); ++i)
        if (tasks[i].category == c && tasks[i].defect != DefectKind::None) sum += results[i].second;
      s.mean_defect_fraction = s.test_anomalous ? sum / s.test_anomalous : 0;
      summary.categories.push_back(s);
    }
    for (const auto& r : results) summary.files += static_cast<std::size_t>(r.first);
  } else {
    summary = write_eyecandies_dataset(o, styles,
                                       [&](std::size_t count, const std::function<void(std::size_t)>& fn) {
                                         ProgressBar bar("synth", count, o.progress ? stderr : nullptr);
                                         run_parallel(count, o.threads, o.progress ? &bar : nullptr, fn);
                                       });
  }
  summary.bytes = folder_bytes(o.out);
  summary.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return summary;
}

std::string format_summary(const SynthOptions& o, const SynthSummary& s) {
  std::string text =
      fmt::format("synthetic {} dataset in {} (seed {})\n",
                  o.format == DatasetFormat::Mvtec ? "MVTec 3D-AD" : "Eyecandies", o.out, o.seed);
  text += fmt::format("  {:<10} {:>9} {:>6} {:>6} {:>10} {:>10} {:>9}  {}\n", "category", "size", "train",
                      "val", "test good", "test bad", "defect %", "defect types");
  for (const SynthCategorySummary& c : s.categories) {
    std::string defects;
    for (const std::string& d : c.defects) defects += (defects.empty() ? "" : ", ") + d;
    text += fmt::format("  {:<10} {:>9} {:>6} {:>6} {:>10} {:>10} {:>8.2f}%  {}\n", c.name,
                        fmt::format("{}x{}", c.width, c.height), c.train, c.validation, c.test_good,
                        c.test_anomalous, 100 * c.mean_defect_fraction, defects);
  }
  text += fmt::format("  {} files, {:.1f} MB, {:.1f} s\n", s.files, static_cast<double>(s.bytes) / 1e6,
                      s.seconds);
  return text;
}

}  // namespace cfm::synth
