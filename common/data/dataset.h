// Listing a dataset in the MVTec 3D-AD layout: <root>/<category>/<split>/<defect>/{rgb,xyz,gt}/<name>.
// The same layout holds CFM's converted Eyecandies (docs/method.md §1.2, §1.5, §1.6).
//
//   cfm::Dataset dataset("datasets/mvtec3d");
//   for (const auto& category : dataset.categories())
//     for (const cfm::SampleFiles& s : dataset.samples(category, "test")) ...
//
// Files are paired by name (the official loader pairs two sorted lists by position, which silently
// mis-pairs a folder with one missing file). Any unpaired file is a problem; scan() reports all of them.
#pragma once

#include <string>
#include <vector>

namespace cfm {

struct SampleFiles {
  std::string category;
  std::string split;   // train, validation or test
  std::string defect;  // "good" or the defect folder name
  std::string name;    // file stem, e.g. "000"
  std::string rgb;
  std::string xyz;
  std::string gt;  // empty for good samples: their GT is all zeros (the loader never reads it)
  int label = 0;   // 0 good, 1 anomalous

  std::string id() const { return category + "/" + split + "/" + defect + "/" + name; }
};

struct DatasetProblem {
  std::string path;
  std::string problem;
};

struct ScanReport {
  std::vector<std::string> categories;
  std::size_t samples = 0;
  std::size_t anomalous = 0;
  std::vector<DatasetProblem> problems;
  bool ok() const { return problems.empty(); }
};

class Dataset {
 public:
  // Throws IoError if `root` is not a folder.
  explicit Dataset(std::string root);

  const std::string& root() const { return root_; }
  // Sub-folders of the root that hold a train or test split, sorted.
  std::vector<std::string> categories() const;
  // Split folders present for a category, in the order train, validation, test.
  std::vector<std::string> splits(const std::string& category) const;
  // Samples of one split, sorted by defect folder then name. Throws DataError listing every problem of
  // that split (missing folder, unpaired file, missing GT).
  std::vector<SampleFiles> samples(const std::string& category, const std::string& split) const;

  // Lists every split of every category and checks it. `deep` also checks each sample's files: headers
  // (channel count, sample type, RGB/xyz/GT sizes) and, when `decode` is set, the full decode of every
  // file as a job reads it: images (truncation, corruption) and point clouds (also NaN/Inf, empty clouds).
  // All problems are reported, not just the first.
  ScanReport scan(bool deep, bool decode = false, unsigned threads = 1) const;

 private:
  std::vector<SampleFiles> list_split(const std::string& category, const std::string& split,
                                      std::vector<DatasetProblem>& problems) const;
  std::string root_;
};

// Problems of one sample's files (empty if fine). Used by Dataset::scan; see there.
std::vector<DatasetProblem> check_sample_files(const SampleFiles& sample, bool decode);

}  // namespace cfm
