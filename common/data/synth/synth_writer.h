// `cfm synth`: writes a synthetic dataset in the exact MVTec 3D-AD layout or the raw Eyecandies layout.
//
// MVTec:      <out>/<category>/{train,validation}/good/{rgb,xyz,gt}/NNN.{png,tiff,png}
//             <out>/<category>/test/{good,<defect>...}/{rgb,xyz,gt}/NNN.*, calibration/camera_parameters.json
// Eyecandies: <out>/<Category>/{train,val,test_public}/data/<id>_{image_0..5,depth,normals,mask,
//             bumps_mask,colors_mask,dents_mask,normals_mask}.png, <id>_info_depth.yaml, <id>_pose.txt,
//             <id>_metadata.yaml, <id>_info_rgb.yaml (17 files per sample, as the converter expects).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace cfm::synth {

enum class DatasetFormat { Mvtec, Eyecandies };

struct SynthOptions {
  std::string out;
  int categories = 3;
  int size = 800;  // image height (MVTec) in pixels; Eyecandies is always 512x512 as the real data
  int train = 10;
  int validation = 2;
  int test = 4;  // per test folder (good and each defect type); Eyecandies: test_public total = 2x this
  std::uint64_t seed = 0;
  DatasetFormat format = DatasetFormat::Mvtec;
  unsigned threads = 2;
  bool progress = true;
};

struct SynthCategorySummary {
  std::string name;
  int width = 0, height = 0;
  int train = 0, validation = 0, test_good = 0, test_anomalous = 0;
  std::vector<std::string> defects;
  double mean_defect_fraction = 0;  // mean anomaly area / object area over anomalous test samples
};

struct SynthSummary {
  std::vector<SynthCategorySummary> categories;
  std::size_t files = 0;
  std::uintmax_t bytes = 0;
  double seconds = 0;
};

// Validates the options (UsageError) and writes the dataset; existing files are overwritten.
SynthSummary write_synthetic_dataset(const SynthOptions& options);

std::string format_summary(const SynthOptions& options, const SynthSummary& summary);

}  // namespace cfm::synth
