// Loads one sample as the tensors the method uses (docs/method.md §2):
//   rgb   3 x S x S float32, ImageNet-normalised (edge SquarePad + Pillow bicubic),
//   cloud 3 x S x S float32 organized point cloud (PyTorch nearest; (0,0,0) = no point),
//   gt    1 x S x S float32 in {0, 1} (edge SquarePad + Pillow nearest, > 0.5); zeros for good samples.
// S is 224 in the paper and configurable; the RGB side (the ViT input) is separate. Errors are typed
// (IoError, FormatError, DataError) and name the file and what was expected.
#pragma once

#include <ATen/core/Tensor.h>

#include "common/data/dataset.h"
#include "common/data/image.h"

namespace cfm {

struct SampleTensors {
  at::Tensor rgb;
  at::Tensor cloud;
  at::Tensor gt;
  int label = 0;
  SampleFiles files;
};

// `grid`: side of the cloud and GT tensors; `rgb_size`: side of the RGB tensor (the ViT input).
SampleTensors load_sample(const SampleFiles& files, int grid = 224, int rgb_size = 224);

// The individual transforms, exposed for tests and for `cfm features` on loose files.
at::Tensor rgb_to_tensor(const ImageU8& rgb, int size);          // 3 x S x S, normalised
at::Tensor cloud_to_tensor(const PointImage& points, int size);  // 3 x S x S
at::Tensor mask_to_tensor(const ImageU8& luma, int size);        // 1 x S x S in {0, 1}

}  // namespace cfm
