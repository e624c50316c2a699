// `cfm preprocess mvtec`: runs the MVTec preprocessing over every *.tiff below a dataset root (all splits,
// as the official script). With an output folder, the whole dataset is mirrored there (RGB, GT,
// calibration and other files copied unchanged) and only the TIFFs are rewritten; in place, each TIFF is
// replaced atomically (temporary file + rename), so an interrupted run never leaves a half-written file.
#pragma once

#include <string>

#include "common/data/preprocess/batch_runner.h"
#include "common/data/preprocess/mvtec_preprocess.h"

namespace cfm {

struct MvtecDatasetOptions {
  std::string in;
  std::string out;  // empty: in place
  MvtecPreprocessParams params;
  unsigned threads = 2;
  bool progress = true;
};

BatchReport preprocess_mvtec_dataset(const MvtecDatasetOptions& options);

// Writes `points` as a float32 (or float64) TIFF at `path` via a temporary file and a rename.
void write_xyz_tiff_atomically(const std::string& path, const PointImage& points, bool float64);

}  // namespace cfm
