#include "common/util/threads.h"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <utility>
#include <vector>

namespace cfm {

void parallel_for(std::size_t count, unsigned threads, const std::function<void(std::size_t)>& fn) {
  std::atomic<std::size_t> next{0};
  std::exception_ptr error;
  std::mutex error_mutex;
  auto work = [&] {
    for (std::size_t i = next++; i < count; i = next++) {
      try {
        fn(i);
      } catch (...) {
        std::lock_guard<std::mutex> lock(error_mutex);
        if (!error) error = std::current_exception();
        next = count;  // no new items; the ones already running finish
      }
    }
  };
  const unsigned used =
      std::max(1u, std::min<unsigned>(threads, static_cast<unsigned>(std::max<std::size_t>(count, 1))));
  std::vector<std::thread> pool;
  for (unsigned t = 1; t < used; ++t) pool.emplace_back(work);
  work();  // the calling thread takes its share too
  for (std::thread& t : pool) t.join();
  if (error) std::rethrow_exception(error);
}

BackgroundThread::BackgroundThread(std::function<void()> task, std::function<void()> stop)
    : stop_(std::move(stop)), thread_([this, task = std::move(task)] {
        try {
          task();
        } catch (...) {
          error_ = std::current_exception();
        }
      }) {}

BackgroundThread::~BackgroundThread() {
  if (!thread_.joinable()) return;
  if (stop_) {
    try {
      stop_();
    } catch (...) {  // a destructor must not throw; joining is what matters here
    }
  }
  thread_.join();
}

void BackgroundThread::join() {
  if (thread_.joinable()) thread_.join();
  if (std::exception_ptr error = std::exchange(error_, nullptr)) std::rethrow_exception(error);
}

}  // namespace cfm
