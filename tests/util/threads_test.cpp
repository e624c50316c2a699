// The thread helpers every pool in cfm uses: every item runs once, the first error reaches the caller
// after every thread has finished, and a background thread is stopped and joined whatever happens on the
// waiting side.
#include "common/util/threads.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>
#include <stdexcept>
#include <thread>
#include <vector>

namespace cfm {
namespace {

TEST(ParallelFor, RunsEveryItemOnceOnSeveralThreads) {
  std::vector<std::atomic<int>> runs(1000);
  std::mutex mutex;
  std::set<std::thread::id> threads;
  parallel_for(runs.size(), 4, [&](std::size_t i) {
    ++runs[i];
    std::this_thread::sleep_for(std::chrono::microseconds(50));
    std::lock_guard<std::mutex> lock(mutex);
    threads.insert(std::this_thread::get_id());
  });
  for (std::size_t i = 0; i < runs.size(); ++i) EXPECT_EQ(runs[i], 1) << i;
  EXPECT_GT(threads.size(), 1u);
  parallel_for(0, 4, [](std::size_t) { FAIL() << "no item to run"; });
}

TEST(ParallelFor, TheFirstErrorStopsTheRunAndReachesTheCaller) {
  std::atomic<int> started{0}, running{0};
  try {
    parallel_for(10000, 3, [&](std::size_t i) {
      ++started;
      ++running;
      if (i == 5) throw std::runtime_error("item 5 is corrupt");
      std::this_thread::sleep_for(std::chrono::microseconds(100));
      --running;
    });
    ADD_FAILURE() << "the error was lost";
  } catch (const std::runtime_error& e) {
    EXPECT_STREQ(e.what(), "item 5 is corrupt");
  }
  EXPECT_EQ(running, 1);      // every other task had finished when the caller got the error
  EXPECT_LT(started, 10000);  // and no new items were handed out after it
  // Not only std::exception: anything thrown arrives.
  EXPECT_THROW(parallel_for(3, 2, [](std::size_t) { throw 42; }), int);
}

TEST(BackgroundThread, JoinRethrowsTheTasksException) {
  BackgroundThread failing([] { throw std::runtime_error("coordinator crashed"); });
  EXPECT_THROW(failing.join(), std::runtime_error);
  EXPECT_NO_THROW(failing.join());  // once
  std::atomic<bool> ran{false};
  BackgroundThread fine([&] { ran = true; });
  fine.join();
  EXPECT_TRUE(ran);
}

TEST(BackgroundThread, AnErrorOnTheWaitingSideStopsAndJoinsTheTask) {
  std::atomic<bool> stop{false}, finished{false};
  try {
    BackgroundThread server(
        [&] {
          while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(1));
          finished = true;
        },
        [&] { stop = true; });
    throw std::runtime_error("the monitor failed");  // without the helper: a joinable std::thread destroyed
  } catch (const std::runtime_error&) {
  }
  EXPECT_TRUE(finished);  // stopped, then joined, by the destructor
}

}  // namespace
}  // namespace cfm
