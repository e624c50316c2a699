// Benchmark (not a test): metrics of a full MVTec-sized category, 130 maps of 224 x 224 (about 6.5 M
// pixels), official and exact AU-PRO protocols; the best of 3 runs each.
//
//   build/bench/cfm_metrics_benchmark [--save DIR]
// --save writes the maps and masks (maps.npy, masks.npy) and cfm's metrics (cfm_metrics.json) for
// bench/official_metrics.py, which times the official metrics code on the same maps.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>

#include "common/metrics/evaluation.h"
#include "common/util/npy.h"
#include "common/util/whole_file.h"

namespace {

void save(const std::string& dir, const cfm::PixelMaps& maps, const cfm::Evaluation& e,
          const cfm::EvaluationOptions& options) {
  std::filesystem::create_directories(dir);
  std::vector<float> scores, masks;
  for (std::size_t i = 0; i < maps.scores.size(); ++i) {
    scores.insert(scores.end(), maps.scores[i].pixels.begin(), maps.scores[i].pixels.end());
    for (std::uint8_t v : maps.masks[i].pixels) masks.push_back(v ? 1.f : 0.f);
  }
  const std::vector<std::int64_t> shape = {static_cast<std::int64_t>(maps.scores.size()), 224, 224};
  cfm::write_npy_f32(dir + "/maps.npy", shape, scores.data());
  cfm::write_npy_f32(dir + "/masks.npy", shape, masks.data());
  cfm::write_whole_file(dir + "/cfm_metrics.json", cfm::evaluation_json(e, options) + "\n");
}

}  // namespace

int main(int argc, char** argv) {
  std::string save_dir;
  if (argc == 3 && !std::strcmp(argv[1], "--save")) save_dir = argv[2];
  std::mt19937 rng(0);
  std::normal_distribution<float> noise(1.f, 0.3f);
  cfm::PixelMaps maps;
  for (int i = 0; i < 130; ++i) {
    cfm::Image<float> s(224, 224, 1);
    cfm::ImageU8 m(224, 224, 1);
    for (float& v : s.pixels) v = std::max(0.f, noise(rng));
    if (i >= 25)
      for (int y = 80; y < 80 + 10 + i % 30; ++y)
        for (int x = 60; x < 90; ++x) {
          m.at(y, x) = 255;
          s.at(y, x) += 0.8f;
        }
    maps.scores.push_back(std::move(s));
    maps.masks.push_back(std::move(m));
  }
  for (bool exact : {false, true}) {
    cfm::EvaluationOptions options;
    options.exact = exact;
    cfm::Evaluation e;
    double seconds = 1e30;
    for (int run = 0; run < 3; ++run) {
      auto start = std::chrono::steady_clock::now();
      e = cfm::evaluate_maps(maps, {}, options);
      seconds =
          std::min(seconds, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    if (!exact && !save_dir.empty()) save(save_dir, maps, e, options);
    std::printf("%s protocol: 130 maps of 224x224 in %.3f s (I-AUROC %.3f, P-AUROC %.3f, AUPRO@0.3 %.3f)\n",
                exact ? "exact" : "official", seconds, e.i_auroc.value_or(-1), e.p_auroc.value_or(-1),
                e.aupro[0.3].value_or(-1));
  }
  return 0;
}
