#include "backbone_options.h"

#include <cctype>
#include <thread>

#include "common/util/error.h"

namespace cfm::cli {

std::vector<std::string> backbone_setting_names() {
  std::vector<std::string> names;
  for (const Setting& s : settings_table())
    if (s.group == SettingGroup::Backbone) names.push_back(s.name);
  return names;
}

void add_setting_options(CLI::App* cmd, SettingFlags& f, const std::vector<std::string>& names,
                         const std::map<std::string, std::vector<std::string>>& aliases) {
  cmd->add_option("--preset", f.preset, "Backbone preset: paper or demo")->capture_default_str();
  cmd->add_option("--config", f.config_file, "YAML file of settings (applied after the preset)");
  cmd->add_option("--device", f.device, "cpu or cuda:N (needs a CUDA build)")->capture_default_str();
  for (const std::string& name : names) {
    const Setting* s = find_setting(name);
    CFM_ASSERT(s && s->set);
    std::string flags = flag_name(name);
    for (const std::string& former : former_setting_names(name)) flags += "," + flag_name(former);
    if (auto a = aliases.find(name); a != aliases.end())
      for (const std::string& alias : a->second) flags += "," + alias;
    std::string help = s->help;
    help[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(help[0])));
    cmd->add_option(flags, f.given[name], help);
  }
}

CategoryJobSettings resolve(const SettingFlags& f) {
  CategoryJobSettings c = category_job_defaults(f.preset);
  if (!f.config_file.empty()) apply_settings_yaml(c, f.config_file);
  for (const auto& [name, text] : f.given) {
    if (text.empty()) continue;  // not given
    const Setting* s = find_setting(name);
    nlohmann::json value = parse_setting_text(*s, text);
    check_setting_value(*s, value);
    s->set(c, value);
  }
  return c;
}

}  // namespace cfm::cli
