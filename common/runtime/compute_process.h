// What every process that computes (a job, `cfm train/eval/features`, the benchmarks) sets once, before
// its first LibTorch operation: its share of the cores for the two thread pools (thread_policy.h) and the
// reuse of freed large blocks (common/runtime/memory_reuse.h). Both were measured to matter (docs/
// architecture.md §10), and a process that set only one of them would be slower without any error.
#pragma once

#include "common/runtime/thread_policy.h"

namespace cfm {

void prepare_compute_process(const ThreadPolicy& policy);

}  // namespace cfm
