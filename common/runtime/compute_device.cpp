#include "common/runtime/compute_device.h"

#include <fmt/format.h>
#include <torch/cuda.h>

#include "common/util/error.h"

#ifdef CFM_WITH_CUDA
#include <c10/cuda/CUDACachingAllocator.h>
#endif

namespace cfm {

at::Device parse_device_name(const std::string& name) {
  if (name == "cpu") return at::kCPU;
  if (name.rfind("cuda", 0) == 0) {
    try {
      at::Device device(name);
      return at::Device(at::kCUDA, device.has_index() ? device.index() : 0);
    } catch (const std::exception&) {  // c10::Error for "cuda:x" and the like
    }
  }
  throw UsageError(fmt::format("unknown device '{}' (expected cpu, cuda or cuda:N)", name));
}

at::Device parse_compute_device(const std::string& name) {
  const at::Device device = parse_device_name(name);
  if (device.is_cpu()) return device;
#ifdef CFM_WITH_CUDA
  if (!torch::cuda::is_available())
    throw Error(
        fmt::format("device {}: this cfm is built with CUDA but finds no usable GPU here (no NVIDIA "
                    "driver, or no device visible: CUDA_VISIBLE_DEVICES?); use cpu",
                    name));
#else
  if (!torch::cuda::is_available())
    throw Error(
        fmt::format("device {}: this cfm has no CUDA (its LibTorch is CPU-only, as Debian's); build it with "
                    "-DCFM_WITH_CUDA=ON against a CUDA LibTorch (docs/building.md) or use cpu",
                    name));
#endif
  const auto count = static_cast<int>(torch::cuda::device_count());
  if (device.index() >= count)
    throw Error(fmt::format("device {}: this machine has {} CUDA device(s)", name, count));
  return device;
}

void reset_peak_gpu_memory(const at::Device& device) {
#ifdef CFM_WITH_CUDA
  if (device.is_cuda()) c10::cuda::CUDACachingAllocator::resetPeakStats(device.index());
#else
  (void)device;
#endif
}

std::optional<std::int64_t> peak_gpu_memory_bytes(const at::Device& device) {
#ifdef CFM_WITH_CUDA
  // Index 0 of the per-pool statistics is the aggregate over all pools (StatType::AGGREGATE in every
  // LibTorch version, whose namespace moved between versions).
  if (device.is_cuda())
    return c10::cuda::CUDACachingAllocator::getDeviceStats(device.index()).allocated_bytes[0].peak;
#else
  (void)device;
#endif
  return std::nullopt;
}

}  // namespace cfm
