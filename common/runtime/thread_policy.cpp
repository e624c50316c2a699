#include "common/runtime/thread_policy.h"

#include <ATen/Parallel.h>
#include <dlfcn.h>
#include <fmt/format.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <thread>

namespace cfm {
namespace {

// OpenBLAS' setter, looked up at run time: LibTorch links whichever BLAS Debian's alternatives point to,
// and only OpenBLAS has this symbol (a reference BLAS is single-threaded anyway).
using SetThreads = void (*)(int);
SetThreads openblas_setter() {
  return reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
}

int applied_share = 0;  // the BLAS threads of the last apply_thread_policy (0: never applied)
// RowParallelThreads alive in the process: only the first switches the pools (atomic: a scope opened on
// another thread meanwhile finds them switched and leaves them; its loops are right either way).
std::atomic<int> row_parallel_depth{0};

}  // namespace

int usable_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0) return std::max(1, CPU_COUNT(&set));
  return static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
}

ThreadPolicy choose_thread_policy(int requested_threads, int sharing_processes) {
  ThreadPolicy p;
  p.cores = usable_cores();
  p.sharing_processes = std::max(1, sharing_processes);
  p.requested = requested_threads > 0;
  const int share = p.requested ? requested_threads : std::max(1, p.cores / p.sharing_processes);
  // The share goes to OpenBLAS: the matrix products are ~95 % of a job's FLOPs, and LibTorch's OpenMP
  // threads spinning beside them cost more than the element-wise work they parallelise gains
  // (bench/feature_benchmark.cpp --blas/--intra-op measures every split; docs/architecture.md §10).
  p.blas_threads = share;
  p.intra_op_threads = 1;
  return p;
}

void apply_thread_policy(const ThreadPolicy& policy) {
  if (SetThreads set = openblas_setter()) set(policy.blas_threads);
  applied_share = policy.blas_threads;
  at::set_num_threads(policy.intra_op_threads);
  try {
    at::set_num_interop_threads(1);  // cfm never runs LibTorch's inter-op pool; only settable once
  } catch (const std::exception&) {
  }
}

WideIntraOpThreads::WideIntraOpThreads() : previous_(at::get_num_threads()) {
  if (applied_share > 0) at::set_num_threads(applied_share);
}

WideIntraOpThreads::~WideIntraOpThreads() { at::set_num_threads(previous_); }

RowParallelThreads::RowParallelThreads() {
  const SetThreads set_blas = openblas_setter();
  active_ = row_parallel_depth++ == 0 && set_blas != nullptr && applied_share > 1;
  if (!active_) return;
  previous_intra_op_ = at::get_num_threads();
  set_blas(1);
  at::set_num_threads(applied_share);
}

RowParallelThreads::~RowParallelThreads() {
  --row_parallel_depth;
  if (!active_) return;
  at::set_num_threads(previous_intra_op_);
  openblas_setter()(applied_share);
}

std::string describe(const ThreadPolicy& policy) {
  return fmt::format("{} core{} / {} process{}: BLAS {} thread{}{}, LibTorch {} ({})", policy.cores,
                     policy.cores == 1 ? "" : "s", policy.sharing_processes,
                     policy.sharing_processes == 1 ? "" : "es", policy.blas_threads,
                     policy.blas_threads == 1 ? "" : "s",
                     openblas_setter() ? "" : " (not OpenBLAS: its default)", policy.intra_op_threads,
                     policy.requested ? "requested" : "automatic");
}

}  // namespace cfm
