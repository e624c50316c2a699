#include "common/grid/job_config.h"

#include <algorithm>
#include <filesystem>

#include "common/models/backbone_config.h"
#include "common/util/error.h"
#include "common/util/excerpt.h"
#include "common/util/plain_name.h"
#include "common/util/sha256.h"

namespace fs = std::filesystem;

namespace cfm {

const std::map<std::string, SettingInfo>& known_settings() {
  using T = SettingType;
  static const std::map<std::string, SettingInfo> settings = {
      {"method", {T::Text, "cfm (the method) or noop (sleeps; for orchestration tests and benchmarks)", true}},
      {"dataset", {T::Path, "dataset root (MVTec 3D-AD layout, preprocessed)", false}},
      {"dataset_name", {T::Text, "name shown in tables (default: the dataset folder's name)", true}},
      {"category", {T::Text, "category folder", true}},
      {"preset", {T::Text, "backbone preset: paper or demo", true}},
      {"vit_weights", {T::Path, "DINO ViT weights file", false}},
      {"point_mae_weights", {T::Path, "Point-MAE weights file", false}},
      {"vit_heads", {T::Integer, "ViT attention heads", true}},
      {"point_mae_heads", {T::Integer, "Point-MAE attention heads", true}},
      {"image_size", {T::Integer, "ViT input side", true}},
      {"groups", {T::Integer, "Point-MAE FPS centres G", true}},
      {"group_size", {T::Integer, "Point-MAE points per group k", true}},
      {"layers_kept", {T::Integer, "transformer blocks kept (layer pruning: 12, 8, 4)", true}},
      {"mode", {T::Text, "backbone mode: eval or official", true}},
      {"grid", {T::Integer, "side of the pixel grid features are aligned to", true}},
      {"epochs", {T::Integer, "training epochs", true}},
      {"batch_size", {T::Integer, "samples per batch", true}},
      {"lr", {T::Real, "Adam learning rate", true}},
      {"seed", {T::Integer, "training seed (official: 115)", true}},
      {"eval_seed", {T::Integer, "inference seed (official: 42)", true}},
      {"shots", {T::Integer, "few-shot: train on k samples (0 = all)", true}},
      {"split_seed", {T::Integer, "seed of the few-shot selection", true}},
      {"threads", {T::Integer, "LibTorch intra-op threads per job", false}},
      {"sleep_ms", {T::Integer, "noop: how long the job takes", true}},
      {"fail_attempts", {T::Integer, "noop: the first N attempts fail (tests of retries)", true}},
  };
  return settings;
}

std::string known_setting_names() {
  std::string names;
  for (const auto& [name, info] : known_settings()) names += (names.empty() ? "" : ", ") + name;
  return names;
}

namespace {

void check_type(const std::string& key, const nlohmann::json& value) {
  auto it = known_settings().find(key);
  if (it == known_settings().end()) throw UsageError("unknown setting '" + key + "' (known: " + known_setting_names() + ")");
  bool ok = it->second.type == SettingType::Integer ? value.is_number_integer()
            : it->second.type == SettingType::Real  ? value.is_number()
                                                    : value.is_string();
  if (!ok) throw UsageError("setting '" + key + "' has the wrong type: " + excerpt(value.dump()));
  if (value.is_string() && value.get_ref<const std::string&>().find('\0') != std::string::npos)
    throw UsageError("setting '" + key + "' contains a NUL character");
}

void fill(nlohmann::json& c, const char* key, const nlohmann::json& value) {
  if (!c.contains(key)) c[key] = value;
}

void resolve_cfm(nlohmann::json& c) {
  fill(c, "preset", "paper");
  BackboneConfig b = backbone_preset(c["preset"].get<std::string>());
  fill(c, "vit_heads", b.vit.heads);
  fill(c, "point_mae_heads", b.point_mae.heads);
  fill(c, "image_size", b.vit.image_size);
  fill(c, "groups", b.point_mae.groups);
  fill(c, "group_size", b.point_mae.group_size);
  fill(c, "layers_kept", b.layers_kept);
  fill(c, "mode", mode_name(b.mode));
  fill(c, "grid", b.grid);
  fill(c, "epochs", 50);
  fill(c, "batch_size", 4);
  fill(c, "lr", 1e-3);
  fill(c, "seed", 115);
  fill(c, "eval_seed", 42);
  fill(c, "shots", 0);
  fill(c, "split_seed", 0);
  fill(c, "threads", 1);
  for (const char* required : {"dataset", "category", "vit_weights", "point_mae_weights"})
    if (!c.contains(required)) throw UsageError(std::string("a cfm job needs '") + required + "'");
  parse_mode(c["mode"].get<std::string>());
  for (const char* positive : {"epochs", "batch_size", "grid", "groups", "group_size", "layers_kept", "threads"})
    if (c[positive].get<long long>() <= 0) throw UsageError(std::string("setting '") + positive + "' must be positive");
  if (c["shots"].get<long long>() < 0) throw UsageError("setting 'shots' must be 0 (all) or positive");
}

}  // namespace

nlohmann::json resolve_job_config(const nlohmann::json& settings, const std::string& base_dir) {
  nlohmann::json c = settings;
  for (const auto& [key, value] : c.items()) check_type(key, value);
  fill(c, "method", "cfm");
  for (auto& [key, value] : c.items())
    if (known_settings().at(key).type == SettingType::Path) value = fs::absolute(fs::path(base_dir) / value.get<std::string>()).lexically_normal().string();
  std::string method = c["method"];
  if (method == "cfm") {
    resolve_cfm(c);
    fill(c, "dataset_name", fs::path(c["dataset"].get<std::string>()).filename().string());
  } else if (method == "noop") {
    fill(c, "sleep_ms", 0);
    fill(c, "fail_attempts", 0);
    fill(c, "category", "none");
  } else {
    throw UsageError("unknown method '" + excerpt(method) + "' (known: cfm, noop)");
  }
  // The category is a folder of the dataset and of galleries: one plain path component.
  if (!is_plain_name(c["category"].get<std::string>()))
    throw UsageError("setting 'category' ('" + excerpt(c["category"].get<std::string>()) + "') is not a plain name (" + kPlainNameRule + ")");
  return c;
}

void check_resolved_job_config(const nlohmann::json& config) {
  if (!config.is_object()) throw UsageError("a job configuration must be a JSON object");
  for (const auto& [key, value] : config.items()) {
    check_type(key, value);
    if (known_settings().at(key).type != SettingType::Path) continue;
    fs::path path(value.get<std::string>());
    if (!path.is_absolute() || path.lexically_normal() != path)
      throw UsageError("setting '" + key + "' ('" + excerpt(value.get<std::string>()) + "') is not an absolute, normalised path");
  }
  nlohmann::json resolved = resolve_job_config(config, "/");
  for (const auto& [key, value] : resolved.items())
    if (!config.contains(key)) throw UsageError("the job configuration is not resolved: setting '" + key + "' is missing");
  if (resolved != config) throw UsageError("the job configuration is not resolved: resolving it again changes it");
}

bool is_job_key(const std::string& text) {
  return text.size() == 64 && text.find_first_not_of("0123456789abcdef") == std::string::npos;
}

std::string Fingerprints::file(const std::string& path) {
  auto [it, added] = cache_.try_emplace("file:" + path);
  if (added) it->second = sha256_file_hex(path);
  return it->second;
}

std::string Fingerprints::category(const std::string& dataset, const std::string& category) {
  auto [it, added] = cache_.try_emplace("category:" + dataset + "/" + category);
  if (!added) return it->second;
  fs::path root = fs::path(dataset) / category;
  if (!fs::is_directory(root)) {
    cache_.erase(it);
    throw FileError(root.string(), "category folder not found");
  }
  std::vector<std::string> entries;
  for (const auto& entry : fs::recursive_directory_iterator(root))
    if (entry.is_regular_file()) entries.push_back(fs::relative(entry.path(), root).string() + " " + std::to_string(entry.file_size()));
  std::sort(entries.begin(), entries.end());
  std::string listing;
  for (const std::string& e : entries) listing += e + "\n";
  return it->second = sha256_hex(listing);
}

std::string job_key(const nlohmann::json& config, Fingerprints& fingerprints) {
  nlohmann::json keyed = nlohmann::json::object();
  for (const auto& [key, value] : config.items())
    if (known_settings().at(key).in_key) keyed[key] = value;
  keyed["method_version"] = kMethodVersion;
  if (config["method"] == "cfm") {
    keyed["vit_weights_sha256"] = fingerprints.file(config["vit_weights"]);
    keyed["point_mae_weights_sha256"] = fingerprints.file(config["point_mae_weights"]);
    keyed["dataset_sha256"] = fingerprints.category(config["dataset"], config["category"]);
  }
  return sha256_hex(keyed.dump());  // nlohmann::json orders object keys: the dump is canonical
}

}  // namespace cfm
