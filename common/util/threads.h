// The one way cfm runs work on threads (docs/architecture.md §9): no exception may escape a thread (it
// would reach std::terminate and take the whole process down, leases and all), and no joinable
// std::thread may be destroyed (the same). Both helpers carry the exception of a failed task to the
// thread that waits for it.
//
//   parallel_for(files.size(), 4, [&](std::size_t i) { convert(files[i]); });   // rethrows the first error
//
//   BackgroundThread server([&] { coordinator.run(); }, [&] { coordinator.stop(); });
//   ...                  // whatever throws here, the destructor stops the coordinator and joins
//   server.join();       // rethrows what coordinator.run() threw
#pragma once

#include <cstddef>
#include <exception>
#include <functional>
#include <thread>

namespace cfm {

// Runs fn(i) for every i in [0, count) on `threads` threads (at least 1), each taking the next item. The
// first exception stops the handing out of items; it is rethrown once every thread has finished.
void parallel_for(std::size_t count, unsigned threads, const std::function<void(std::size_t)>& fn);

// One task on its own thread. The destructor calls `stop` (if given) and joins, so an exception on the
// waiting side cannot leave a joinable thread behind; an exception of the task is kept for join().
class BackgroundThread {
 public:
  explicit BackgroundThread(std::function<void()> task, std::function<void()> stop = {});
  ~BackgroundThread();
  BackgroundThread(const BackgroundThread&) = delete;
  BackgroundThread& operator=(const BackgroundThread&) = delete;

  // Waits for the task; rethrows its exception (once).
  void join();

 private:
  std::function<void()> stop_;
  std::exception_ptr error_;
  std::thread thread_;
};

}  // namespace cfm
