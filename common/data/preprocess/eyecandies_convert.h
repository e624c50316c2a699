// `cfm preprocess eyecandies`: CFM's (= M3DM's) Eyecandies conversion (docs/method.md §1.5). Depth PNG +
// normalisation + pose -> world-frame points -> background removal -> 512x512x3 float64 TIFF; image_4 is
// the RGB; test_public samples go to test/bad when their mask has any non-zero pixel, else test/good.
// Fixes over the official script: the category paths are joined correctly, and samples are found by
// their files (ids of *_depth.png) instead of assuming exactly 17 files per sample.
#pragma once

#include <string>

#include "common/data/image.h"
#include "common/data/preprocess/batch_runner.h"

namespace cfm {

// Steps 1-2: metric depth (float32 arithmetic as numpy) and back-projection with f = 711.11 and the pose.
PointImage eyecandies_depth_to_points(const ImageU16& depth, double depth_min, double depth_max,
                                      const double pose[4][4]);

// Step 3: background removal, axis reorder and scaling, in place. Background points end with x = 0.
void remove_eyecandies_background(PointImage& points);

struct EyecandiesConvertOptions {
  std::string in;   // raw root: <Category>/{train,test_public}/data
  std::string out;  // MVTec-like layout
  unsigned threads = 2;
  bool progress = true;
};

BatchReport convert_eyecandies_dataset(const EyecandiesConvertOptions& options);

}  // namespace cfm
