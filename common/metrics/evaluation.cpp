#include "common/metrics/evaluation.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <future>
#include <nlohmann/json.hpp>

#include "common/metrics/auroc.h"
#include "common/util/error.h"

namespace cfm {
namespace {

// The official per-image normalisations (§5.7) as divisors of the map; means in double. The maps are
// divided in float32 as the metrics read them (pixel_maps.h), as the official code divides float32 tensors.
struct Normalisation {
  float for_pro;      // S / mean over non-zero pixels
  float for_pixels;   // S / sqrt(mean over all pixels)
  float image_score;  // max(S) / sqrt(mean over non-zero pixels)
};

Normalisation normalisation_of(const Image<float>& map) {
  double sum = 0, peak = -INFINITY;
  std::size_t nonzero = 0;
  for (float v : map.pixels) {
    sum += v;
    nonzero += v != 0;
    peak = std::max(peak, static_cast<double>(v));
  }
  const double mean_nonzero = nonzero ? sum / static_cast<double>(nonzero) : NAN;  // NaN for an all-zero map
  const double mean_all = sum / static_cast<double>(map.pixels.size());
  return {static_cast<float>(mean_nonzero), static_cast<float>(std::sqrt(mean_all)),
          static_cast<float>(peak / std::sqrt(mean_nonzero))};
}

}  // namespace

Evaluation evaluate_maps(const PixelMaps& maps, const std::vector<float>& image_scores,
                         const EvaluationOptions& o) {
  CFM_ASSERT(maps.scores.size() == maps.masks.size());
  CFM_ASSERT(image_scores.empty() || image_scores.size() == maps.scores.size());
  Evaluation e;
  e.images = maps.scores.size();
  std::vector<float> scores, pro_divisors, pixel_divisors;  // divisors stay empty (= 1) without `normalise`
  std::vector<std::uint8_t> labels;
  for (std::size_t i = 0; i < maps.scores.size(); ++i) {
    const Image<float>& map = maps.scores[i];
    const ImageU8& mask = maps.masks[i];
    bool anomalous =
        std::any_of(mask.pixels.begin(), mask.pixels.end(), [](std::uint8_t v) { return v != 0; });
    e.anomalous_images += anomalous;
    labels.push_back(anomalous);
    float image_score;
    if (o.normalise) {
      const Normalisation n = normalisation_of(map);
      pro_divisors.push_back(n.for_pro);
      pixel_divisors.push_back(n.for_pixels);
      image_score = n.image_score;
    } else {
      image_score = *std::max_element(map.pixels.begin(), map.pixels.end());
    }
    scores.push_back(image_scores.empty() ? image_score : image_scores[i]);
  }
  e.i_auroc = auroc(scores, labels);
  e.image_scores = scores;
  // The two pixel metrics each read all ~6.5 M pixels of a category; they run side by side.
  auto p_auroc = std::async(std::launch::async, [&] { return pixel_auroc(maps, pixel_divisors); });
  e.curve =
      o.exact ? pro_curve_exact(maps, pro_divisors) : pro_curve_official(maps, o.thresholds, pro_divisors);
  e.p_auroc = p_auroc.get();
  e.regions = e.curve.regions;
  for (double limit : o.limits) {
    double area = e.curve.fpr.empty() ? NAN : area_under_pro(e.curve, limit);
    e.aupro[limit] = std::isfinite(area) ? std::optional<double>(area) : std::nullopt;
  }
  return e;
}

std::string evaluation_table(const Evaluation& e) {
  auto cell = [&](const std::optional<double>& v) {
    return v ? fmt::format("{:.3f}", *v) : std::string("n/a");
  };
  auto aupro = [&](double limit) {
    auto it = e.aupro.find(limit);
    return it == e.aupro.end() ? std::string("n/a") : cell(it->second);
  };
  return fmt::format(
      "AUPRO@30% & AUPRO@10% & AUPRO@5% & AUPRO@1% & P-AUROC & I-AUROC\n{} & {} & {} & {} & {} & {}\n",
      aupro(0.3), aupro(0.1), aupro(0.05), aupro(0.01), cell(e.p_auroc), cell(e.i_auroc));
}

std::map<std::string, std::optional<double>> metric_values(const Evaluation& e) {
  std::map<std::string, std::optional<double>> values = {{"i_auroc", e.i_auroc}, {"p_auroc", e.p_auroc}};
  for (const auto& [limit, area] : e.aupro) values[fmt::format("aupro@{}", limit)] = area;
  return values;
}

std::string evaluation_json(const Evaluation& e, const EvaluationOptions& o) {
  auto value = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json j;
  for (const auto& [name, v] : metric_values(e)) j[name] = value(v);
  j["images"] = e.images;
  j["anomalous_images"] = e.anomalous_images;
  j["regions"] = e.regions;
  j["protocol"] = o.exact ? "exact" : fmt::format("official-{}-thresholds", o.thresholds);
  j["normalisation"] = o.normalise ? "cfm" : "none";
  return j.dump(2);
}

}  // namespace cfm
