#include "common/data/dataset.h"

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <map>
#include <mutex>
#include <thread>

#include "common/data/png_io.h"
#include "common/data/sample_checks.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"
#include "common/util/threads.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

const char* const kSplitOrder[] = {"train", "validation", "test"};

std::vector<std::string> sorted_subfolders(const fs::path& folder) {
  std::vector<std::string> names;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error))
    if (entry.is_directory()) names.push_back(entry.path().filename().string());
  std::sort(names.begin(), names.end());
  return names;
}

// stem -> path for the files of `folder` ending in `extension` (hidden files ignored).
std::map<std::string, std::string> files_by_stem(const fs::path& folder, const std::string& extension) {
  std::map<std::string, std::string> files;
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(folder, error)) {
    const fs::path& p = entry.path();
    if (entry.is_regular_file() && p.extension() == extension && p.filename().string()[0] != '.')
      files[p.stem().string()] = p.string();
  }
  return files;
}

}  // namespace

Dataset::Dataset(std::string root) : root_(std::move(root)) {
  if (!fs::is_directory(root_)) throw IoError(root_, "dataset folder does not exist");
}

std::vector<std::string> Dataset::categories() const {
  std::vector<std::string> result;
  for (const std::string& name : sorted_subfolders(root_))
    if (fs::is_directory(fs::path(root_) / name / "train") ||
        fs::is_directory(fs::path(root_) / name / "test"))
      result.push_back(name);
  return result;
}

std::vector<std::string> Dataset::splits(const std::string& category) const {
  std::vector<std::string> result;
  for (const char* split : kSplitOrder)
    if (fs::is_directory(fs::path(root_) / category / split)) result.push_back(split);
  return result;
}

std::vector<SampleFiles> Dataset::list_split(const std::string& category, const std::string& split,
                                             std::vector<DatasetProblem>& problems) const {
  std::vector<SampleFiles> samples;
  fs::path split_folder = fs::path(root_) / category / split;
  if (!fs::is_directory(split_folder)) {
    problems.push_back({split_folder.string(), "missing folder (expected the " + split + " split)"});
    return samples;
  }
  std::vector<std::string> defects = sorted_subfolders(split_folder);
  if (defects.empty())
    problems.push_back({split_folder.string(), "no defect folders (expected at least good/)"});
  for (const std::string& defect : defects) {
    fs::path folder = split_folder / defect;
    bool good = defect == "good";
    if (split != "test" && !good) {
      problems.push_back({folder.string(), "only good/ is allowed in the " + split + " split"});
      continue;
    }
    for (const char* modality : {"rgb", "xyz"})
      if (!fs::is_directory(folder / modality))
        problems.push_back({(folder / modality).string(), "missing folder"});
    if (!good && !fs::is_directory(folder / "gt"))
      problems.push_back({(folder / "gt").string(), "missing folder"});
    auto rgb = files_by_stem(folder / "rgb", ".png");
    auto xyz = files_by_stem(folder / "xyz", ".tiff");
    auto gt = good ? std::map<std::string, std::string>() : files_by_stem(folder / "gt", ".png");
    if (rgb.empty() && fs::is_directory(folder / "rgb"))
      problems.push_back({(folder / "rgb").string(), "no .png files"});
    for (const auto& [stem, path] : xyz)
      if (!rgb.count(stem)) problems.push_back({path, "no matching rgb/" + stem + ".png"});
    for (const auto& [stem, path] : gt)
      if (!rgb.count(stem)) problems.push_back({path, "no matching rgb/" + stem + ".png"});
    for (const auto& [stem, rgb_path] : rgb) {
      SampleFiles sample{category, split, defect, stem, rgb_path, "", "", good ? 0 : 1};
      auto x = xyz.find(stem);
      if (x == xyz.end()) {
        problems.push_back({rgb_path, "no matching xyz/" + stem + ".tiff"});
        continue;
      }
      sample.xyz = x->second;
      if (!good) {
        auto g = gt.find(stem);
        if (g == gt.end()) {
          problems.push_back({rgb_path, "no matching gt/" + stem + ".png"});
          continue;
        }
        sample.gt = g->second;
      }
      samples.push_back(std::move(sample));
    }
  }
  return samples;
}

std::vector<SampleFiles> Dataset::samples(const std::string& category, const std::string& split) const {
  std::vector<DatasetProblem> problems;
  std::vector<SampleFiles> samples = list_split(category, split, problems);
  if (!problems.empty()) {
    // The first line names the first file: logs and job errors that keep one line still say which.
    std::string message = std::to_string(problems.size()) + " problem(s) in this split, first " +
                          problems.front().path + ": " + problems.front().problem;
    if (problems.size() > 1)
      for (const DatasetProblem& p : problems) message += "\n  " + p.path + ": " + p.problem;
    throw DataError((fs::path(root_) / category / split).string(), message);
  }
  return samples;
}

std::vector<DatasetProblem> check_sample_files(const SampleFiles& sample, bool decode) {
  std::vector<DatasetProblem> problems;
  auto guarded = [&](const std::string& path, auto&& check) {
    try {
      check();
    } catch (const FileError& e) {
      problems.push_back({e.path(), e.problem()});
    } catch (const std::exception& e) {
      problems.push_back({path, e.what()});
    }
  };
  // With `decode`, every image is read as a job reads it (a truncated or corrupt PNG fails here, not in the
  // job); otherwise only its header.
  auto png_size = [decode](const std::string& path, bool mask) {
    if (!decode) return read_png_size(path);
    ImageU8 image = mask ? read_png_luma(path) : read_png_rgb(path);
    return PngSize{image.width, image.height};
  };
  PngSize rgb;  // stays 0x0 when the RGB file cannot be read: size checks are then skipped
  guarded(sample.rgb, [&] { rgb = png_size(sample.rgb, false); });
  const int rgb_width = rgb.width, rgb_height = rgb.height;
  guarded(sample.xyz, [&] {
    TiffInfo info = read_tiff_info(sample.xyz);
    if (decode) {
      PointImage points = read_xyz_tiff(sample.xyz);  // also checks channels and sample type
      std::string problem = point_cloud_problem(points);
      if (!problem.empty()) problems.push_back({sample.xyz, problem});
    } else if (info.samples_per_pixel != 3 || !info.ieee_float ||
               (info.bits_per_sample != 32 && info.bits_per_sample != 64)) {
      read_xyz_tiff(sample.xyz);  // throws the precise FormatError
    }
    if (rgb_width > 0) {
      std::string problem = xyz_size_problem(rgb_width, rgb_height, info.width, info.height);
      if (!problem.empty()) problems.push_back({sample.xyz, problem});
    }
  });
  if (!sample.gt.empty())
    guarded(sample.gt, [&] {
      PngSize gt = png_size(sample.gt, true);
      std::string problem = rgb_width > 0 ? gt_size_problem(rgb_width, rgb_height, gt.width, gt.height) : "";
      if (!problem.empty()) problems.push_back({sample.gt, problem});
    });
  return problems;
}

ScanReport Dataset::scan(bool deep, bool decode, unsigned threads) const {
  ScanReport report;
  report.categories = categories();
  if (report.categories.empty())
    report.problems.push_back({root_, "no category folders (expected <category>/train or <category>/test)"});
  std::vector<SampleFiles> all;
  for (const std::string& category : report.categories) {
    for (const char* split : {"train", "test"}) {
      std::vector<SampleFiles> listed = list_split(category, split, report.problems);
      all.insert(all.end(), listed.begin(), listed.end());
    }
    if (fs::is_directory(fs::path(root_) / category / "validation")) {
      std::vector<SampleFiles> listed = list_split(category, "validation", report.problems);
      all.insert(all.end(), listed.begin(), listed.end());
    }
  }
  report.samples = all.size();
  for (const SampleFiles& s : all) report.anomalous += static_cast<std::size_t>(s.label);
  if (!deep) return report;
  std::mutex mutex;
  parallel_for(all.size(), threads, [&](std::size_t i) {
    std::vector<DatasetProblem> found = check_sample_files(all[i], decode);
    std::lock_guard<std::mutex> lock(mutex);
    report.problems.insert(report.problems.end(), found.begin(), found.end());
  });
  std::sort(report.problems.begin(), report.problems.end(),
            [](const DatasetProblem& a, const DatasetProblem& b) { return a.path < b.path; });
  return report;
}

}  // namespace cfm
