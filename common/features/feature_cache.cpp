#include "common/features/feature_cache.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>

#include "common/models/checkpoint/state_dict.h"
#include "common/util/error.h"
#include "common/util/sha256.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace cfm {

FeatureCache::FeatureCache(std::string folder, const BackboneConfig& config)
    : folder_(std::move(folder)), enabled_(!folder_.empty() && config.mode == BackboneMode::Eval) {
  if (!enabled_) return;
  fs::create_directories(folder_);
  fingerprint_ =
      sha256_hex(sha256_file_hex(config.vit_weights) + sha256_file_hex(config.point_mae_weights) +
                 describe(config) + std::to_string(config.vit.patch) + std::to_string(config.point_mae.eps));
}

std::string FeatureCache::key(const SampleFiles& files) const {
  return sha256_hex(fingerprint_ + sha256_file_hex(files.rgb) + sha256_file_hex(files.xyz));
}

BackboneOutputs FeatureCache::outputs(FeatureExtractor& extractor, const SampleFiles& files,
                                      const at::Tensor& rgb, const at::Tensor& cloud) {
  if (!enabled_) return extractor.extract(rgb, cloud);
  std::string path = (fs::path(folder_) / (key(files) + ".pth")).string();
  if (fs::exists(path)) {
    try {
      StateDict t = read_checkpoint(path);
      BackboneOutputs out;
      out.rgb_map = t.at("rgb_map");
      out.points.centres = t.at("centres");
      out.points.centre_index = t.at("centre_index");
      out.points.features = t.at("features");
      out.pixel_indices = t.at("pixel_indices");
      out.valid_points = t.at("valid_points");
      ++hits_;
      return out;
    } catch (const std::exception&) {
      fs::remove(path);  // a damaged entry is recomputed
    }
  }
  ++misses_;
  BackboneOutputs out = extractor.extract(rgb, cloud);
  // Jobs on several nodes may compute the same entry at once: each writes its own temporary and renames it
  // whole (the entries are equal; the last rename wins).
  const std::string partial = temporary_path_for(path);
  try {
    write_torch_checkpoint(partial, {{"",
                                      {{"rgb_map", out.rgb_map},
                                       {"centres", out.points.centres},
                                       {"centre_index", out.points.centre_index},
                                       {"features", out.points.features},
                                       {"pixel_indices", out.pixel_indices},
                                       {"valid_points", out.valid_points}}}});
    std::error_code error;
    fs::rename(partial, path, error);
    if (error) throw IoError(path, "cannot store the feature cache entry: " + error.message());
  } catch (...) {
    std::error_code ignored;
    fs::remove(partial, ignored);
    throw;
  }
  return out;
}

}  // namespace cfm
