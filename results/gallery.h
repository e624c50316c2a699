// Qualitative panels like the paper's figures (`cfm results gallery`): for each selected job, the test
// samples CFM detects best (highest-scoring anomalous), worst (lowest-scoring anomalous) and its worst
// false positive (highest-scoring good), each as one PNG strip of five tiles:
//   RGB | ground truth | 3D discrepancy s3D | 2D discrepancy s2D | combined smoothed map
// (maps as heat maps scaled by their own maximum). Written to
// <out>/<grid>/<category>/<job key 12>/<kind>-<defect>-<name>.png, with index.md listing them.
#pragma once

#include <string>
#include <vector>

#include "results/result_rows.h"

namespace cfm {

class Database;

struct GalleryOptions {
  std::string out_dir;
  int per_kind = 2;  // best and worst samples per job
  int tile = 224;    // tile side in pixels
};

struct GalleryPanel {
  std::string path, job, category, kind, sample;  // kind: best, worst, false-positive
  double score = 0;
};

// Jobs whose run folder has no evaluation are skipped; none at all is a UsageError.
std::vector<GalleryPanel> write_gallery(Database& db, const std::vector<ResultRow>& rows,
                                        const GalleryOptions& options);

}  // namespace cfm
