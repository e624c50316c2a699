#include "common/memory_bank/memory_bank_method.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>

#include "common/data/sample_loader.h"
#include "common/distributed/rank_group.h"
#include "common/memory_bank/bank_features.h"
#include "common/memory_bank/coreset.h"
#include "common/memory_bank/patch_scoring.h"
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

MemoryBankMethod::MemoryBankMethod(const CfmSettings& settings, std::string category, at::Device device,
                                   const std::string& cache_dir)
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
  const BackboneConfig& config = extractor_.config();
  for (const SampleFiles& files : train) {
    SampleTensors sample = load_sample(files, config.grid, config.vit.image_size);
    BankFeatures f = bank_features(extractor_, cache_.outputs(extractor_, files, sample.rgb, sample.cloud));
    rgb.push_back(f.rgb);
    xyz.push_back(f.xyz);
  }
  result.timings["extract"] = stage.restart();
  banks_ = build_memory_banks(torch::cat(rgb), torch::cat(xyz), settings_.memory_bank,
                              static_cast<std::uint64_t>(settings_.training.seed));
  result.timings["coreset"] = stage.restart();
  if (progress) progress(1, 0);
  fs::create_directories(out_dir);
  fs::path path = fs::path(out_dir) / bank_file_name();
  write_torch_checkpoint(path.string(), {{"",
                                          {{"rgb_bank", banks_->rgb.rows.cpu()},
                                           {"xyz_bank", banks_->xyz.rows.cpu()},
                                           {"rgb_mean", scalar(banks_->rgb.mean)},
                                           {"rgb_std", scalar(banks_->rgb.std)},
                                           {"xyz_mean", scalar(banks_->xyz.mean)},
                                           {"xyz_std", scalar(banks_->xyz.std)}}}});
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
  const MemoryBanks& banks = this->banks();  // fit() or load() first
  extractor_.reseed(static_cast<std::uint64_t>(settings_.training.eval_seed));
  const int grid = extractor_.config().grid;
  auto scorer = [&](const BackboneOutputs& outputs) {
    BankFeatures f = bank_features(extractor_, outputs);
    ModalityScore xyz =
        score_modality((f.xyz - banks.xyz.mean) / banks.xyz.std, banks.xyz.rows, f.xyz_side, grid);
    ModalityScore rgb =
        score_modality((f.rgb - banks.rgb.mean) / banks.rgb.std, banks.rgb.rows, f.rgb_side, grid);
    return SampleScore{xyz.map + rgb.map, rgb.map, xyz.map,
                       static_cast<float>(xyz.image_score + rgb.image_score)};
  };
  // M3DM's metrics use the maps and scores as they are: no per-image normalisation.
  EvaluationOptions plain = options;
  plain.normalise = false;
  FeatureCache no_cache("", settings_.backbone);
  return score_test_split(extractor_, use_cache ? cache_ : no_cache, test, out_dir, plain, nullptr, scorer);
}

std::int64_t MemoryBankMethod::parameter_count() {
  return banks().rgb.rows.numel() + banks().xyz.rows.numel();
}

}  // namespace cfm
