#include "common/settings/job_config.h"

#include <algorithm>
#include <filesystem>

#include "common/settings/backbone_config.h"
#include "common/util/error.h"
#include "common/util/excerpt.h"
#include "common/util/plain_name.h"
#include "common/util/sha256.h"

namespace fs = std::filesystem;

namespace cfm {

namespace {

void check_type(const std::string& key, const nlohmann::json& value) {
  const Setting* setting = find_setting(key);
  if (!setting)
    throw UsageError("unknown setting '" + excerpt(key) + "' (known: " + known_setting_names() + ")");
  check_setting_value(*setting, value);
}

bool is_path_setting(const std::string& key) { return find_setting(key)->type == SettingType::Path; }

void fill(nlohmann::json& c, const char* key, const nlohmann::json& value) {
  if (!c.contains(key)) c[key] = value;
}

// A job of a method that runs the backbones (cfm, memory_bank): every setting of its method gets the
// preset's or the official value unless the grid gives one; settings of the other method are dropped, so
// one grid can set both methods' values and a job's key holds only what changes its results.
void resolve_backbone_method(nlohmann::json& c) {
  const std::string method = c["method"];
  for (const Setting& s : settings_table())
    if (c.contains(s.name) && !applies_to(s, method)) c.erase(s.name);
  fill(c, "preset", "paper");
  CategoryJobSettings defaults = category_job_defaults(c["preset"].get<std::string>());
  for (const Setting& s : settings_table())
    if (s.get && !s.required && applies_to(s, method)) fill(c, s.name.c_str(), s.get(defaults));
  for (const char* required : {"dataset", "category"})
    if (!c.contains(required)) throw UsageError("a " + method + " job needs '" + required + "'");
  for (const Setting& s : settings_table())
    if (s.required && !c.contains(s.name)) throw UsageError("a " + method + " job needs '" + s.name + "'");
  if (method == "memory_bank" && c.value("devices_per_job", 1) > 1)
    throw UsageError("a memory_bank job runs on one device (devices_per_job must be 1)");
  category_job_settings(c);  // every value through its typed setter (e.g. an unknown mode is refused here)
}

}  // namespace

nlohmann::json resolve_job_config(const nlohmann::json& settings, const std::string& base_dir) {
  nlohmann::json c = nlohmann::json::object();
  for (const auto& [key, value] : settings.items()) {
    std::string name = canonical_setting_name(key);  // old names of renamed settings still read
    if (c.contains(name)) throw UsageError("setting '" + name + "' is given twice (once as '" + key + "')");
    c[name] = value;
  }
  for (const auto& [key, value] : c.items()) check_type(key, value);
  fill(c, "method", "cfm");
  for (auto& [key, value] : c.items())
    if (is_path_setting(key))
      value = fs::absolute(fs::path(base_dir) / value.get<std::string>()).lexically_normal().string();
  std::string method = c["method"];
  if (runs_backbones(method)) {
    resolve_backbone_method(c);
    fill(c, "dataset_name", fs::path(c["dataset"].get<std::string>()).filename().string());
  } else if (method == "noop") {
    fill(c, "sleep_ms", 0);
    fill(c, "fail_attempts", 0);
    fill(c, "category", "none");
  } else {
    throw UsageError("unknown method '" + excerpt(method) + "' (known: cfm, memory_bank, noop)");
  }
  // The category is a folder of the dataset and of galleries: one plain path component.
  if (!is_plain_name(c["category"].get<std::string>()))
    throw UsageError("setting 'category' ('" + excerpt(c["category"].get<std::string>()) +
                     "') is not a plain name (" + kPlainNameRule + ")");
  return c;
}

void check_resolved_job_config(const nlohmann::json& config) {
  if (!config.is_object()) throw UsageError("a job configuration must be a JSON object");
  for (const auto& [key, value] : config.items()) {
    check_type(key, value);
    if (!is_path_setting(key)) continue;
    fs::path path(value.get<std::string>());
    if (!path.is_absolute() || path.lexically_normal() != path)
      throw UsageError("setting '" + key + "' ('" + excerpt(value.get<std::string>()) +
                       "') is not an absolute, normalised path");
  }
  nlohmann::json resolved = resolve_job_config(config, "/");
  for (const auto& [key, value] : resolved.items())
    if (!config.contains(key))
      throw UsageError("the job configuration is not resolved: setting '" + key + "' is missing");
  if (resolved != config)
    throw UsageError("the job configuration is not resolved: resolving it again changes it");
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
    if (entry.is_regular_file())
      entries.push_back(fs::relative(entry.path(), root).string() + " " + std::to_string(entry.file_size()));
  std::sort(entries.begin(), entries.end());
  std::string listing;
  for (const std::string& e : entries) listing += e + "\n";
  return it->second = sha256_hex(listing);
}

std::string job_key(const nlohmann::json& config, Fingerprints& fingerprints) {
  nlohmann::json keyed = nlohmann::json::object();
  for (const auto& [key, value] : config.items())
    if (const Setting* s = find_setting(key); s->in_key && (s->key_unless.empty() || value != s->key_unless))
      keyed[key_name(*s)] = value;
  keyed["method_version"] = kMethodVersion;
  if (runs_backbones(config["method"])) {
    keyed["vit_weights_sha256"] = fingerprints.file(config["vit_weights"]);
    keyed["point_mae_weights_sha256"] = fingerprints.file(config["point_mae_weights"]);
    keyed["dataset_sha256"] = fingerprints.category(config["dataset"], config["category"]);
  }
  return sha256_hex(keyed.dump());  // nlohmann::json orders object keys: the dump is canonical
}

}  // namespace cfm
