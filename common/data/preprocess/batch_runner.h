// Runs one function over many files on a few threads, with a progress bar, and collects a summary:
// files done, points in/out, and every failure with its reason. One bad file never stops the batch.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace cfm {

struct FileFailure {
  std::string path;
  std::string reason;
};

struct FileResult {
  std::size_t points_in = 0;
  std::size_t points_out = 0;
};

struct BatchReport {
  std::size_t total = 0;
  std::size_t done = 0;
  std::size_t points_in = 0;
  std::size_t points_out = 0;
  std::vector<FileFailure> failures;  // sorted by path
  double seconds = 0;
};

BatchReport run_file_batch(const std::vector<std::string>& items, unsigned threads, const std::string& label,
                           bool progress, const std::function<FileResult(const std::string&)>& process);

// Multi-line human summary; lists every failure.
std::string format_batch_report(const std::string& title, const BatchReport& report);

}  // namespace cfm
