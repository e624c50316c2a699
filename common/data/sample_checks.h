// Consistency rules for one sample's files, shared by the loader (which throws) and the dataset scan
// (which collects every problem).
#pragma once

#include <string>

#include "common/data/image.h"

namespace cfm {

// Side of the square that CFM's MVTec preprocessing pads a HxW cloud to (docs/method.md §1.3 step 4):
// max(ceil(H/100), ceil(W/100)) * 100.
int preprocessed_side(int width, int height);

// Empty if the xyz size fits an RGB image of rgb_width x rgb_height: the same square size (raw square
// data, Eyecandies) or the square padded size of the preprocessing. A non-square cloud is a problem even
// when it matches its RGB: the official loader pads only the RGB, so they would be misaligned.
std::string xyz_size_problem(int rgb_width, int rgb_height, int xyz_width, int xyz_height);

// Empty if a GT mask fits its RGB image (same size); otherwise, what is wrong.
std::string gt_size_problem(int rgb_width, int rgb_height, int gt_width, int gt_height);

// Empty if the cloud is usable: finite coordinates and at least one valid point (all three coordinates
// non-zero, docs/method.md §3.3). Otherwise, what is wrong, with the first offending pixel.
std::string point_cloud_problem(const PointImage& points);

}  // namespace cfm
