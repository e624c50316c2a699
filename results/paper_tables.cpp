#include "results/paper_tables.h"

#include <algorithm>

#include "common/settings/settings.h"

namespace cfm {
namespace {

bool any_value(const std::vector<ResultRow>& rows, const std::string& name) {
  for (const ResultRow& row : rows)
    if (auto it = row.values.find(name); it != row.values.end() && it->second) return true;
  return false;
}

// Only the metrics some job recorded: a selection of unfinished jobs still gets its table shapes.
std::vector<std::string> recorded(const std::vector<ResultRow>& rows, std::vector<std::string> names) {
  std::vector<std::string> kept;
  for (const std::string& n : names)
    if (any_value(rows, n)) kept.push_back(n);
  return kept;
}

std::vector<std::string> without(std::vector<std::string> settings, const std::string& name) {
  settings.erase(std::remove(settings.begin(), settings.end(), name), settings.end());
  return settings;
}

std::string titled(const std::string& title, const std::string& group) {
  return group.empty() ? title : title + " (" + group + ")";
}

// Whether the jobs that have `setting` hold two values of it: a method's own setting (epochs, coreset_ratio)
// is absent from the other method's jobs, which makes it no axis of its own.
bool varies_where_present(const std::vector<ResultRow>& rows, const std::string& setting) {
  std::string first;
  bool seen = false;
  for (const ResultRow& row : rows) {
    auto it = row.settings.find(setting);
    if (it == row.settings.end()) continue;
    if (seen && it->second != first) return true;
    first = it->second;
    seen = true;
  }
  return false;
}

}  // namespace

const std::vector<std::string>& replicate_settings() {
  static const std::vector<std::string> names = {"seed", "split_seed", "eval_seed"};
  return names;
}

bool is_replicate_setting(const std::string& name) {
  return std::find(replicate_settings().begin(), replicate_settings().end(), name) !=
         replicate_settings().end();
}

std::vector<std::string> variant_settings(const std::vector<ResultRow>& rows) {
  std::vector<std::string> order;
  for (const ResultRow& row : rows)
    for (const auto& [name, value] : row.settings)
      if (std::find(order.begin(), order.end(), name) == order.end()) order.push_back(name);
  // Method first, then the table's own order of settings (what a reader expects), then the rest.
  std::vector<std::string> variants;
  auto consider = [&](const std::string& name) {
    const Setting* s = find_setting(name);
    if (name == "category" || is_replicate_setting(name) || (s && !s->in_key)) return;
    if (std::find(variants.begin(), variants.end(), name) == variants.end() &&
        varies_where_present(rows, name))
      variants.push_back(name);
  };
  consider("method");
  for (const Setting& s : settings_table())
    if (std::find(order.begin(), order.end(), s.name) != order.end()) consider(s.name);
  for (const std::string& name : order) consider(name);
  return variants;
}

std::vector<std::pair<std::string, std::vector<ResultRow>>> group_rows(
    const std::vector<ResultRow>& rows, const std::vector<std::string>& settings) {
  if (settings.empty()) return {{"", rows}};
  std::vector<std::pair<std::string, std::vector<ResultRow>>> groups;
  for (const std::vector<std::string>& values : setting_combinations(rows, settings)) {
    std::vector<ResultRow> members;
    for (const ResultRow& row : rows)
      if (setting_values(row, settings) == values) members.push_back(row);
    groups.emplace_back(named_values(settings, values), std::move(members));
  }
  return groups;
}

std::vector<PaperSection> paper_sections(const std::vector<ResultRow>& rows) {
  const std::vector<std::string> variants = variant_settings(rows);
  std::vector<PaperSection> sections;
  auto add = [&](const std::string& kind, const std::string& title, const std::vector<ResultRow>& subset,
                 const std::vector<std::string>& row_settings, const std::vector<std::string>& col_settings,
                 const std::vector<std::string>& metrics) {
    std::vector<std::string> present = recorded(subset, metrics);
    if (present.empty()) return;  // no job of these has finished yet
    sections.push_back({kind, title, build_comparison_table(subset, row_settings, col_settings, present)});
  };
  add("detection", "Detection and segmentation per category", rows, {"category"}, variants,
      {"i_auroc", "aupro@0.3", "aupro@0.01", "p_auroc"});
  for (const auto& [setting, kind, title] :
       {std::tuple<std::string, std::string, std::string>{"shots", "few-shot",
                                                          "Few-shot: metric vs training samples (0 = all)"},
        {"layers_kept", "pruning", "Layer pruning: metric vs transformer blocks kept"}}) {
    if (std::find(variants.begin(), variants.end(), setting) == variants.end()) continue;
    for (const auto& [group, subset] : group_rows(rows, without(variants, setting))) {
      add(kind, titled(title, group), subset, {"category"}, {setting},
          {"i_auroc", "aupro@0.3", "aupro@0.01"});
      if (kind == "pruning")
        add("pruning-cost", titled("Layer pruning: cost", group), subset, {setting}, {},
            {"i_auroc", "aupro@0.3", "inference_fps", "peak_rss_gb", "peak_gpu_gb"});
    }
  }
  add("efficiency", "Efficiency", rows, variants.empty() ? std::vector<std::string>{"method"} : variants, {},
      {"inference_fps", "peak_rss_gb", "peak_gpu_gb", "model_mb", "parameters", "seconds_fit"});
  return sections;
}

}  // namespace cfm
