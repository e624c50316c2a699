#include "common/runtime/compute_process.h"

#include "common/runtime/memory_reuse.h"

namespace cfm {

void prepare_compute_process(const ThreadPolicy& policy) {
  apply_thread_policy(policy);
  keep_freed_memory_for_reuse();
}

}  // namespace cfm
