// The differences between the LibTorch versions cfm builds against (Debian 12: 1.13, Debian 13 and
// current CUDA LibTorch: 2.x) in c10d, in one place instead of #ifs at each use.
//  - 2.0 split the collective implementations (ProcessGroupGloo, ProcessGroupNCCL) off ProcessGroup into
//    c10d::Backend; in 1.13 they derive from c10d::ProcessGroup. Both bases declare the collectives cfm
//    uses (allreduce, broadcast) with the same signatures, so cfm holds either through one alias.
#pragma once

#include <torch/version.h>

#include <torch/csrc/distributed/c10d/ProcessGroup.hpp>

#if TORCH_VERSION_MAJOR >= 2
#include <torch/csrc/distributed/c10d/Backend.hpp>
#endif

namespace cfm {

#if TORCH_VERSION_MAJOR >= 2
using CollectiveBackend = c10d::Backend;
#else
using CollectiveBackend = c10d::ProcessGroup;
#endif

}  // namespace cfm
