// An M3DM-style double memory bank (nomewang/M3DM, "DINO+Point_MAE") as a CategoryMethod, beside CFM for
// the paper's comparison (docs/method.md §11): the same frozen backbones and feature cache; fit() stores
// every training patch of each modality (RGB 28 x 28 tokens, 3D 56 x 56 pooled features), normalises the
// banks, keeps a greedy coreset of each and writes them to memory_bank_<category>.pth; evaluate() scores
// each modality against its bank (common/memory_bank/patch_scoring.h) and adds the two: image score
// s_3D + s_RGB, map = the sum of the two blurred maps (fusion "add"), or weighs them with M3DM's one-class
// SVMs (fusion "svm", fitted after the banks). Metrics without CFM's per-image normalisations.
//
// Recipes (setting bank_recipe): "m3dm", the default, does what the original does: the 3D bank is
// normalised by the mean of the 3D bank and the standard deviation of the RGB bank, the RGB bank by the
// mean of the 3D bank and its own deviation, and the RGB coreset holds ratio x (the already reduced 3D
// bank's size) rows. "per_bank" gives each bank its own mean, deviation and ratio x its own size.
#pragma once

#include <optional>
#include <string>

#include "common/features/feature_cache.h"
#include "common/features/feature_extractor.h"
#include "common/memory_bank/bank_features.h"
#include "common/memory_bank/one_class_svm.h"
#include "common/memory_bank/patch_scoring.h"
#include "common/methods/category_method.h"
#include "common/settings/settings.h"

namespace cfm {

// One modality's bank and the normalisation its patches go through: (x - mean) / std.
struct PatchBank {
  at::Tensor rows;  // M x D, normalised
  double mean = 0, std = 1;
};

struct MemoryBanks {
  PatchBank rgb, xyz;
};

// M3DM's one-class SVM late fusion: `detect` weighs the image scores [s_3D, 0.1 s_RGB], `segment` the pixel
// scores [map_3D, 0.1 map_RGB]; both fitted on the training samples scored against the banks.
struct LateFusion {
  OneClassSvm detect, segment;
};

class MemoryBankMethod : public CategoryMethod {
 public:
  MemoryBankMethod(const CategoryJobSettings& settings, std::string category, at::Device device,
                   const std::string& cache_dir);

  FitResult fit(const std::vector<SampleFiles>& train, const std::string& out_dir,
                const std::function<void(int, double)>& progress = {}) override;
  void load(const std::string& dir) override;
  CategoryEvaluation evaluate(const std::vector<SampleFiles>& test, const std::string& out_dir,
                              const EvaluationOptions& options, bool use_cache) override;
  void use_ranks(RankGroup* ranks) override;
  std::int64_t parameter_count() override;  // floats stored in both banks
  FeatureCacheCounts cache_counts() const override { return cache_.counts(); }

  // memory_bank_<category>.pth
  std::string bank_file_name() const;
  const MemoryBanks& banks() const;

 private:
  struct SampleScores {
    ModalityScore xyz, rgb;
  };
  // A training sample's patch features, through the feature cache.
  BankFeatures sample_features(const SampleFiles& files);
  // Both modalities of a sample against their banks; `distance_scale` as score_modality.
  SampleScores score_against_banks(const BankFeatures& features, double distance_scale) const;
  LateFusion fit_late_fusion(const std::vector<SampleFiles>& train);
  SampleScore fused(const SampleScores& scores) const;

  CategoryJobSettings settings_;
  std::string category_;
  FeatureExtractor extractor_;
  FeatureCache cache_;
  std::optional<MemoryBanks> banks_;
  std::optional<LateFusion> fusion_;  // fusion "svm" only
};

// The banks from every training patch (rgb: N_rgb x D, xyz: N_xyz x D3) as `settings` say: normalisation
// by the recipe, then the coresets (projection drawn from `seed`).
MemoryBanks build_memory_banks(const at::Tensor& rgb, const at::Tensor& xyz,
                               const MemoryBankSettings& settings, std::uint64_t seed);

// Registers the double memory bank as the method "memory_bank" (common/methods/method_registry.h).
void register_memory_bank_method();

}  // namespace cfm
