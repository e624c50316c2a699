#include "common/util/stopwatch.h"

#include <gtest/gtest.h>

#include <thread>

namespace cfm {
namespace {

TEST(Stopwatch, MeasuresAndRestarts) {
  Stopwatch watch;
  std::this_thread::sleep_for(std::chrono::milliseconds(60));
  double first = watch.seconds();
  EXPECT_GE(first, 0.06);
  EXPECT_LT(first, 5.0);
  double lap = watch.restart();
  EXPECT_GE(lap, first);
  EXPECT_LT(watch.seconds(), lap);  // started again
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_GE(watch.seconds(), 0.02);
}

}  // namespace
}  // namespace cfm
