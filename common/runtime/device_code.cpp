#include "common/runtime/device_code.h"

namespace cfm {
namespace {

thread_local bool g_device_code_on_cpu = false;

}  // namespace

bool runs_cpu_loop(const at::Tensor& t) {
  return t.is_cpu() && t.scalar_type() == at::kFloat && !g_device_code_on_cpu;
}

DeviceCodeOnCpu::DeviceCodeOnCpu() : previous_(g_device_code_on_cpu) { g_device_code_on_cpu = true; }

DeviceCodeOnCpu::~DeviceCodeOnCpu() { g_device_code_on_cpu = previous_; }

at::Tensor on_device(const at::Tensor& t, const at::Device& device) {
  return !t.defined() || t.device() == device ? t : t.to(device);
}

}  // namespace cfm
