// The paper's tables for any selection of jobs, shaped by the settings that vary among them: one
// definition for `cfm results paper` and the HTML report.
//  - Replicate settings (seed, split_seed, eval_seed) are pooled: cells are mean ± std over them.
//  - Every other setting that varies (method, layers_kept, shots, fusion, mapper, dataset_name, ...) is a
//    "variant" setting: a column dimension or a section of its own, never pooled.
// Sections: detection and segmentation per category (a column group per variant); few-shot (metric vs
// shots, one table per combination of the other variant settings); layer pruning (metric vs blocks kept,
// and its cost, likewise); efficiency (fps, peak memory incl. GPU where recorded, model or bank size, fit
// time) per variant.
#pragma once

#include <string>
#include <vector>

#include "results/comparison_table.h"

namespace cfm {

struct PaperSection {
  std::string kind;   // detection, few-shot, pruning, pruning-cost, efficiency
  std::string title;  // "Few-shot: metric vs training samples (method=cfm)"
  ComparisonTable table;
};

// seed, split_seed, eval_seed: the settings whose jobs are repetitions of one experiment.
const std::vector<std::string>& replicate_settings();
bool is_replicate_setting(const std::string& name);

// The settings that vary among `rows` apart from the category, the replicates and what does not change
// results (threads, paths), in the order they first appear in the rows' configurations.
std::vector<std::string> variant_settings(const std::vector<ResultRow>& rows);

// The rows grouped by their values of `settings` (one group of every row when `settings` is empty), each
// group with its label ("method=cfm, layers_kept=4"; "" for the single group), in table order.
std::vector<std::pair<std::string, std::vector<ResultRow>>> group_rows(
    const std::vector<ResultRow>& rows, const std::vector<std::string>& settings);

std::vector<PaperSection> paper_sections(const std::vector<ResultRow>& rows);

}  // namespace cfm
