// The numeric precision a job computes in (the `precision` setting):
//   fp32  float32 throughout, TF32 tensor cores off for matrix products and convolutions alike (LibTorch
//         turns them on for convolutions by default)
//   tf32  CUDA only: float32 tensors, matrix products and convolutions on TF32 tensor cores (10-bit
//         mantissa inputs, float32 accumulation)
//   bf16  autocast to bfloat16 on the job's device (CPU included): the networks' matrix products and
//         convolutions in bfloat16, the rest in float32. The geometry -- sampling, neighbours, the
//         interpolation's distances, the pooling -- stays float32 (FullPrecision).
//
//   PrecisionScope precision(parse_precision(settings.training.precision), device);  // whole job
#pragma once

#include <c10/core/Device.h>
#include <c10/core/impl/LocalDispatchKeySet.h>

#include <string>

namespace cfm {

enum class Precision { Fp32, Tf32, Bf16 };

// "fp32", "tf32" or "bf16"; UsageError otherwise.
Precision parse_precision(const std::string& name);

// Applies `precision` for `device` on this thread while it lives, and restores what was there. Throws
// UsageError for tf32 on a CPU (no tensor cores: use fp32 or bf16 there).
class PrecisionScope {
 public:
  PrecisionScope(Precision precision, const at::Device& device);
  ~PrecisionScope();
  PrecisionScope(const PrecisionScope&) = delete;
  PrecisionScope& operator=(const PrecisionScope&) = delete;

 private:
  Precision precision_;
  at::Device device_;
  bool cublas_tf32_, cudnn_tf32_, autocast_was_on_;
};

// True while a bf16 PrecisionScope is active on this thread for `device`'s type.
bool lowers_precision(const at::Device& device);

// The precision computations on `device` run in now, for keys of stored results: "" for fp32 (so that
// what was stored before precisions existed keeps its key), "tf32" or "bf16".
std::string active_precision_tag(const at::Device& device);

// Operations inside run in the precision of their inputs, whatever a PrecisionScope asked.
class FullPrecision {
 public:
  FullPrecision() : guard_(c10::autocast_dispatch_keyset) {}

 private:
  c10::impl::ExcludeDispatchKeyGuard guard_;
};

}  // namespace cfm
