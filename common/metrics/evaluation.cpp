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

// The official per-image normalisations (§5.7); means in double.
struct Normalised {
  Image<float> for_pro;     // S / mean over non-zero pixels
  Image<float> for_pixels;  // S / sqrt(mean over all pixels)
  float image_score;        // max(S) / sqrt(mean over non-zero pixels)
};

Normalised normalise_map(const Image<float>& map) {
  double sum = 0, peak = -INFINITY;
  std::size_t nonzero = 0;
  for (float v : map.pixels) {
    sum += v;
    nonzero += v != 0;
    peak = std::max(peak, static_cast<double>(v));
  }
  const double mean_nonzero = nonzero ? sum / static_cast<double>(nonzero) : NAN;  // NaN for an all-zero map
  const double mean_all = sum / static_cast<double>(map.pixels.size());
  Normalised n{map, map, static_cast<float>(peak / std::sqrt(mean_nonzero))};
  // The maps are divided in float32, as the official code divides float32 tensors: the rounding decides
  // ties between pixels, and ties matter to every metric.
  const float pro_divisor = static_cast<float>(mean_nonzero),
              pixel_divisor = static_cast<float>(std::sqrt(mean_all));
  for (std::size_t i = 0; i < map.pixels.size(); ++i) {
    n.for_pro.pixels[i] = map.pixels[i] / pro_divisor;
    n.for_pixels.pixels[i] = map.pixels[i] / pixel_divisor;
  }
  return n;
}

}  // namespace

Evaluation evaluate_maps(const PixelMaps& maps, const std::vector<float>& image_scores,
                         const EvaluationOptions& o) {
  CFM_ASSERT(maps.scores.size() == maps.masks.size());
  CFM_ASSERT(image_scores.empty() || image_scores.size() == maps.scores.size());
  Evaluation e;
  e.images = maps.scores.size();
  PixelMaps for_pro;
  std::vector<float> scores, pixel_scores;
  std::vector<std::uint8_t> labels, pixel_labels;
  std::size_t pixels = 0;
  for (const Image<float>& map : maps.scores) pixels += map.pixels.size();
  pixel_scores.reserve(pixels);  // ~6.5 M values for an MVTec category: grown once, not doubled 20 times
  pixel_labels.reserve(pixels);
  for (std::size_t i = 0; i < maps.scores.size(); ++i) {
    const Image<float>& map = maps.scores[i];
    const ImageU8& mask = maps.masks[i];
    bool anomalous =
        std::any_of(mask.pixels.begin(), mask.pixels.end(), [](std::uint8_t v) { return v != 0; });
    e.anomalous_images += anomalous;
    labels.push_back(anomalous);
    float image_score;
    if (o.normalise) {
      Normalised n = normalise_map(map);
      for_pro.scores.push_back(std::move(n.for_pro));
      pixel_scores.insert(pixel_scores.end(), n.for_pixels.pixels.begin(), n.for_pixels.pixels.end());
      image_score = n.image_score;
    } else {
      for_pro.scores.push_back(map);
      pixel_scores.insert(pixel_scores.end(), map.pixels.begin(), map.pixels.end());
      image_score = *std::max_element(map.pixels.begin(), map.pixels.end());
    }
    for_pro.masks.push_back(mask);
    for (std::uint8_t v : mask.pixels) pixel_labels.push_back(v != 0);
    scores.push_back(image_scores.empty() ? image_score : image_scores[i]);
  }
  e.i_auroc = auroc(scores, labels);
  e.image_scores = scores;
  // The two big sorts (all pixels for P-AUROC, OK pixels for the PRO curve) run side by side.
  auto pixel_auroc = std::async(std::launch::async, [&] { return auroc(pixel_scores, pixel_labels); });
  e.curve = o.exact ? pro_curve_exact(for_pro) : pro_curve_official(for_pro, o.thresholds);
  e.p_auroc = pixel_auroc.get();
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

std::string evaluation_json(const Evaluation& e, const EvaluationOptions& o) {
  auto value = [](const std::optional<double>& v) {
    return v ? nlohmann::json(*v) : nlohmann::json(nullptr);
  };
  nlohmann::json j;
  j["i_auroc"] = value(e.i_auroc);
  j["p_auroc"] = value(e.p_auroc);
  for (const auto& [limit, area] : e.aupro) j[fmt::format("aupro@{}", limit)] = value(area);
  j["images"] = e.images;
  j["anomalous_images"] = e.anomalous_images;
  j["regions"] = e.regions;
  j["protocol"] = o.exact ? "exact" : fmt::format("official-{}-thresholds", o.thresholds);
  j["normalisation"] = o.normalise ? "cfm" : "none";
  return j.dump(2);
}

}  // namespace cfm
