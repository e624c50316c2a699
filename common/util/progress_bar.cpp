#include "common/util/progress_bar.h"

#include <fmt/format.h>
#include <unistd.h>

namespace cfm {
namespace {

std::string format_duration(double seconds) {
  if (seconds < 0 || seconds > 360000) return "--:--";
  int s = static_cast<int>(seconds + 0.5);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{:02}:{:02}", s / 60, s % 60);
}

}  // namespace

ProgressBar::ProgressBar(std::string label, std::size_t total, std::FILE* stream)
    : label_(std::move(label)),
      total_(total),
      stream_(stream),
      interactive_(stream != nullptr && isatty(fileno(stream)) != 0),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() { finish(); }

void ProgressBar::advance(std::size_t count, std::size_t failed) {
  std::lock_guard<std::mutex> lock(mutex_);
  done_ += count;
  failed_ += failed;
  draw_locked(false);
}

void ProgressBar::finish() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (finished_) return;
  draw_locked(true);
  finished_ = true;
}

void ProgressBar::set_note(std::string note) {
  std::lock_guard<std::mutex> lock(mutex_);
  note_ = std::move(note);
}

void ProgressBar::draw_locked(bool final_draw) {
  if (!stream_) return;
  auto now = std::chrono::steady_clock::now();
  double elapsed = std::chrono::duration<double>(now - start_).count();
  double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / static_cast<double>(total_);
  if (interactive_) {
    // Redraw at most 10 times a second, except for the final state.
    if (!final_draw && now - last_draw_ < std::chrono::milliseconds(100)) return;
    last_draw_ = now;
  } else {
    int decile = static_cast<int>(fraction * 10);
    if (decile == last_decile_ && (!final_draw || done_ == last_printed_done_)) return;
    last_decile_ = decile;
    last_printed_done_ = done_;
  }
  double eta = done_ == 0 ? -1 : elapsed / static_cast<double>(done_) * static_cast<double>(total_ - done_);
  constexpr int kWidth = 30;
  int filled = static_cast<int>(fraction * kWidth);
  std::string bar = std::string(filled, '#') + std::string(kWidth - filled, '.');
  std::string failed = failed_ ? fmt::format(", {} failed", failed_) : "";
  if (!note_.empty()) failed += ", " + note_;
  std::string line = fmt::format("{} [{}] {}/{}{} {} elapsed, ETA {}", label_, bar, done_, total_, failed,
                                 format_duration(elapsed), final_draw ? "00:00" : format_duration(eta));
  if (interactive_) {
    fmt::print(stream_, "\r{}\x1b[K{}", line, final_draw ? "\n" : "");
  } else {
    fmt::print(stream_, "{}\n", line);
  }
  std::fflush(stream_);
}

}  // namespace cfm
