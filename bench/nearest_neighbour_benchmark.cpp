// Benchmark (not a test): the memory-bank method's nearest-neighbour search, one test sample's patches
// against a bank, with LibTorch (what cfm uses: nearest_bank_patches, blocked matrix products with a running
// minimum) and, when the build found Debian's libfaiss-dev, faiss' exact IndexFlatL2 (k = 1). Same random
// data for both; prints seconds per sample and the ratio, and checks that both find the same neighbours.
//
//   build/bench/cfm_nearest_neighbour_benchmark [--bank ROWS] [--queries N] [--dim D] [--threads T]
// Defaults: the demo's 3D bank (20 samples x 56² patches x 0.1 = 6272 rows of 1152) and one sample's 3136
// 3D patches; the paper's MVTec-sized 3D bank is ~220 samples: --bank 68992.
#include <ATen/Parallel.h>
#include <fmt/format.h>
#include <torch/torch.h>

#include <CLI/CLI.hpp>

#include "common/memory_bank/patch_scoring.h"
#include "common/util/stopwatch.h"

#ifdef CFM_WITH_FAISS
// Labels are int64_t in every faiss (1.7.3 calls the type faiss::Index::idx_t, later ones faiss::idx_t).
#include <faiss/IndexFlat.h>
#include <omp.h>
#endif

int main(int argc, char** argv) {
  std::int64_t bank_rows = 6272, queries = 3136, dim = 1152;
  int threads = 1, repeats = 3;
  CLI::App app("nearest-neighbour search: LibTorch vs faiss");
  app.add_option("--bank", bank_rows, "Bank rows")->capture_default_str();
  app.add_option("--queries", queries, "Query rows (one sample's patches)")->capture_default_str();
  app.add_option("--dim", dim, "Feature width")->capture_default_str();
  app.add_option("--threads", threads, "Threads for both libraries")->capture_default_str();
  app.add_option("--repeats", repeats, "Timed repetitions (the best is kept)")->capture_default_str();
  CLI11_PARSE(app, argc, argv);
  at::set_num_threads(threads);
  torch::manual_seed(0);
  at::Tensor bank = torch::randn({bank_rows, dim}), patches = torch::randn({queries, dim});
  auto best_of = [&](auto&& run) {
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
      cfm::Stopwatch watch;
      run();
      best = std::min(best, watch.seconds());
    }
    return best;
  };
  cfm::NearestBankPatches torch_nearest;
  const double torch_seconds = best_of([&] { torch_nearest = cfm::nearest_bank_patches(patches, bank); });
  fmt::print("bank {} x {}, {} queries, {} thread(s)\n", bank_rows, dim, queries, threads);
  fmt::print("LibTorch (blocked q·b products, running minimum): {:.3f} s per sample\n", torch_seconds);
#ifdef CFM_WITH_FAISS
  omp_set_num_threads(threads);
  faiss::IndexFlatL2 index(static_cast<std::int64_t>(dim));
  index.add(bank_rows, bank.data_ptr<float>());
  std::vector<float> distances(static_cast<std::size_t>(queries));
  std::vector<std::int64_t> labels(static_cast<std::size_t>(queries));
  const double faiss_seconds =
      best_of([&] { index.search(queries, patches.data_ptr<float>(), 1, distances.data(), labels.data()); });
  std::int64_t same = 0;
  for (std::int64_t q = 0; q < queries; ++q)
    same += labels[static_cast<std::size_t>(q)] == torch_nearest.index[q].item<std::int64_t>();
  fmt::print("faiss IndexFlatL2 (k = 1): {:.3f} s per sample\n", faiss_seconds);
  fmt::print(
      "LibTorch / faiss time: {:.2f} (below 1: LibTorch faster); same nearest row for {} of {} queries\n",
      torch_seconds / faiss_seconds, same, queries);
#else
  fmt::print("faiss: not built (Debian's libfaiss-dev was not found at configure time)\n");
#endif
  return 0;
}
