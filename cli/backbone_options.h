// The setting flags of `cfm features`, `cfm train` and `cfm eval`, made from the settings table
// (common/settings/settings.h): one flag per setting, named as the setting with dashes (--layers-kept), plus
// --preset, --config (a YAML file of settings) and --device. Precedence: the preset, then --config,
// then the flags.
#pragma once

#include <CLI/CLI.hpp>
#include <map>
#include <string>
#include <vector>

#include "common/settings/settings.h"

namespace cfm::cli {

struct SettingFlags {
  std::string preset = "paper", config_file, device = "cpu";
  std::map<std::string, std::string> given;  // setting name -> the text of its flag, when given
};

// Every Backbone setting of the table.
std::vector<std::string> backbone_setting_names();

// Adds --preset, --config, --device and a flag for each setting in `names`; `aliases` gives extra flag
// names for some settings (e.g. {"layers_kept", {"--layers"}}).
void add_setting_options(CLI::App* cmd, SettingFlags& flags, const std::vector<std::string>& names,
                         const std::map<std::string, std::vector<std::string>>& aliases = {});

// The settings the flags ask for. `threads` defaults to every core of this machine on the command line.
CategoryJobSettings resolve(const SettingFlags& flags);

}  // namespace cfm::cli
