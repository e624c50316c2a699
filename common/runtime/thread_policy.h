// How many threads one cfm process computes with (docs/architecture.md §10). Two thread pools do the
// arithmetic of a job: OpenBLAS' own threads run the matrix products (most of the backbones' FLOPs), and
// LibTorch's OpenMP threads run element-wise ops, reductions, sorts and cfm's own parallel loops. Both
// busy-wait for work after a call, so running both pools at the core count puts two spinning threads on
// every core, and several jobs on one machine multiply that. The policy gives each process its share of the
// cores -- the cores it may run on divided by the job processes sharing them (worker slots x ranks) -- and
// hands that share to the pool chosen for it, the other pool getting one thread.
//
//   ThreadPolicy policy = choose_thread_policy(settings.training.threads, sharing_processes);
//   apply_thread_policy(policy);   // before the first LibTorch operation of the process
#pragma once

#include <string>

namespace cfm {

struct ThreadPolicy {
  int cores = 1;              // cores this process may run on (its CPU affinity mask)
  int sharing_processes = 1;  // job processes running on those cores at once
  int blas_threads = 1;       // OpenBLAS threads: matrix products
  int intra_op_threads = 1;   // LibTorch intra-op (OpenMP) threads: everything else
  bool requested = false;     // an explicit `threads` setting, not the automatic share
};

// requested_threads > 0: exactly that many compute threads; 0: the automatic share of the cores
// (at least 1). sharing_processes >= 1.
ThreadPolicy choose_thread_policy(int requested_threads, int sharing_processes = 1);

// Sets both pools (and LibTorch's inter-op pool to 1 where it can still be set). A BLAS other than
// OpenBLAS is left to its own defaults; describe() says so.
void apply_thread_policy(const ThreadPolicy& policy);

// While alive, LibTorch's intra-op pool runs at the BLAS share as well (restored after). The mapping
// networks' training steps are element-wise heavy beside modest matrix products (GELU and its gradient,
// cosine losses, Adam over 5.5 M parameters), and there two busy pools measured faster than one
// (docs/architecture.md §10); the backbones' big products are not, so this is for the training epochs.
class WideIntraOpThreads {
 public:
  WideIntraOpThreads();
  ~WideIntraOpThreads();
  WideIntraOpThreads(const WideIntraOpThreads&) = delete;
  WideIntraOpThreads& operator=(const WideIntraOpThreads&) = delete;

 private:
  int previous_;
};

// While alive, the cores are split the other way round: OpenBLAS runs every product on the thread that
// calls it and LibTorch's intra-op pool has the BLAS share. Code inside divides its work with
// at::parallel_for (the transformer blocks: chunks of token rows, and (image, head) pairs), so each core
// runs its own single-threaded products and the softmax, GELU and layer norms between them run on every
// core instead of one; the backbones' forwards run in it (docs/architecture.md §10). Nested scopes and a
// BLAS other than OpenBLAS (whose threads it cannot set) leave the pools as they are.
class RowParallelThreads {
 public:
  RowParallelThreads();
  ~RowParallelThreads();
  RowParallelThreads(const RowParallelThreads&) = delete;
  RowParallelThreads& operator=(const RowParallelThreads&) = delete;

 private:
  bool active_ = false;
  int previous_intra_op_ = 1;
};

// "2 cores / 1 process: BLAS 2 threads, LibTorch 1 (automatic)"
std::string describe(const ThreadPolicy& policy);

// Cores in this process's affinity mask (what taskset, cgroups cpusets and Slurm grant), at least 1.
int usable_cores();

}  // namespace cfm
