// The ranks of one job (docs/architecture.md §4): N processes, one per device, that meet through a c10d
// FileStore in the job's run folder and exchange tensors through Gloo (CPU devices) or NCCL (CUDA
// devices). Data-parallel training and sharded evaluation use three operations: a sum over all ranks, a
// broadcast from rank 0 and a barrier. A group of one rank needs no store or backend: every operation
// returns at once, so single-device code runs through the same calls unchanged.
//
//   RankSetup setup;                     // rank r of 2, meeting in the run folder
//   setup.rank = r;
//   setup.world_size = 2;
//   setup.rendezvous = run_dir + "/rendezvous-attempt-1";
//   RankGroup ranks(setup, device);
//   ranks.all_reduce_sum(gradients);   // every rank now holds the sum
//
// Every wait is bounded by `timeout_seconds`: a rank that died or hangs makes the others fail with an
// Error instead of blocking for c10d's default 30 minutes.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/core/Device.h>

#include <memory>
#include <string>
#include <vector>

#include "common/distributed/rank_setup.h"

namespace cfm {

// The share of `count` items (samples, test images) rank `rank` of `world_size` takes: every world_size-th
// item from its own rank on.
std::vector<std::size_t> rank_share(std::size_t count, int rank, int world_size);

class RankGroup {
 public:
  // Throws Error when the other ranks do not arrive within the timeout (naming the rendezvous file).
  RankGroup(const RankSetup& setup, const at::Device& device);
  ~RankGroup();
  RankGroup(const RankGroup&) = delete;
  RankGroup& operator=(const RankGroup&) = delete;

  int rank() const { return setup_.rank; }
  int world_size() const { return setup_.world_size; }
  bool is_root() const { return setup_.rank == 0; }

  // In place: every tensor becomes the element-wise sum over all ranks. Tensors must live on the group's
  // device, share one dtype and have the same shapes on every rank (they travel as one buffer).
  void all_reduce_sum(std::vector<at::Tensor>& tensors);
  // In place: every tensor becomes rank 0's.
  void broadcast_from_root(std::vector<at::Tensor>& tensors);
  // Returns once every rank has called it.
  void barrier();

  // Seconds spent waiting in collectives so far (the communication cost of data parallelism).
  double communication_seconds() const { return communication_seconds_; }

 private:
  struct Backend;
  RankSetup setup_;
  at::Device device_;
  std::unique_ptr<Backend> backend_;
  double communication_seconds_ = 0;
};

}  // namespace cfm
