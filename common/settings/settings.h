// Every setting of a job, defined once (docs/architecture.md §3, §7): its name (as in grid files,
// --config YAML and job JSON; with dashes, the CLI flag), type, help, whether it changes results (part of
// the job key), its default and where it lives in the typed configuration. The grid parser, job
// resolution and keys, the coordinator's and the worker's checks, the job executor, the flags of
// `cfm features`, `cfm train` and `cfm eval`, and --config files all read this one table, so a setting
// cannot be known to one of them and silently missed by another.
//
//   const Setting* s = find_setting("layers_kept");   // Integer, Backbone, in the key, minimum 1
//   CategoryJobSettings c = category_job_defaults("demo");            // the demo backbones, the official
//   training values s->set(c, 8);                                      // c.backbone.layers_kept == 8
#pragma once

#include <functional>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "common/settings/backbone_config.h"

namespace cfm {

enum class SettingType { Integer, Real, Text, Path };

enum class SettingGroup {
  Job,         // what a job is about: method, dataset, category, preset
  Backbone,    // the frozen backbones (method.md §3)
  Training,    // mapping networks, seeds, few-shot split, threads (method.md §4-5)
  MemoryBank,  // the memory-bank method's coreset and recipe (method.md §11)
  Noop,        // the timing-only method used by orchestration tests and benchmarks
};

// The methods that run the frozen backbones on a category: CFM and the M3DM-style memory banks.
bool runs_backbones(const std::string& method);

// The training and inference values of a CFM job that are not backbone settings.
struct TrainingSettings {
  int epochs = 50;
  int batch_size = 4;
  double lr = 1e-3;
  long long seed = 115;      // training: mapping-network initialisation, shuffling, official-mode DropPath
  long long eval_seed = 42;  // inference: official-mode DropPath
  long long shots = 0;       // few-shot: train on k samples (0 = all)
  long long split_seed = 0;  // which k samples
  int threads = 0;           // compute threads per process; 0: automatic (common/runtime/thread_policy.h)
  int infer_batch_size = 1;  // test samples scored together (backbones, networks, smoothing)
  std::string precision = "fp32";   // fp32, tf32 (CUDA) or bf16 (common/runtime/precision.h)
  std::string mapper = "standard";  // the mapping networks: standard or big (docs/method.md §4.1)
};

// The memory-bank method's values (docs/method.md §11).
struct MemoryBankSettings {
  double coreset_ratio = 0.1;   // each bank keeps this fraction of its patches (1 = no coreset)
  double coreset_eps = 0.9;     // Johnson-Lindenstrauss eps of the random projection before the coreset
  std::string fusion = "add";   // add (s_3D + s_RGB, M3DM's DINO+Point_MAE+add) or svm (M3DM's one-class
                                // SVM late fusion on [s_3D, 0.1 s_RGB])
  std::string recipe = "m3dm";  // m3dm (as the original: cross-wired normalisation, RGB coreset sized from
                                // the reduced 3D bank) or per_bank (each bank its own statistics and size)
};

// Every value of a job that runs the backbones on a category, typed: the backbones and the training values
// every such method reads, and each method's own.
struct CategoryJobSettings {
  BackboneConfig backbone;
  TrainingSettings training;
  MemoryBankSettings memory_bank;
};

// The interval a Real setting's value must lie in, e.g. (0, 1].
struct Interval {
  double low = 0, high = 1;
  bool low_closed = false, high_closed = true;
};

struct Setting {
  std::string name;
  SettingType type = SettingType::Text;
  SettingGroup group = SettingGroup::Job;
  bool in_key = true;  // false for execution-only settings (paths are fingerprinted instead, threads)
  std::string help;
  std::optional<long long> minimum;  // integers: the smallest allowed value
  std::optional<Interval> range;     // reals: the interval the value lies in
  std::vector<std::string> choices;  // texts: the allowed values (empty: any)
  bool required = false;             // a job that takes it cannot run without it (no default)
  std::string key_name;              // the name hashed into job keys when it differs (a renamed setting)
  std::string key_unless;            // a Text setting left out of job keys at this value (one added after
                                     // keys existed: their jobs keep their keys)
  std::string method;                // "": every method that runs the backbones; else only this one (a
                                     // grid over both methods drops it from the other's jobs)
  // Backbone, Training and MemoryBank settings: the value in, and into, the typed configuration.
  std::function<nlohmann::json(const CategoryJobSettings&)> get;
  std::function<void(CategoryJobSettings&, const nlohmann::json&)> set;
};

const std::vector<Setting>& settings_table();

// nullptr when no setting has that name.
const Setting* find_setting(const std::string& name);

// The current name of a setting that was renamed ("grid" -> "feature_grid"); other names unchanged.
// Grid files, --config files and flags accept the old names.
std::string canonical_setting_name(const std::string& name);

// The old names of a setting (for flag aliases).
std::vector<std::string> former_setting_names(const std::string& name);

// The name hashed into job keys (unchanged by a rename, so finished jobs keep their keys).
std::string key_name(const Setting& setting);

// Whether a job of `method` takes this setting (Backbone, Training and MemoryBank settings apply only to
// the methods that run the backbones, some to one of them only; Job and Noop settings to the methods
// that read them).
bool applies_to(const Setting& setting, const std::string& method);

// Comma-separated names of every setting, for error messages.
std::string known_setting_names();

// "layers_kept" -> "--layers-kept".
std::string flag_name(const std::string& setting_name);

// Whether `value` has the setting's JSON type (integers for Integer, any number for Real, strings
// otherwise) and lies within its minimum, range or choices; UsageError naming the setting when not.
void check_setting_value(const Setting& setting, const nlohmann::json& value);

// A value given as text (a CLI flag, a YAML scalar) as JSON of the setting's type; UsageError otherwise.
nlohmann::json parse_setting_text(const Setting& setting, const std::string& text);

// The named backbone preset with the official training values.
CategoryJobSettings category_job_defaults(const std::string& preset);

// The typed values of a resolved job configuration of a method that runs the backbones (every setting
// that applies to its method present; the others keep their defaults).
CategoryJobSettings category_job_settings(const nlohmann::json& resolved);

// Applies a YAML file of settings (optionally under a `backbone:` key): `preset` first, then every other
// key, each a Backbone or Training setting. FormatError names an unknown key and its line.
void apply_settings_yaml(CategoryJobSettings& settings, const std::string& path);

}  // namespace cfm
