#include "common/features/sample_loader.h"

#include <torch/torch.h>

#include "common/data/png_io.h"
#include "common/data/resample.h"
#include "common/data/sample_checks.h"
#include "common/data/tiff_io.h"
#include "common/util/error.h"

namespace cfm {
namespace {

constexpr float kImagenetMean[3] = {0.485f, 0.456f, 0.406f};
constexpr float kImagenetStd[3] = {0.229f, 0.224f, 0.225f};

}  // namespace

at::Tensor rgb_to_tensor(const ImageU8& rgb, int size) {
  CFM_ASSERT(rgb.channels == 3);
  ImageU8 resized = pillow_resize_bicubic(square_pad_edge(rgb), size, size);
  at::Tensor out = torch::empty({3, size, size}, torch::kFloat32);
  float* data = out.data_ptr<float>();
  std::size_t plane = static_cast<std::size_t>(size) * size;
  for (std::size_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) {
      // torchvision: ToTensor divides by 255 in float32, Normalize subtracts the mean and divides by std.
      float v = static_cast<float>(resized.pixels[p * 3 + c]) / 255.0f;
      data[c * plane + p] = (v - kImagenetMean[c]) / kImagenetStd[c];
    }
  return out;
}

at::Tensor cloud_to_tensor(const PointImage& points, int size) {
  PointImage resized = resize_points_nearest(points, size, size);
  at::Tensor out = torch::empty({3, size, size}, torch::kFloat32);
  float* data = out.data_ptr<float>();
  std::size_t plane = static_cast<std::size_t>(size) * size;
  for (std::size_t p = 0; p < plane; ++p)
    for (int c = 0; c < 3; ++c) data[c * plane + p] = static_cast<float>(resized.pixels[p * 3 + c]);
  return out;
}

at::Tensor mask_to_tensor(const ImageU8& luma, int size) {
  CFM_ASSERT(luma.channels == 1);
  ImageU8 resized = pillow_resize_nearest(square_pad_edge(luma), size, size);
  at::Tensor out = torch::empty({1, size, size}, torch::kFloat32);
  float* data = out.data_ptr<float>();
  for (std::size_t p = 0; p < resized.pixels.size(); ++p)
    data[p] = static_cast<float>(resized.pixels[p]) / 255.0f > 0.5f ? 1.0f : 0.0f;
  return out;
}

SampleTensors load_sample(const SampleFiles& files, int grid, int rgb_size) {
  if (grid <= 0 || rgb_size <= 0) throw UsageError("image sizes must be positive");
  ImageU8 rgb = read_png_rgb(files.rgb);
  PointImage points = read_xyz_tiff(files.xyz);
  std::string problem = xyz_size_problem(rgb.width, rgb.height, points.width, points.height);
  if (!problem.empty()) throw DataError(files.xyz, problem);
  problem = point_cloud_problem(points);
  if (!problem.empty()) throw DataError(files.xyz, problem);
  SampleTensors sample;
  sample.files = files;
  sample.label = files.label;
  sample.rgb = rgb_to_tensor(rgb, rgb_size);
  sample.cloud = cloud_to_tensor(points, grid);
  if (files.gt.empty()) {
    sample.gt = torch::zeros({1, grid, grid}, torch::kFloat32);
  } else {
    ImageU8 gt = read_png_luma(files.gt);
    problem = gt_size_problem(rgb.width, rgb.height, gt.width, gt.height);
    if (!problem.empty()) throw DataError(files.gt, problem);
    sample.gt = mask_to_tensor(gt, grid);
  }
  return sample;
}

}  // namespace cfm
