// Where a job computes: "cpu" or "cuda:N" (a worker's device slot, or `--device` on the command line),
// and the peak GPU memory it used.
#pragma once

#include <c10/core/Device.h>

#include <cstdint>
#include <optional>
#include <string>

namespace cfm {

// "cpu", "cuda" (= cuda:0) or "cuda:N", by syntax only (a worker may list GPUs a job later cannot use).
// Throws UsageError for anything else.
at::Device parse_device_name(const std::string& name);

// parse_device_name, then Error when a CUDA device is asked for but this build's LibTorch has no CUDA or
// the machine has no such GPU (saying which).
at::Device parse_compute_device(const std::string& name);

// Peak memory allocated by LibTorch's CUDA caching allocator on `device` since the last reset (what
// torch.cuda.max_memory_allocated reports); nullopt on the CPU or in a build without CUDA.
void reset_peak_gpu_memory(const at::Device& device);
std::optional<std::int64_t> peak_gpu_memory_bytes(const at::Device& device);

}  // namespace cfm
