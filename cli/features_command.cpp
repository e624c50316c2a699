#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <filesystem>
#include <memory>

#include "backbone_options.h"
#include "commands.h"
#include "common/features/feature_extractor.h"
#include "common/features/random_backbones.h"
#include "common/features/sample_loader.h"
#include "common/runtime/compute_device.h"
#include "common/runtime/compute_process.h"
#include "common/runtime/thread_policy.h"
#include "common/util/error.h"
#include "common/util/npy.h"

namespace cfm::cli {
namespace {

void save(const std::string& path, const at::Tensor& tensor) {
  at::Tensor t = tensor.contiguous().cpu();
  std::vector<std::int64_t> shape(t.sizes().begin(), t.sizes().end());
  if (t.scalar_type() == torch::kBool)
    write_npy_bool(path, shape, t.data_ptr<bool>());
  else if (t.scalar_type() == torch::kInt64)
    write_npy_i64(path, shape, t.data_ptr<std::int64_t>());
  else
    write_npy_f32(path, shape, t.to(torch::kFloat32).contiguous().data_ptr<float>());
}

}  // namespace

void add_features_command(CLI::App& app) {
  struct Options {
    std::string rgb, xyz, out;
    bool save_inputs = false;
    SettingFlags settings;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "features", "Extract and align the backbone features of one sample (writes .npy files)");
  cmd->add_option("--rgb", o->rgb, "RGB image (PNG)")->required();
  cmd->add_option("--xyz", o->xyz, "Organized point cloud (TIFF, preprocessed)")->required();
  cmd->add_option("--out", o->out, "Output folder")->required();
  cmd->add_flag("--save-inputs", o->save_inputs,
                "Also write the transformed inputs (rgb_input.npy, cloud_input.npy)");
  std::vector<std::string> names = backbone_setting_names();
  names.insert(names.end(), {"eval_seed", "threads"});
  add_setting_options(cmd, o->settings, names, {{"layers_kept", {"--layers"}}, {"eval_seed", {"--seed"}}});
  cmd->callback([o] {
    CategoryJobSettings settings = resolve(o->settings);
    BackboneConfig config = settings.backbone;
    config.seed = static_cast<std::uint64_t>(settings.training.eval_seed);  // official-mode DropPath
    prepare_compute_process(choose_thread_policy(settings.training.threads));
    fmt::print("backbones: {}\n", describe(config));
    FeatureExtractor extractor(config, parse_compute_device(o->settings.device));
    SampleFiles files;
    files.rgb = o->rgb;
    files.xyz = o->xyz;
    SampleTensors sample = load_sample(files, config.grid, config.vit.image_size);
    const at::Tensor &rgb_tensor = sample.rgb, &cloud = sample.cloud;
    BackboneOutputs raw;
    try {
      raw = extractor.extract(rgb_tensor, cloud);
    } catch (const UsageError&) {
      throw;
    } catch (const Error& e) {
      throw DataError(o->xyz, e.what());
    }
    AlignedFeatures aligned = extractor.align(raw);
    std::filesystem::create_directories(o->out);
    auto path = [&](const char* name) { return (std::filesystem::path(o->out) / name).string(); };
    save(path("rgb_map.npy"), raw.rgb_map);
    save(path("centers.npy"), raw.points.centres);
    save(path("center_idx.npy"), raw.points.centre_index);
    save(path("xyz_group_feats.npy"), raw.points.features);
    save(path("rgb_patch.npy"), aligned.rgb_patch);
    save(path("xyz_patch.npy"), aligned.xyz_patch);
    save(path("mask.npy"), aligned.empty);
    if (o->save_inputs) {
      save(path("rgb_input.npy"), rgb_tensor);
      save(path("cloud_input.npy"), cloud);
    }
    fmt::print("features: {} valid points, rgb_patch {}x{}, xyz_patch {}x{}, {} empty pixels -> {}\n",
               raw.valid_points.size(0), aligned.rgb_patch.size(0), aligned.rgb_patch.size(1),
               aligned.xyz_patch.size(0), aligned.xyz_patch.size(1), aligned.empty.sum().item<std::int64_t>(),
               o->out);
  });
}

void add_backbones_command(CLI::App& app) {
  struct Options {
    std::string out, preset = "demo";
    std::uint64_t seed = 0;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand("backbones", "Backbone weight utilities");
  cmd->require_subcommand(1);
  CLI::App* init =
      cmd->add_subcommand("init", "Write randomly initialised backbones in the original checkpoint layouts");
  init->add_option("--out", o->out, "Output folder")->required();
  init->add_option("--preset", o->preset, "paper (ViT-B/8 + Point-MAE sizes), demo or tiny")
      ->capture_default_str();
  init->add_option("--seed", o->seed, "Random seed")->capture_default_str();
  init->callback([o] {
    RandomBackboneFiles files = write_random_backbones(o->out, o->preset, o->seed);
    fmt::print("vit: {}\npoint_mae: {}\n", files.vit, files.point_mae);
  });
}

}  // namespace cfm::cli
