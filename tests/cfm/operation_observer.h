// Records the LibTorch operations that run while it is installed (a global RecordFunction callback),
// and among them the ones that would read back to the host on a GPU: a tensor moved to another device
// (aten::to with a device: `.to(device)`, `.cpu()`) and a value read back (`item`). It reads operation
// names only: the inputs a RecordFunction holds are laid out differently in LibTorch's release build and
// in ours (NDEBUG).
//
//   test::ObservedOperations observed;
//   ... run the pipeline ...
//   EXPECT_TRUE(observed.log().host_reads.empty());
#pragma once

#include <ATen/record_function.h>

#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace cfm::test {

// What the observer saw while it was installed.
struct OperationLog {
  std::mutex mutex;
  std::multiset<std::string> operations;
  std::vector<std::string> host_reads;  // copies to the CPU and values read back, with their operation
};
inline OperationLog* g_log = nullptr;

inline std::unique_ptr<at::ObserverContext> observe(const at::RecordFunction& fn) {
  const std::string name = fn.name();
  bool host_read = name == "aten::item" || name == "aten::_local_scalar_dense";
  if (name == "aten::to") {  // to.dtype changes the type alone; the other overloads may move the tensor
    const auto op = fn.operator_name();
    host_read = !op || op->overload_name != "dtype";
  }
  std::lock_guard<std::mutex> lock(g_log->mutex);
  g_log->operations.insert(name);
  if (host_read) g_log->host_reads.push_back(name);
  return nullptr;
}

// Installs the observer for its lifetime.
class ObservedOperations {
 public:
  ObservedOperations() {
    g_log = &log_;
    handle_ = at::addGlobalCallback(at::RecordFunctionCallback(observe));
  }
  ~ObservedOperations() {
    at::removeCallback(handle_);
    g_log = nullptr;
  }
  OperationLog& log() { return log_; }

 private:
  OperationLog log_;
  at::CallbackHandle handle_;
};

}  // namespace cfm::test
