#include "common/settings/settings.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <type_traits>

#include "common/util/error.h"
#include "common/util/excerpt.h"
#include "common/util/json_excerpt.h"

namespace cfm {
namespace {

using nlohmann::json;
using T = SettingType;
using G = SettingGroup;

Setting plain(std::string name, T type, G group, bool in_key, std::string help,
              std::optional<long long> minimum = std::nullopt) {
  Setting s;
  s.name = std::move(name);
  s.type = type;
  s.group = group;
  s.in_key = in_key;
  s.help = std::move(help);
  s.minimum = minimum;
  return s;
}

// A setting stored in a field of the typed configuration: `field(c)` names it, for reading and writing
// (a generic lambda, e.g. [](auto& c) -> auto& { return c.backbone.vit.heads; }).
template <typename Field>
Setting stored(std::string name, T type, G group, bool in_key, std::string help,
               std::optional<long long> minimum, Field field) {
  Setting s = plain(std::move(name), type, group, in_key, std::move(help), minimum);
  s.get = [field](const CategoryJobSettings& c) { return json(field(c)); };
  s.set = [field](CategoryJobSettings& c, const json& v) {
    auto& target = field(c);
    target = v.get<std::decay_t<decltype(target)>>();
  };
  return s;
}

Setting required(Setting s) {
  s.required = true;
  return s;
}

Setting choosing(Setting s, std::vector<std::string> choices) {
  s.choices = std::move(choices);
  return s;
}

Setting within(Setting s, Interval range) {
  s.range = range;
  return s;
}

// Settings that only `method` takes.
std::vector<Setting> only_for(const std::string& method, std::vector<Setting> settings) {
  for (Setting& s : settings) s.method = method;
  return settings;
}

const std::optional<long long> positive = 1, none = std::nullopt;

// What a job is about; every method takes these.
std::vector<Setting> job_settings() {
  return {
      plain("method", T::Text, G::Job, true,
            "cfm (the method), memory_bank (M3DM-style double memory bank, for comparison) or noop "
            "(sleeps; for orchestration tests and benchmarks)"),
      plain("dataset", T::Path, G::Job, false, "dataset root (MVTec 3D-AD layout, preprocessed)"),
      plain("dataset_name", T::Text, G::Job, true,
            "name shown in tables (default: the dataset folder's name)"),
      plain("category", T::Text, G::Job, true, "category folder"),
      plain("devices_per_job", T::Integer, G::Job, false,
            "devices one job trains on (1 when unset): that many ranks, data-parallel over c10d (Gloo on CPU "
            "slots, NCCL on CUDA slots); the worker's slots must be at least this large (--devices-per-job)",
            positive),
      plain("preset", T::Text, G::Job, true, "backbone preset: paper or demo"),
  };
}

// The frozen backbones (docs/method.md §3), read by every method that runs them.
std::vector<Setting> backbone_settings() {
  using C = CategoryJobSettings;
  Setting feature_grid = stored(
      "feature_grid", T::Integer, G::Backbone, true,
      "side of the pixel grid the features are aligned to (formerly 'grid')", positive,
      [](auto& c) -> auto& { return c.backbone.grid; });
  feature_grid.key_name = "grid";  // keys from before the rename stay valid
  Setting mode = plain("mode", T::Text, G::Backbone, true,
                       "eval (deterministic) or official (BN batch statistics + DropPath)");
  mode.get = [](const C& c) { return json(mode_name(c.backbone.mode)); };
  mode.set = [](C& c, const json& v) { c.backbone.mode = parse_mode(v.get<std::string>()); };
  return {
      required(stored(
          "vit_weights", T::Path, G::Backbone, false,
          "DINO ViT weights file (.pth or .safetensors, timm/DINO layout)", none,
          [](auto& c) -> auto& { return c.backbone.vit_weights; })),
      required(stored(
          "point_mae_weights", T::Path, G::Backbone, false, "Point-MAE weights file (pretrain.pth layout)",
          none, [](auto& c) -> auto& { return c.backbone.point_mae_weights; })),
      stored(
          "vit_heads", T::Integer, G::Backbone, true, "ViT attention heads", positive,
          [](auto& c) -> auto& { return c.backbone.vit.heads; }),
      stored(
          "point_mae_heads", T::Integer, G::Backbone, true, "Point-MAE attention heads", positive,
          [](auto& c) -> auto& { return c.backbone.point_mae.heads; }),
      stored(
          "image_size", T::Integer, G::Backbone, true, "ViT input side (must match the position embedding)",
          positive, [](auto& c) -> auto& { return c.backbone.vit.image_size; }),
      stored(
          "groups", T::Integer, G::Backbone, true, "Point-MAE FPS centres G", positive,
          [](auto& c) -> auto& { return c.backbone.point_mae.groups; }),
      stored(
          "group_size", T::Integer, G::Backbone, true, "Point-MAE points per group k", positive,
          [](auto& c) -> auto& { return c.backbone.point_mae.group_size; }),
      stored(
          "layers_kept", T::Integer, G::Backbone, true,
          "transformer blocks kept in both backbones (12, 8, 4)", positive,
          [](auto& c) -> auto& { return c.backbone.layers_kept; }),
      mode,
      feature_grid,
  };
}

// The numeric precision of training and inference: in job keys only when not fp32, so keys made before
// the setting existed stay valid.
Setting precision_setting() {
  Setting s = choosing(stored(
                           "precision", T::Text, G::Training, true,
                           "numeric precision of the whole job: fp32, tf32 (CUDA: float32 products on TF32 "
                           "tensor cores) or bf16 (autocast to bfloat16; the geometry stays float32); "
                           "docs/performance.md quotes its effect on the metrics",
                           none, [](auto& c) -> auto& { return c.training.precision; }),
                       {"fp32", "tf32", "bf16"});
  s.key_unless = "fp32";
  return s;
}

// Seeds, the few-shot split and threads: every method that runs the backbones (method.md §4-5).
std::vector<Setting> shared_training_settings() {
  return {
      stored(
          "seed", T::Integer, G::Training, true, "training seed (official: 115)", none,
          [](auto& c) -> auto& { return c.training.seed; }),
      stored(
          "eval_seed", T::Integer, G::Training, true, "inference seed (official: 42)", none,
          [](auto& c) -> auto& { return c.training.eval_seed; }),
      stored(
          "shots", T::Integer, G::Training, true, "few-shot: train on k samples (0 = all)", 0,
          [](auto& c) -> auto& { return c.training.shots; }),
      stored(
          "split_seed", T::Integer, G::Training, true, "seed of the few-shot selection", none,
          [](auto& c) -> auto& { return c.training.split_seed; }),
      stored(
          "threads", T::Integer, G::Training, false,
          "compute threads per job process (0: its share of the machine's cores, docs/architecture.md §10)",
          0, [](auto& c) -> auto& { return c.training.threads; }),
      stored(
          "infer_batch_size", T::Integer, G::Training, false,
          "test samples scored together: the ViT, Point-MAE's encoder and blocks, the mapping networks and "
          "the smoothing run on the whole batch (results equal batch 1's up to rounding; more memory)",
          positive, [](auto& c) -> auto& { return c.training.infer_batch_size; }),
      precision_setting(),
  };
}

// The mapping networks' kind: in job keys only when not the standard one, so keys made before the
// setting existed stay valid.
Setting mapper_setting() {
  Setting s = choosing(stored(
                           "mapper", T::Text, G::Training, true,
                           "mapping networks: standard (the released FeatureProjectionMLP) or big "
                           "(FeatureProjectionMLP_big, five hidden layers: the authors' Eyecandies networks)",
                           none, [](auto& c) -> auto& { return c.training.mapper; }),
                       {"standard", "big"});
  s.key_unless = "standard";
  return s;
}

// CFM's mapping networks (method.md §4).
std::vector<Setting> cfm_method_settings() {
  return only_for("cfm", {
                             stored(
                                 "epochs", T::Integer, G::Training, true,
                                 "training epochs (also part of the checkpoint names)", positive,
                                 [](auto& c) -> auto& { return c.training.epochs; }),
                             stored(
                                 "batch_size", T::Integer, G::Training, true,
                                 "samples per batch (also part of the checkpoint names)", positive,
                                 [](auto& c) -> auto& { return c.training.batch_size; }),
                             stored(
                                 "lr", T::Real, G::Training, true, "Adam learning rate", none,
                                 [](auto& c) -> auto& { return c.training.lr; }),
                             mapper_setting(),
                         });
}

// The memory-bank method's coreset and recipe (method.md §11).
std::vector<Setting> memory_bank_method_settings() {
  return only_for(
      "memory_bank",
      {
          within(stored(
                     "coreset_ratio", T::Real, G::MemoryBank, true,
                     "memory_bank: fraction of each bank's patches the greedy coreset keeps (1 = all)", none,
                     [](auto& c) -> auto& { return c.memory_bank.coreset_ratio; }),
                 {0, 1, false, true}),
          within(stored(
                     "coreset_eps", T::Real, G::MemoryBank, true,
                     "memory_bank: Johnson-Lindenstrauss eps of the sparse random projection before the "
                     "coreset",
                     none, [](auto& c) -> auto& { return c.memory_bank.coreset_eps; }),
                 {0, 1, false, false}),
          choosing(
              stored(
                  "fusion", T::Text, G::MemoryBank, true,
                  "memory_bank: add (sum of the two modalities' scores and maps) or svm (M3DM's one-class "
                  "SVM late fusion, fitted on the training samples)",
                  none, [](auto& c) -> auto& { return c.memory_bank.fusion; }),
              {"add", "svm"}),
          choosing(stored(
                       "bank_recipe", T::Text, G::MemoryBank, true,
                       "memory_bank: m3dm (the original's cross-wired normalisation and RGB coreset size) or "
                       "per_bank",
                       none, [](auto& c) -> auto& { return c.memory_bank.recipe; }),
                   {"m3dm", "per_bank"}),
      });
}

// The timing-only method of orchestration tests and benchmarks.
std::vector<Setting> noop_method_settings() {
  return {
      plain("sleep_ms", T::Integer, G::Noop, true, "noop: how long the job takes"),
      plain("fail_attempts", T::Integer, G::Noop, true, "noop: the first N attempts fail (tests of retries)"),
  };
}

std::vector<Setting> make_table() {
  std::vector<Setting> table;
  for (auto part : {job_settings, backbone_settings, cfm_method_settings, shared_training_settings,
                    memory_bank_method_settings, noop_method_settings})
    for (Setting& s : part()) table.push_back(std::move(s));
  return table;
}

}  // namespace

const std::vector<Setting>& settings_table() {
  static const std::vector<Setting> table = make_table();
  return table;
}

const Setting* find_setting(const std::string& name) {
  for (const Setting& s : settings_table())
    if (s.name == name) return &s;
  return nullptr;
}

// Renamed settings: old name -> new name.
const std::map<std::string, std::string>& renamed_settings() {
  static const std::map<std::string, std::string> renamed = {{"grid", "feature_grid"}};
  return renamed;
}

std::string canonical_setting_name(const std::string& name) {
  auto it = renamed_settings().find(name);
  return it == renamed_settings().end() ? name : it->second;
}

std::vector<std::string> former_setting_names(const std::string& name) {
  std::vector<std::string> former;
  for (const auto& [old_name, new_name] : renamed_settings())
    if (new_name == name) former.push_back(old_name);
  return former;
}

std::string key_name(const Setting& setting) {
  return setting.key_name.empty() ? setting.name : setting.key_name;
}

bool runs_backbones(const std::string& method) { return method == "cfm" || method == "memory_bank"; }

bool applies_to(const Setting& s, const std::string& method) {
  if (s.group == G::Noop) return method == "noop";
  if (s.group == G::Job) return true;
  return runs_backbones(method) && (s.method.empty() || s.method == method);
}

std::string known_setting_names() {
  std::vector<std::string> names;
  for (const Setting& s : settings_table()) names.push_back(s.name);
  std::sort(names.begin(), names.end());
  return fmt::format("{}", fmt::join(names, ", "));
}

std::string flag_name(const std::string& setting_name) {
  std::string flag = "--" + setting_name;
  std::replace(flag.begin(), flag.end(), '_', '-');
  return flag;
}

void check_setting_value(const Setting& s, const json& value) {
  bool ok = s.type == T::Integer ? value.is_number_integer()
            : s.type == T::Real  ? value.is_number()
                                 : value.is_string();
  if (!ok) throw UsageError("setting '" + s.name + "' has the wrong type: " + json_excerpt(value));
  if (value.is_string() && value.get_ref<const std::string&>().find('\0') != std::string::npos)
    throw UsageError("setting '" + s.name + "' contains a NUL character");
  if (s.minimum && value.get<long long>() < *s.minimum)
    throw UsageError(*s.minimum == 1 ? "setting '" + s.name + "' must be positive"
                                     : fmt::format("setting '{}' must be at least {}", s.name, *s.minimum));
  if (!s.choices.empty() &&
      std::find(s.choices.begin(), s.choices.end(), value.get<std::string>()) == s.choices.end())
    throw UsageError(fmt::format("setting '{}' must be {}, not '{}'", s.name, fmt::join(s.choices, " or "),
                                 excerpt(value.get<std::string>())));
  if (s.range) {
    const double x = value.get<double>();
    const Interval& r = *s.range;
    if (!((r.low_closed ? x >= r.low : x > r.low) && (r.high_closed ? x <= r.high : x < r.high)))
      throw UsageError(fmt::format("setting '{}' must be in {}{}, {}{}", s.name, r.low_closed ? '[' : '(',
                                   r.low, r.high, r.high_closed ? ']' : ')'));
  }
}

json parse_setting_text(const Setting& s, const std::string& text) {
  try {
    std::size_t used = 0;
    if (s.type == T::Integer) {
      long long n = std::stoll(text, &used);
      if (used == text.size()) return n;
    } else if (s.type == T::Real) {
      double x = std::stod(text, &used);
      if (used == text.size()) return x;
    } else {
      return text;
    }
  } catch (const std::exception&) {
  }
  throw UsageError("setting '" + s.name + "' must be " + (s.type == T::Integer ? "an integer" : "a number") +
                   ", not '" + excerpt(text) + "'");
}

CategoryJobSettings category_job_defaults(const std::string& preset) {
  return {backbone_preset(preset), TrainingSettings{}, MemoryBankSettings{}};
}

CategoryJobSettings category_job_settings(const json& resolved) {
  CategoryJobSettings c = category_job_defaults(resolved.at("preset").get<std::string>());
  const std::string method = resolved.value("method", std::string("cfm"));
  for (const Setting& s : settings_table()) {
    if (!s.set || !applies_to(s, method)) continue;
    check_setting_value(s, resolved.at(s.name));
    s.set(c, resolved.at(s.name));
  }
  return c;
}

void apply_settings_yaml(CategoryJobSettings& c, const std::string& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::BadFile&) {
    throw IoError(path, "cannot open configuration file");
  } catch (const YAML::Exception& e) {
    throw FormatError(path, std::string("invalid YAML: ") + e.what());
  }
  if (root["backbone"]) root = root["backbone"];
  std::vector<std::string> known = {"preset"};
  for (const Setting& s : settings_table())
    if (s.set) known.push_back(s.name);
  for (const auto& item : root) {
    std::string key = canonical_setting_name(item.first.as<std::string>());
    if (std::find(known.begin(), known.end(), key) == known.end())
      throw FormatError(path, fmt::format("unknown key '{}' at line {} (known: {})", key,
                                          item.first.Mark().line + 1, fmt::join(known, ", ")));
  }
  if (root["preset"]) {
    CategoryJobSettings preset = category_job_defaults(root["preset"].as<std::string>());
    preset.backbone.vit_weights = c.backbone.vit_weights;
    preset.backbone.point_mae_weights = c.backbone.point_mae_weights;
    preset.training = c.training;
    c = preset;
  }
  for (const auto& item : root) {
    const Setting* s = find_setting(canonical_setting_name(item.first.as<std::string>()));
    if (!s || !s->set) continue;  // preset, applied above
    json value = parse_setting_text(*s, item.second.as<std::string>());
    check_setting_value(*s, value);
    s->set(c, value);
  }
}

}  // namespace cfm
