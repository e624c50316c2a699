// What the `cfm run` tests of real CFM jobs start from, made through the CLI as a user would: a
// preprocessed one-category synthetic dataset in <dir>/data, seed-3 tiny random backbones in <dir>/w, and
// the grid settings that point at them (a small configuration that trains in seconds).
#pragma once

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <fstream>
#include <string>

#include "test_support.h"

namespace cfm::test {

// Returns false (with the failing command and its output reported) when a step fails.
inline bool write_tiny_cfm_inputs(const TempDir& dir, int train_samples) {
  const std::string cfm = CFM_BINARY;
  for (const std::string& command :
       {fmt::format("{} synth --out {} --categories 1 --size 200 --train {} --validation 0 --test 1 "
                    "--no-progress",
                    cfm, dir / "data", train_samples),
        fmt::format("{} preprocess mvtec --in {} --in-place --no-progress", cfm, dir / "data"),
        fmt::format("{} backbones init --preset tiny --out {} --seed 3", cfm, dir / "w")}) {
    CommandResult r = run_command(command);
    if (r.exit_code != 0) {
      ADD_FAILURE() << command << "\n" << r.output;
      return false;
    }
  }
  return true;
}

// The `fixed:` lines of a grid over those inputs (relative paths: the grid file lives in <dir>).
constexpr const char* kTinyCfmFixedSettings = R"(  dataset: data
  category: cookie
  preset: demo
  vit_weights: w/vit_tiny_random.pth
  point_mae_weights: w/pointmae_tiny_random.pth
  image_size: 112
  grid: 28
  groups: 32
  group_size: 16
)";

// The inputs and <dir>/grid.yaml: a grid `name` over them with 2 epochs, `more_fixed` settings (YAML lines
// under fixed:) and `axes` (YAML lines under axes:). False when making the inputs failed.
inline bool write_tiny_grid(const TempDir& dir, const std::string& name = "tiny",
                            const std::string& more_fixed = "",
                            const std::string& axes = "  seed: [115, 116]\n") {
  if (!write_tiny_cfm_inputs(dir, 3)) return false;
  std::ofstream(dir / "grid.yaml") << "name: " << name << "\nfixed:\n"
                                   << kTinyCfmFixedSettings << "  epochs: 2\n"
                                   << more_fixed << "axes:\n"
                                   << axes;
  return true;
}

// `cfm run` of <dir>/grid.yaml with two local workers into <dir>/r.sqlite and <dir>/runs.
inline std::string tiny_grid_command(const TempDir& dir) {
  return fmt::format("{} run {} --db {} --runs {} --workers 2 --no-progress", CFM_BINARY, dir / "grid.yaml",
                     dir / "r.sqlite", dir / "runs");
}

// The two-job tiny grid (seeds 115 and 116), run; the command's result (failures reported by the caller).
inline CommandResult run_tiny_grid(const TempDir& dir) {
  if (!write_tiny_grid(dir)) return {};
  return run_command(tiny_grid_command(dir));
}

}  // namespace cfm::test
