#include "common/grid/grid_spec.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <filesystem>
#include <set>

#include "common/settings/job_config.h"
#include "common/util/error.h"
#include "common/util/excerpt.h"
#include "common/util/plain_name.h"
#include "common/util/whole_file.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

class GridParser {
 public:
  explicit GridParser(std::string origin) : origin_(std::move(origin)) {}

  [[noreturn]] void fail(const YAML::Node& node, const std::string& message) const {
    std::string where =
        node.Mark().is_null() ? origin_ : origin_ + ":" + std::to_string(node.Mark().line + 1);
    throw UsageError(where + ": " + message);
  }

  // A scalar setting as JSON, typed by the setting table (so "4" stays a string only where text is expected).
  nlohmann::json value(const std::string& key, const YAML::Node& node) const {
    const Setting* setting = find_setting(key);
    if (!setting) fail(node, "unknown setting '" + key + "' (known: " + known_setting_names() + ")");
    if (!node.IsScalar()) fail(node, "setting '" + key + "' must be a single value here");
    try {
      return parse_setting_text(*setting, node.Scalar());
    } catch (const UsageError& e) {
      fail(node, e.what());
    }
  }

  nlohmann::json settings(const YAML::Node& map, const char* section) const {
    if (!map.IsMap()) fail(map, std::string("'") + section + "' must be a mapping of setting: value");
    nlohmann::json out = nlohmann::json::object();
    for (const auto& entry : map) {
      std::string key = canonical_setting_name(entry.first.as<std::string>());  // old names still read
      if (out.contains(key)) fail(entry.first, "setting '" + key + "' is given twice");
      out[key] = value(key, entry.second);
    }
    return out;
  }

  std::vector<nlohmann::json> rules(const YAML::Node& list, const char* section) const {
    if (!list.IsSequence()) fail(list, std::string("'") + section + "' must be a list of mappings");
    std::vector<nlohmann::json> out;
    for (const auto& item : list) out.push_back(settings(item, section));
    return out;
  }

 private:
  std::string origin_;
};

bool matches(const nlohmann::json& cell, const nlohmann::json& rule) {
  for (const auto& [key, value] : rule.items())
    if (!cell.contains(key) || cell[key] != value) return false;
  return true;
}

}  // namespace

Grid parse_grid(const std::string& yaml, const std::string& origin, const std::string& base_dir,
                const std::string& default_name, bool with_keys) {
  GridParser p(origin);
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    throw UsageError(origin + ":" + std::to_string(e.mark.line + 1) + ": invalid YAML: " + e.msg);
  }
  if (!root.IsMap())
    throw UsageError(origin +
                     ": a grid file must be a mapping (name, fixed, axes, exclude, include, max_attempts)");
  static const std::set<std::string> sections = {"name",    "max_attempts", "fixed",      "axes",
                                                 "exclude", "include",      "description"};
  for (const auto& entry : root)
    if (!sections.count(entry.first.as<std::string>()))
      p.fail(entry.first, "unknown section '" + entry.first.as<std::string>() +
                              "' (known: name, description, max_attempts, fixed, axes, exclude, include)");

  Grid grid;
  grid.yaml = yaml;
  grid.name = root["name"] ? root["name"].as<std::string>() : default_name;
  if (!is_plain_name(grid.name))
    p.fail(root["name"],
           "the grid name '" + excerpt(grid.name) + "' is not a plain name (" + kPlainNameRule + ")");
  if (root["max_attempts"]) {
    try {
      grid.max_attempts = root["max_attempts"].as<int>();
    } catch (const YAML::Exception&) {
      p.fail(root["max_attempts"], "max_attempts must be an integer");
    }
    if (grid.max_attempts < 1) p.fail(root["max_attempts"], "max_attempts must be at least 1");
  }
  nlohmann::json fixed = root["fixed"] ? p.settings(root["fixed"], "fixed") : nlohmann::json::object();

  std::vector<std::pair<std::string, std::vector<nlohmann::json>>> axes;
  if (root["axes"]) {
    if (!root["axes"].IsMap()) p.fail(root["axes"], "'axes' must be a mapping of setting: [values]");
    for (const auto& axis : root["axes"]) {
      std::string key = canonical_setting_name(axis.first.as<std::string>());
      if (!axis.second.IsSequence() || axis.second.size() == 0)
        p.fail(axis.second, "axis '" + key + "' must be a non-empty list");
      if (fixed.contains(key)) p.fail(axis.first, "'" + key + "' is both fixed and an axis");
      std::vector<nlohmann::json> values;
      for (const auto& v : axis.second) values.push_back(p.value(key, v));
      axes.emplace_back(key, std::move(values));
      grid.axes.push_back(key);
    }
  }
  std::vector<nlohmann::json> excludes =
      root["exclude"] ? p.rules(root["exclude"], "exclude") : std::vector<nlohmann::json>{};
  std::vector<nlohmann::json> includes =
      root["include"] ? p.rules(root["include"], "include") : std::vector<nlohmann::json>{};

  // Cartesian product, last axis fastest.
  std::vector<nlohmann::json> cells = {nlohmann::json::object()};
  for (const auto& [key, values] : axes) {
    std::vector<nlohmann::json> next;
    for (const auto& cell : cells)
      for (const auto& v : values) {
        nlohmann::json c = cell;
        c[key] = v;
        next.push_back(std::move(c));
      }
    cells = std::move(next);
  }
  std::vector<nlohmann::json> kept;
  for (const auto& cell : cells)
    if (std::none_of(excludes.begin(), excludes.end(), [&](const auto& rule) { return matches(cell, rule); }))
      kept.push_back(cell);
  for (const auto& extra : includes) kept.push_back(extra);

  Fingerprints fingerprints;
  std::set<std::string> keys;
  for (const auto& cell : kept) {
    nlohmann::json settings = fixed;
    settings.update(cell);
    JobSpec job;
    try {
      job.config = resolve_job_config(settings, base_dir);
      if (with_keys) job.key = job_key(job.config, fingerprints);
    } catch (const Error& e) {
      throw UsageError(origin + ": grid cell " + cell.dump() + ": " + e.what());
    }
    job.axes = cell;
    for (const auto& [key, value] : cell.items())  // a setting of another method was dropped from the job
      if (!job.config.contains(key)) job.axes.erase(key);
    if (keys.insert(with_keys ? job.key : job.config.dump()).second)
      grid.jobs.push_back(std::move(job));  // an include, or a dropped setting, may repeat a cell
  }
  if (grid.jobs.empty()) throw UsageError(origin + ": the grid has no jobs (every cell excluded?)");
  return grid;
}

Grid load_grid(const std::string& path, bool with_keys) {
  const std::string text = read_whole_file(path, "the grid file");
  fs::path p(path);
  return parse_grid(text, path, fs::absolute(p).parent_path().string(), p.stem().string(), with_keys);
}

int largest_devices_per_job(const Grid& grid) {
  int most = 1;
  for (const JobSpec& job : grid.jobs) most = std::max(most, job.config.value("devices_per_job", 1));
  return most;
}

}  // namespace cfm
