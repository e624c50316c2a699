#include "common/runtime/precision.h"

#include <ATen/Context.h>
#include <ATen/autocast_mode.h>
#include <fmt/format.h>
#include <torch/version.h>

#include "common/util/error.h"

namespace cfm {
namespace {

// LibTorch 2.4 named autocast's switches by device type; 1.13 had one pair per backend.
#if TORCH_VERSION_MAJOR > 2 || (TORCH_VERSION_MAJOR == 2 && TORCH_VERSION_MINOR >= 4)
bool autocast_enabled(const at::Device& d) { return at::autocast::is_autocast_enabled(d.type()); }
void set_autocast(const at::Device& d, bool on) {
  at::autocast::set_autocast_enabled(d.type(), on);
  if (on) at::autocast::set_autocast_dtype(d.type(), at::kBFloat16);
}
#else
bool autocast_enabled(const at::Device& d) {
  return d.is_cpu() ? at::autocast::is_cpu_enabled() : at::autocast::is_enabled();
}
void set_autocast(const at::Device& d, bool on) {
  if (d.is_cpu()) {
    at::autocast::set_cpu_enabled(on);
    if (on) at::autocast::set_autocast_cpu_dtype(at::kBFloat16);
  } else {
    at::autocast::set_enabled(on);
    if (on) at::autocast::set_autocast_gpu_dtype(at::kBFloat16);
  }
}
#endif

}  // namespace

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::Fp32;
  if (name == "tf32") return Precision::Tf32;
  if (name == "bf16") return Precision::Bf16;
  throw UsageError(fmt::format("unknown precision '{}': fp32, tf32 or bf16", name));
}

PrecisionScope::PrecisionScope(Precision precision, const at::Device& device)
    : precision_(precision),
      device_(device),
      cublas_tf32_(at::globalContext().allowTF32CuBLAS()),
      cudnn_tf32_(at::globalContext().allowTF32CuDNN()),
      autocast_was_on_(autocast_enabled(device)) {
  if (precision == Precision::Tf32 && !device.is_cuda())
    throw UsageError(fmt::format(
        "precision tf32 needs a CUDA device (tensor cores), not {}: use fp32 or bf16", device.str()));
  at::globalContext().setAllowTF32CuBLAS(precision == Precision::Tf32);
  at::globalContext().setAllowTF32CuDNN(precision == Precision::Tf32);
  if (precision == Precision::Bf16) {
    set_autocast(device, true);
    at::autocast::increment_nesting();
  }
}

PrecisionScope::~PrecisionScope() {
  at::globalContext().setAllowTF32CuBLAS(cublas_tf32_);
  at::globalContext().setAllowTF32CuDNN(cudnn_tf32_);
  if (precision_ == Precision::Bf16) {
    if (at::autocast::decrement_nesting() == 0) at::autocast::clear_cache();
    set_autocast(device_, autocast_was_on_);
  }
}

bool lowers_precision(const at::Device& device) { return autocast_enabled(device); }

std::string active_precision_tag(const at::Device& device) {
  if (autocast_enabled(device)) return "bf16";
  if (device.is_cuda() && at::globalContext().allowTF32CuBLAS()) return "tf32";
  return "";
}

}  // namespace cfm
