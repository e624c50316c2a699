// Content-addressed cache of backbone outputs (docs/architecture.md §2): the key hashes the sample's RGB and
// xyz bytes, the weight files and the backbone configuration, so any change misses. Only eval mode is
// cacheable: official mode is stochastic (DropPath) and bypasses the cache.
#pragma once

#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/features/feature_extractor.h"

namespace cfm {

// Entries a cache found (hits) and computed (misses).
struct FeatureCacheCounts {
  std::size_t hits = 0, misses = 0;
};

class FeatureCache {
 public:
  // `folder` empty: no caching. The weight files are hashed once here.
  FeatureCache(std::string folder, const BackboneConfig& config);

  // Backbone outputs for a loaded sample (rgb/cloud tensors), from the cache when present.
  BackboneOutputs outputs(FeatureExtractor& extractor, const SampleFiles& files, const at::Tensor& rgb,
                          const at::Tensor& cloud);
  // The same for several samples: the entries missing are computed together (extract_batch).
  std::vector<BackboneOutputs> outputs_batch(FeatureExtractor& extractor,
                                             const std::vector<SampleFiles>& files,
                                             const std::vector<at::Tensor>& rgbs,
                                             const std::vector<at::Tensor>& clouds);

  bool enabled() const { return enabled_; }
  std::size_t hits() const { return hits_; }
  std::size_t misses() const { return misses_; }
  FeatureCacheCounts counts() const { return {hits_, misses_}; }

 private:
  // Also keyed by the precision the extractor's device computes in (bf16 features are not fp32's).
  std::string key(const SampleFiles& files, const at::Device& device) const;
  std::string folder_;
  std::string fingerprint_;  // weights + configuration
  bool enabled_;
  std::size_t hits_ = 0, misses_ = 0;
};

}  // namespace cfm
