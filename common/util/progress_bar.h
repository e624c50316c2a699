// A one-line terminal progress bar (Debian has no C++ progress-bar library). Thread-safe: workers call
// advance() from any thread. A null stream disables output. On a non-terminal stream it prints a line every
// 10 % instead of redrawing.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdio>
#include <mutex>
#include <string>

namespace cfm {

class ProgressBar {
 public:
  ProgressBar(std::string label, std::size_t total, std::FILE* stream = stderr);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Records `count` more finished items; `failed` of them failed.
  void advance(std::size_t count = 1, std::size_t failed = 0);
  // Shown after the counts, e.g. "2 running" (redrawn at the next advance()).
  void set_note(std::string note);
  // Draws the final state and ends the line. Called by the destructor if not called before.
  void finish();

 private:
  void draw_locked(bool final_draw);

  std::string label_, note_;
  std::size_t total_;
  std::size_t done_ = 0;
  std::size_t failed_ = 0;
  std::FILE* stream_;
  bool interactive_;
  bool finished_ = false;
  int last_decile_ = -1;
  std::size_t last_printed_done_ = static_cast<std::size_t>(-1);
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
  std::mutex mutex_;
};

}  // namespace cfm
