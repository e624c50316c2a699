// Wall-clock time of one stage, for the per-stage timings a result records (load, extract, train,
// infer, metrics, total): the one way cfm measures durations, instead of clock arithmetic at each site.
//
//   Stopwatch total;
//   Stopwatch stage;
//   load();
//   timings["load"] = stage.restart();   // seconds since the last start, and starts again
//   timings["total"] = total.seconds();
#pragma once

#include <chrono>

namespace cfm {

class Stopwatch {
 public:
  Stopwatch() : start_(Clock::now()) {}

  double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

  double restart() {
    double elapsed = seconds();
    start_ = Clock::now();
    return elapsed;
  }

 private:
  using Clock = std::chrono::steady_clock;
  Clock::time_point start_;
};

}  // namespace cfm
