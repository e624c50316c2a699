// All of CFM's metrics for one category from its anomaly maps (docs/method.md §5.7, §6):
// I-AUROC over image scores, P-AUROC over every pixel, AU-PRO at 30/10/5/1 % FPR.
//
// With `normalise` (the CFM protocol), each smoothed map S goes through the three per-image
// normalisations of the official code: AU-PRO on S / mean(S != 0), image score max(S) / sqrt(mean(S != 0)),
// P-AUROC on S / sqrt(mean(S)). Without it, the maps are used as given and the image score is their maximum.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics/aupro.h"

namespace cfm {

struct EvaluationOptions {
  bool normalise = true;
  bool exact = false;  // all thresholds instead of the official 99
  int thresholds = 99;
  std::vector<double> limits = {0.3, 0.1, 0.05, 0.01};
};

struct Evaluation {
  std::optional<double> i_auroc, p_auroc;         // nullopt: undefined (only one class present)
  std::map<double, std::optional<double>> aupro;  // by FPR limit; nullopt without anomalous regions
  ProCurve curve;
  std::size_t images = 0, anomalous_images = 0, regions = 0;
  std::vector<float> image_scores;  // as used for I-AUROC
};

// `image_scores`: optional per-image scores replacing the map maxima (empty: use the maps).
// Image labels: 1 when the mask has a non-zero pixel.
Evaluation evaluate_maps(const PixelMaps& maps, const std::vector<float>& image_scores,
                         const EvaluationOptions& options);

// The official result line (as the .md files of the official code): a header
// "AUPRO@30% & AUPRO@10% & AUPRO@5% & AUPRO@1% & P-AUROC & I-AUROC" and one line of values with 3
// decimals, "n/a" where undefined. Both lines end with a newline.
std::string evaluation_table(const Evaluation& e);

// i_auroc, p_auroc and aupro@<limit> for each limit ("aupro@0.3"): the metric names of results.
std::map<std::string, std::optional<double>> metric_values(const Evaluation& e);

// JSON object with the metric values (null when undefined) and counts.
std::string evaluation_json(const Evaluation& e, const EvaluationOptions& options);

}  // namespace cfm
