#include "common/data/synth/eyecandies_writer.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <filesystem>

#include "common/data/png_io.h"
#include "common/data/synth/synth_random.h"
#include "common/util/error.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace cfm::synth {
namespace {

constexpr int kEyecandiesSize = 512;

struct Task {
  std::size_t category;
  std::string split;  // train, val, test_public
  DefectKind defect;
  int index;
};

// Which of Eyecandies' per-type masks a defect belongs to.
bool in_mask(DefectKind d, const std::string& type) {
  if (type == "bumps") return d == DefectKind::Bump || d == DefectKind::Combined;
  if (type == "dents") return d == DefectKind::Dent || d == DefectKind::Hole || d == DefectKind::Crack;
  if (type == "colors")
    return d == DefectKind::Contamination || d == DefectKind::Stain || d == DefectKind::Combined;
  return false;  // "normals": not generated
}

int write_sample(const SynthOptions& o, const CategoryStyle& style, const Task& t, const fs::path& folder) {
  std::string id = t.split == "test_public" ? fmt::format("{:02}", t.index) : fmt::format("{:03}", t.index);
  Rng rng(sample_seed(o.seed, "eyecandies/" + style.name + "/" + t.split + "/" + id));
  double pitch = 2.2 * 0.1 / kEyecandiesFocal;  // metres per pixel on the plane at the nominal distance
  SurfaceModel surface = make_object_surface(style, kEyecandiesSize, kEyecandiesSize, pitch, rng.bits());
  apply_defect(surface, t.defect, rng.bits());
  EyecandiesView view = render_eyecandies_view(surface, rng.bits());
  auto file = [&](const std::string& suffix) { return (folder / (id + "_" + suffix)).string(); };
  for (int i = 0; i < 6; ++i) write_png(file(fmt::format("image_{}.png", i)), view.images[i]);
  write_png(file("depth.png"), view.depth);
  write_png(file("normals.png"), view.normals);
  write_png(file("mask.png"), surface.defect_mask);
  for (const char* type : {"bumps", "colors", "dents", "normals"})
    write_png(file(std::string(type) + "_mask.png"),
              in_mask(t.defect, type) ? surface.defect_mask : ImageU8(kEyecandiesSize, kEyecandiesSize, 1));
  write_whole_file(file("info_depth.yaml"), fmt::format("normalization:\n  min: {:.17g}\n  max: {:.17g}\n",
                                                        view.depth_min, view.depth_max));
  std::string pose;
  for (const auto& row : view.pose)
    pose += fmt::format("{:.17g} {:.17g} {:.17g} {:.17g}\n", row[0], row[1], row[2], row[3]);
  write_whole_file(file("pose.txt"), pose);
  write_whole_file(file("metadata.yaml"), fmt::format("category: {}\nsynthetic: true\nanomaly: {}\n",
                                                      style.name, defect_folder(t.defect)));
  write_whole_file(file("info_rgb.yaml"),
                   "lights: [all_spotlights, bottom, right, top, left, global_light_box]\n");
  return 17;
}

}  // namespace

std::string eyecandies_category_name(const std::string& name) {
  std::string result = name;
  if (!result.empty()) result[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(result[0])));
  return result;
}

SynthSummary write_eyecandies_dataset(const SynthOptions& o, const std::vector<CategoryStyle>& styles,
                                      const ParallelRunner& run) {
  std::vector<Task> tasks;
  for (std::size_t c = 0; c < styles.size(); ++c) {
    for (int i = 0; i < o.train; ++i) tasks.push_back({c, "train", DefectKind::None, i});
    for (int i = 0; i < o.validation; ++i) tasks.push_back({c, "val", DefectKind::None, i});
    // test_public: as many good as anomalous samples, defect types in turn, interleaved like the real set.
    for (int i = 0; i < 2 * o.test; ++i) {
      DefectKind d = i % 2 == 0
                         ? DefectKind::None
                         : styles[c].defects[static_cast<std::size_t>(i / 2) % styles[c].defects.size()];
      tasks.push_back({c, "test_public", d, i});
    }
  }
  for (const Task& t : tasks)
    fs::create_directories(fs::path(o.out) / eyecandies_category_name(styles[t.category].name) / t.split /
                           "data");
  std::vector<int> files(tasks.size());
  run(tasks.size(), [&](std::size_t i) {
    const Task& t = tasks[i];
    fs::path folder = fs::path(o.out) / eyecandies_category_name(styles[t.category].name) / t.split / "data";
    files[i] = write_sample(o, styles[t.category], t, folder);
  });
  SynthSummary summary;
  for (int f : files) summary.files += static_cast<std::size_t>(f);
  for (std::size_t c = 0; c < styles.size(); ++c) {
    SynthCategorySummary s;
    s.name = eyecandies_category_name(styles[c].name);
    s.width = s.height = kEyecandiesSize;
    s.train = o.train;
    s.validation = o.validation;
    s.test_good = o.test;
    s.test_anomalous = o.test;
    for (DefectKind d : styles[c].defects) s.defects.push_back(defect_folder(d));
    summary.categories.push_back(s);
  }
  return summary;
}

}  // namespace cfm::synth
