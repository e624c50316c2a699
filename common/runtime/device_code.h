// Which of a step's two implementations runs. Several steps of the feature pipeline and the scoring have
// device-agnostic tensor code, which runs on any device, and a CPU loop that is faster on the CPU (reading
// memory through pointers, which a GPU tensor does not allow). The tensor code runs off the CPU, the loop
// on it; tests force the tensor code on the CPU (DeviceCodeOnCpu) to prove that it computes what the loops
// compute and copies nothing back to the host (tests/cfm/device_path_test.cpp).
//
//   if (runs_cpu_loop(points)) return farthest_point_sample_loop(points, count);
//   return farthest_point_sample_tensors(points, count);
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

namespace cfm {

// True when `t` is a float32 CPU tensor and no DeviceCodeOnCpu is active on this thread.
bool runs_cpu_loop(const at::Tensor& t);

// While one lives, runs_cpu_loop is false on this thread: the device code runs on CPU tensors.
class DeviceCodeOnCpu {
 public:
  DeviceCodeOnCpu();
  ~DeviceCodeOnCpu();
  DeviceCodeOnCpu(const DeviceCodeOnCpu&) = delete;
  DeviceCodeOnCpu& operator=(const DeviceCodeOnCpu&) = delete;

 private:
  bool previous_;
};

// `t` on `device`: `t` itself when it is already there (no operation at all, so that a transfer observer
// sees only real copies), else a copy.
at::Tensor on_device(const at::Tensor& t, const at::Device& device);

}  // namespace cfm
