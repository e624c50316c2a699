#include "common/memory_bank/memory_bank_method.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "common/distributed/rank_group.h"
#include "common/features/sample_loader.h"
#include "common/memory_bank/coreset.h"
#include "common/methods/method_registry.h"
#include "common/models/checkpoint/state_dict.h"
#include "common/util/error.h"
#include "common/util/stopwatch.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

PatchBank normalised(const at::Tensor& rows, double mean, double std) {
  return {(rows - mean) / std, mean, std};
}

at::Tensor scalar(double value) { return torch::tensor({value}, torch::kFloat64); }

constexpr double kSvmDistanceScale = 1e-3;  // M3DM's SVM fusion divides s* and the k-NN distances by 1000
constexpr float kRgbWeight = 0.1f;          // M3DM's rgb_s_lambda and rgb_smap_lambda (3D: 1)

// An SVM as the bank file stores it: coef (d) and offset, float64.
void put_svm(StateDict& out, const std::string& name, const OneClassSvm& svm) {
  out[name + "_coef"] = torch::tensor(svm.coef, torch::kFloat64);
  out[name + "_offset"] = scalar(svm.offset);
}

OneClassSvm get_svm(const StateDict& saved, const std::string& name, const std::string& path) {
  if (!saved.count(name + "_coef") || !saved.count(name + "_offset"))
    throw FormatError(path,
                      "no '" + name + "_coef' / '" + name + "_offset' in the memory bank file (fusion svm)");
  at::Tensor coef = saved.at(name + "_coef").to(torch::kFloat64).contiguous();
  if (coef.numel() != 2) throw FormatError(path, "'" + name + "_coef' must hold 2 weights");
  OneClassSvm svm;
  svm.coef.assign(coef.data_ptr<double>(), coef.data_ptr<double>() + 2);
  svm.offset = saved.at(name + "_offset").item<double>();
  return svm;
}

}  // namespace

MemoryBanks build_memory_banks(const at::Tensor& rgb, const at::Tensor& xyz, const MemoryBankSettings& s,
                               std::uint64_t seed) {
  torch::NoGradGuard no_grad;
  const bool m3dm = s.recipe == "m3dm";
  const double xyz_mean = xyz.mean().item<double>(), rgb_std = rgb.std().item<double>();
  MemoryBanks banks;
  // M3DM computes xyz_std and rgb_mean from the other modality's bank (kept by the "m3dm" recipe).
  banks.xyz = normalised(xyz, xyz_mean, m3dm ? rgb_std : xyz.std().item<double>());
  banks.rgb = normalised(rgb, m3dm ? xyz_mean : rgb.mean().item<double>(), rgb_std);
  if (s.coreset_ratio >= 1) return banks;
  auto keep = [&](PatchBank& bank, std::int64_t count, std::uint64_t projection_seed) {
    bank.rows = bank.rows.index_select(
        0, coreset_indices(bank.rows, count, s.coreset_eps, projection_seed).to(bank.rows.device()));
  };
  keep(banks.xyz, static_cast<std::int64_t>(s.coreset_ratio * static_cast<double>(xyz.size(0))), seed);
  // M3DM sizes the RGB coreset from the 3D bank after its coreset.
  const std::int64_t rgb_base = m3dm ? banks.xyz.rows.size(0) : rgb.size(0);
  keep(banks.rgb, static_cast<std::int64_t>(s.coreset_ratio * static_cast<double>(rgb_base)), seed + 1);
  return banks;
}

MemoryBankMethod::MemoryBankMethod(const CategoryJobSettings& settings, std::string category,
                                   at::Device device, const std::string& cache_dir)
    : settings_(settings),
      category_(std::move(category)),
      extractor_(settings.backbone, device),
      cache_(cache_dir, settings.backbone) {}

std::string MemoryBankMethod::bank_file_name() const { return "memory_bank_" + category_ + ".pth"; }

const MemoryBanks& MemoryBankMethod::banks() const {
  CFM_ASSERT(banks_.has_value());
  return *banks_;
}

void MemoryBankMethod::use_ranks(RankGroup* ranks) {
  if (ranks && ranks->world_size() > 1)
    throw UsageError("the memory_bank method runs on one device (devices_per_job must be 1)");
}

FitResult MemoryBankMethod::fit(const std::vector<SampleFiles>& train, const std::string& out_dir,
                                const std::function<void(int, double)>& progress) {
  if (train.empty()) throw Error("no training samples");
  torch::NoGradGuard no_grad;
  extractor_.reseed(static_cast<std::uint64_t>(settings_.training.seed));
  FitResult result;
  Stopwatch stage;
  std::vector<at::Tensor> rgb, xyz;
  for (const SampleFiles& files : train) {
    BankFeatures f = sample_features(files);
    rgb.push_back(f.rgb);
    xyz.push_back(f.xyz);
  }
  result.timings["extract"] = stage.restart();
  banks_ = build_memory_banks(torch::cat(rgb), torch::cat(xyz), settings_.memory_bank,
                              static_cast<std::uint64_t>(settings_.training.seed));
  result.timings["coreset"] = stage.restart();
  fusion_.reset();
  if (settings_.memory_bank.fusion == "svm") {
    fusion_ = fit_late_fusion(train);
    result.timings["fusion"] = stage.restart();
  }
  if (progress) progress(1, 0);
  fs::create_directories(out_dir);
  fs::path path = fs::path(out_dir) / bank_file_name();
  StateDict saved = {{"rgb_bank", banks_->rgb.rows.cpu()},   {"xyz_bank", banks_->xyz.rows.cpu()},
                     {"rgb_mean", scalar(banks_->rgb.mean)}, {"rgb_std", scalar(banks_->rgb.std)},
                     {"xyz_mean", scalar(banks_->xyz.mean)}, {"xyz_std", scalar(banks_->xyz.std)}};
  if (fusion_) {
    put_svm(saved, "detect", fusion_->detect);
    put_svm(saved, "segment", fusion_->segment);
  }
  write_torch_checkpoint(path.string(), {{"", saved}});
  result.model_bytes = static_cast<std::int64_t>(fs::file_size(path));
  result.artifacts["memory_bank"] = path.string();
  return result;
}

void MemoryBankMethod::load(const std::string& dir) {
  const std::string path = (fs::path(dir) / bank_file_name()).string();
  StateDict saved = read_checkpoint(path);
  for (const char* key : {"rgb_bank", "xyz_bank", "rgb_mean", "rgb_std", "xyz_mean", "xyz_std"})
    if (!saved.count(key)) throw FormatError(path, std::string("no '") + key + "' in the memory bank file");
  auto bank = [&](const char* modality) {
    at::Tensor rows = saved.at(fmt::format("{}_bank", modality)).to(torch::kFloat32);
    if (rows.dim() != 2 || rows.size(0) == 0)
      throw FormatError(path, fmt::format("'{}_bank' is not a non-empty matrix", modality));
    return PatchBank{rows.to(extractor_.device()), saved.at(fmt::format("{}_mean", modality)).item<double>(),
                     saved.at(fmt::format("{}_std", modality)).item<double>()};
  };
  MemoryBanks loaded{bank("rgb"), bank("xyz")};
  fusion_.reset();
  if (settings_.memory_bank.fusion == "svm")
    fusion_ = LateFusion{get_svm(saved, "detect", path), get_svm(saved, "segment", path)};
  if (loaded.rgb.rows.size(1) != extractor_.vit().dim() ||
      loaded.xyz.rows.size(1) != extractor_.point_mae().output_channels())
    throw UsageError(
        fmt::format("the banks hold {} (RGB) and {} (3D) channels but the backbones give {} and {}",
                    loaded.rgb.rows.size(1), loaded.xyz.rows.size(1), extractor_.vit().dim(),
                    extractor_.point_mae().output_channels()));
  banks_ = std::move(loaded);
}

CategoryEvaluation MemoryBankMethod::evaluate(const std::vector<SampleFiles>& test,
                                              const std::string& out_dir, const EvaluationOptions& options,
                                              bool use_cache) {
  CFM_ASSERT(banks_.has_value());  // fit() or load() first
  extractor_.reseed(static_cast<std::uint64_t>(settings_.training.eval_seed));
  const double scale = fusion_ ? kSvmDistanceScale : 1.0;
  auto scorer = [&](const std::vector<BackboneOutputs>& outputs) {
    std::vector<SampleScore> scores;
    for (const BackboneOutputs& o : outputs)
      scores.push_back(fused(score_against_banks(bank_features(extractor_, o), scale)));
    return scores;
  };
  // M3DM's metrics use the maps and scores as they are: no per-image normalisation.
  EvaluationOptions plain = options;
  plain.normalise = false;
  FeatureCache no_cache("", settings_.backbone);
  return score_test_split(extractor_, use_cache ? cache_ : no_cache, test, out_dir, plain, nullptr, scorer,
                          settings_.training.infer_batch_size);
}

BankFeatures MemoryBankMethod::sample_features(const SampleFiles& files) {
  const BackboneConfig& config = extractor_.config();
  SampleTensors sample = load_sample(files, config.grid, config.vit.image_size);
  return bank_features(extractor_, cache_.outputs(extractor_, files, sample.rgb, sample.cloud));
}

MemoryBankMethod::SampleScores MemoryBankMethod::score_against_banks(const BankFeatures& f,
                                                                     double distance_scale) const {
  const MemoryBanks& b = banks();
  const int grid = extractor_.config().grid;
  return {score_modality((f.xyz - b.xyz.mean) / b.xyz.std, b.xyz.rows, f.xyz_side, grid, distance_scale),
          score_modality((f.rgb - b.rgb.mean) / b.rgb.std, b.rgb.rows, f.rgb_side, grid, distance_scale)};
}

SampleScore MemoryBankMethod::fused(const SampleScores& s) const {
  if (!fusion_)  // add: M3DM's DINO+Point_MAE+add
    return SampleScore{s.xyz.map + s.rgb.map, s.rgb.map, s.xyz.map,
                       static_cast<float>(s.xyz.image_score + s.rgb.image_score)};
  // svm: score_samples of [s_3D, 0.1 s_RGB] (float32 values, as M3DM builds them, weighed in float64).
  const double image[2] = {static_cast<float>(s.xyz.image_score),
                           kRgbWeight * static_cast<float>(s.rgb.image_score)};
  const std::vector<double>& w = fusion_->segment.coef;
  at::Tensor map =
      (s.xyz.map.to(torch::kFloat64) * w[0] + (s.rgb.map * kRgbWeight).to(torch::kFloat64) * w[1])
          .to(torch::kFloat32);
  return SampleScore{map, s.rgb.map, s.xyz.map, static_cast<float>(fusion_->detect.score(image))};
}

LateFusion MemoryBankMethod::fit_late_fusion(const std::vector<SampleFiles>& train) {
  // M3DM's add_sample_to_late_fusion_mem_bank: every training sample scored against the finished banks.
  // The features are taken again (cache hits in eval mode) rather than kept from fit(): ~17 MB per sample
  // at paper size would not fit in memory for a full category.
  std::vector<double> image_rows, pixel_rows;
  for (const SampleFiles& files : train) {
    SampleScores s = score_against_banks(sample_features(files), kSvmDistanceScale);
    image_rows.push_back(static_cast<float>(s.xyz.image_score));
    image_rows.push_back(kRgbWeight * static_cast<float>(s.rgb.image_score));
    at::Tensor xyz = s.xyz.map.contiguous(), rgb = (s.rgb.map * kRgbWeight).contiguous();
    const float *x = xyz.data_ptr<float>(), *r = rgb.data_ptr<float>();
    for (std::int64_t p = 0; p < xyz.numel(); ++p) {
      pixel_rows.push_back(x[p]);
      pixel_rows.push_back(r[p]);
    }
  }
  return {fit_sgd_one_class_svm(image_rows, 2), fit_sgd_one_class_svm(pixel_rows, 2)};
}

std::int64_t MemoryBankMethod::parameter_count() {
  return banks().rgb.rows.numel() + banks().xyz.rows.numel();
}

void register_memory_bank_method() {
  register_category_method("memory_bank", [](const CategoryJobSettings& settings, const std::string& category,
                                             const at::Device& device, const std::string& cache_dir) {
    return std::make_unique<MemoryBankMethod>(settings, category, device, cache_dir);
  });
}

}  // namespace cfm
