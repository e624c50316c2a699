#include "common/data/preprocess/batch_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <mutex>

#include "common/util/error.h"
#include "common/util/progress_bar.h"
#include "common/util/threads.h"

namespace cfm {

BatchReport run_file_batch(const std::vector<std::string>& items, unsigned threads, const std::string& label,
                           bool progress, const std::function<FileResult(const std::string&)>& process) {
  auto start = std::chrono::steady_clock::now();
  BatchReport report;
  report.total = items.size();
  std::mutex mutex;
  ProgressBar bar(label, items.size(), progress ? stderr : nullptr);
  // A file's failure is recorded with its reason; the other files go on (no exception leaves a task).
  parallel_for(items.size(), threads, [&](std::size_t i) {
    FileResult result;
    std::string failure;
    try {
      result = process(items[i]);
    } catch (const FileError& e) {
      failure = e.what();
    } catch (const std::exception& e) {
      failure = items[i] + ": " + e.what();
    }
    std::lock_guard<std::mutex> lock(mutex);
    if (failure.empty()) {
      ++report.done;
      report.points_in += result.points_in;
      report.points_out += result.points_out;
    } else {
      report.failures.push_back({items[i], failure});
    }
    if (progress) bar.advance(1, failure.empty() ? 0 : 1);
  });
  if (progress) bar.finish();
  std::sort(report.failures.begin(), report.failures.end(),
            [](const FileFailure& a, const FileFailure& b) { return a.path < b.path; });
  report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return report;
}

std::string format_batch_report(const std::string& title, const BatchReport& r) {
  double kept =
      r.points_in ? 100.0 * static_cast<double>(r.points_out) / static_cast<double>(r.points_in) : 0.0;
  std::string text = fmt::format("{}: {} of {} files done, {} failed, {:.1f} s\n", title, r.done, r.total,
                                 r.failures.size(), r.seconds);
  text += fmt::format("  points: {} in, {} kept ({:.1f} %)\n", r.points_in, r.points_out, kept);
  for (const FileFailure& f : r.failures) text += "  FAILED " + f.reason + "\n";
  return text;
}

}  // namespace cfm
