// Scoring one modality of a test sample against its memory bank (docs/method.md §11.3), as PatchCore /
// M3DM: every test patch's distance to its nearest bank patch; the image score is the largest of them,
// s*, re-weighted by how dense the bank is around the nearest neighbour m* of that patch:
//   w = 1 - exp(s*/sqrt(D)) / sum_k exp(||m_test - n_k|| / sqrt(D)),  score = w * s*,
// over the k = 2 bank patches nearest to m* after m* itself (D = feature width). The map is the
// nearest-neighbour distances on the patch grid, upsampled bilinearly to the S x S grid and blurred with
// a Gaussian of sigma 4.
#pragma once

#include <ATen/core/Tensor.h>

#include <vector>

namespace cfm {

struct NearestBankPatches {
  at::Tensor distance;  // N, float32: Euclidean distance to the nearest bank row
  at::Tensor index;     // N, int64: that row
};

// For each query row, the nearest bank row and its Euclidean distance (torch.cdist's expansion, in blocks
// of queries and bank rows with a running minimum, so the distance matrix never exists whole). Exact brute
// force, on the tensors' device.
NearestBankPatches nearest_bank_patches(const at::Tensor& queries, const at::Tensor& bank);

// The re-weighting factor w above from s*, the distances ||m_test - n_k|| and the feature width D.
double reweighting_factor(double s_star, const std::vector<double>& neighbour_distances, std::int64_t width);

struct ModalityScore {
  double image_score = 0;  // w * s*
  at::Tensor map;          // grid x grid, float32, on the CPU
};

// `patches`: side² x D normalised test patches; `bank`: M x D normalised bank patches (same device).
// `distance_scale` multiplies s* and the neighbour distances before the re-weighting (M3DM's SVM fusion
// divides both by 1000; the map is not scaled).
ModalityScore score_modality(const at::Tensor& patches, const at::Tensor& bank, int side, int grid,
                             double distance_scale = 1);

// Gaussian blur of a 2-D map: separable kernel exp(-x²/2σ²) normalised, truncated at 4σ, the border
// pixels repeated outward.
at::Tensor gaussian_blur(const at::Tensor& map, double sigma);

}  // namespace cfm
