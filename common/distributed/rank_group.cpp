#include "common/distributed/rank_group.h"

#include <fmt/format.h>
#include <torch/torch.h>

#include <torch/csrc/distributed/c10d/FileStore.hpp>

#include "common/distributed/c10d_compat.h"
#include "common/util/error.h"
#include "common/util/stopwatch.h"

#ifdef CFM_WITH_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef CFM_WITH_CUDA
#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace cfm {

struct RankGroup::Backend {
  c10::intrusive_ptr<c10d::Store> store;
  c10::intrusive_ptr<CollectiveBackend> collectives;
};

namespace {

std::chrono::milliseconds milliseconds(double seconds) {
  return std::chrono::milliseconds(static_cast<long long>(seconds * 1000));
}

c10::intrusive_ptr<CollectiveBackend> make_collectives(const c10::intrusive_ptr<c10d::Store>& store,
                                                       const RankSetup& setup, const at::Device& device) {
  if (device.is_cuda()) {
#ifdef CFM_WITH_CUDA
    auto options = c10d::ProcessGroupNCCL::Options::create();
    options->timeout = milliseconds(setup.timeout_seconds);
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, setup.rank, setup.world_size, options);
#else
    throw Error("a CUDA rank needs a CUDA build of cfm (NCCL)");
#endif
  }
#ifdef CFM_WITH_GLOO
  auto options = c10d::ProcessGroupGloo::Options::create(milliseconds(setup.timeout_seconds));
  // The ranks of a job run on one machine (one worker's devices): loopback is enough and always there.
  options->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  options->threads = 1;
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, setup.rank, setup.world_size, options);
#else
  (void)store;
  (void)setup;
  throw Error("CPU ranks need Gloo, and this cfm was built without Gloo's headers (Debian: libgloo-dev)");
#endif
}

// c10d's list argument means "one tensor per device of this process", not a list of tensors, so a list
// travels as one flat buffer: one collective per call, whatever the number of tensors.
at::Tensor flattened(const std::vector<at::Tensor>& tensors) {
  std::vector<at::Tensor> flat;
  for (const at::Tensor& t : tensors) flat.push_back(t.reshape({-1}));
  return torch::cat(flat);
}

void unflatten_into(const at::Tensor& buffer, std::vector<at::Tensor>& tensors) {
  torch::NoGradGuard no_grad;
  std::int64_t offset = 0;
  for (at::Tensor& t : tensors) {
    t.copy_(buffer.narrow(0, offset, t.numel()).view_as(t));
    offset += t.numel();
  }
}

// What went wrong in c10d or Gloo, without LibTorch's backtrace.
std::string reason(const std::exception& e) {
  if (const auto* c10_error = dynamic_cast<const c10::Error*>(&e)) return c10_error->what_without_backtrace();
  return e.what();
}

// One collective on `tensors` as one flat buffer: `start(buffer, timeout)` starts it, this waits at most
// the timeout and copies the result back. Returns the seconds it took; errors name the rank.
template <typename Start>
double timed_collective(const char* name, const RankSetup& setup, std::vector<at::Tensor>& tensors,
                        const Start& start) {
  Stopwatch wait;
  try {
    const auto timeout = milliseconds(setup.timeout_seconds);
    std::vector<at::Tensor> buffer = {flattened(tensors)};
    start(buffer, timeout)->wait(timeout);
    unflatten_into(buffer[0], tensors);
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {} of {}: {} failed (another rank died or hangs?): {}", setup.rank,
                            setup.world_size, name, reason(e)));
  }
  return wait.seconds();
}

}  // namespace

std::vector<std::size_t> rank_share(std::size_t count, int rank, int world_size) {
  std::vector<std::size_t> share;
  for (std::size_t i = static_cast<std::size_t>(rank); i < count; i += static_cast<std::size_t>(world_size))
    share.push_back(i);
  return share;
}

RankGroup::RankGroup(const RankSetup& setup, const at::Device& device) : setup_(setup), device_(device) {
  if (setup.world_size < 1 || setup.rank < 0 || setup.rank >= setup.world_size)
    throw UsageError(fmt::format("rank {} of {} ranks is not a rank", setup.rank, setup.world_size));
  if (setup.world_size == 1) return;
  if (setup.rendezvous.empty()) throw UsageError("several ranks need a rendezvous file");
  backend_ = std::make_unique<Backend>();
  try {
    backend_->store = c10::make_intrusive<c10d::FileStore>(setup.rendezvous, setup.world_size);
    backend_->store->setTimeout(milliseconds(setup.timeout_seconds));
    backend_->collectives = make_collectives(backend_->store, setup, device);
    barrier();  // every rank is there before anyone computes
  } catch (const Error&) {
    throw;
  } catch (const std::exception& e) {
    throw Error(fmt::format("rank {} of {}: the other ranks did not meet at {} within {} s: {}", setup.rank,
                            setup.world_size, setup.rendezvous, setup.timeout_seconds, reason(e)));
  }
}

RankGroup::~RankGroup() = default;

void RankGroup::all_reduce_sum(std::vector<at::Tensor>& tensors) {
  if (!backend_ || tensors.empty()) return;
  communication_seconds_ += timed_collective("all-reduce", setup_, tensors, [&](auto& buffer, auto timeout) {
    c10d::AllreduceOptions options;
    options.reduceOp = c10d::ReduceOp::SUM;  // Gloo refuses AVG: callers divide themselves
    options.timeout = timeout;
    return backend_->collectives->allreduce(buffer, options);
  });
}

void RankGroup::broadcast_from_root(std::vector<at::Tensor>& tensors) {
  if (!backend_ || tensors.empty()) return;
  communication_seconds_ += timed_collective("broadcast", setup_, tensors, [&](auto& buffer, auto timeout) {
    c10d::BroadcastOptions options;
    options.rootRank = 0;
    options.timeout = timeout;
    return backend_->collectives->broadcast(buffer, options);
  });
}

void RankGroup::barrier() {
  // A one-element sum instead of the backends' barrier(): the same call for Gloo and NCCL.
  std::vector<at::Tensor> token = {torch::ones({1}, torch::TensorOptions().device(device_))};
  all_reduce_sum(token);
}

}  // namespace cfm
