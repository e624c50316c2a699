#include "common/features/feature_cache.h"

#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>

#include "common/models/checkpoint/state_dict.h"
#include "common/runtime/precision.h"
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

std::string FeatureCache::key(const SampleFiles& files, const at::Device& device) const {
  return sha256_hex(fingerprint_ + active_precision_tag(device) + sha256_file_hex(files.rgb) +
                    sha256_file_hex(files.xyz));
}

namespace {

std::optional<BackboneOutputs> read_entry(const std::string& path) {
  if (!fs::exists(path)) return std::nullopt;
  try {
    StateDict t = read_checkpoint(path);
    BackboneOutputs out;
    out.rgb_map = t.at("rgb_map");
    out.points.centres = t.at("centres");
    out.points.centre_index = t.at("centre_index");
    out.points.features = t.at("features");
    out.pixel_indices = t.at("pixel_indices");
    out.valid_points = t.at("valid_points");
    return out;
  } catch (const std::exception&) {
    fs::remove(path);  // a damaged entry is recomputed
    return std::nullopt;
  }
}

// Jobs on several nodes may compute the same entry at once: each writes its own temporary and renames it
// whole (the entries are equal; the last rename wins).
void write_entry(const std::string& path, const BackboneOutputs& out) {
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
}

}  // namespace

BackboneOutputs FeatureCache::outputs(FeatureExtractor& extractor, const SampleFiles& files,
                                      const at::Tensor& rgb, const at::Tensor& cloud) {
  return outputs_batch(extractor, {files}, {rgb}, {cloud})[0];
}

std::vector<BackboneOutputs> FeatureCache::outputs_batch(FeatureExtractor& extractor,
                                                         const std::vector<SampleFiles>& files,
                                                         const std::vector<at::Tensor>& rgbs,
                                                         const std::vector<at::Tensor>& clouds) {
  if (!enabled_) return extractor.extract_batch(rgbs, clouds);
  std::vector<BackboneOutputs> out(files.size());
  std::vector<std::string> paths;
  std::vector<std::size_t> missing;
  std::vector<at::Tensor> missing_rgbs, missing_clouds;
  for (std::size_t i = 0; i < files.size(); ++i) {
    paths.push_back((fs::path(folder_) / (key(files[i], extractor.device()) + ".pth")).string());
    if (std::optional<BackboneOutputs> entry = read_entry(paths[i])) {
      out[i] = std::move(*entry);
      ++hits_;
      continue;
    }
    missing.push_back(i);
    missing_rgbs.push_back(rgbs[i]);
    missing_clouds.push_back(clouds[i]);
  }
  if (missing.empty()) return out;
  misses_ += missing.size();
  std::vector<BackboneOutputs> computed = extractor.extract_batch(missing_rgbs, missing_clouds);
  for (std::size_t m = 0; m < missing.size(); ++m) {
    write_entry(paths[missing[m]], computed[m]);
    out[missing[m]] = std::move(computed[m]);
  }
  return out;
}

}  // namespace cfm
