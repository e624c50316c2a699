#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "common/data/dataset.h"

namespace cfm::cli {

void add_check_command(CLI::App& app) {
  struct Options {
    std::string data;
    bool headers = true;
    bool decode = false;
    unsigned threads = 2;
  };
  auto o = std::make_shared<Options>();
  CLI::App* cmd = app.add_subcommand(
      "check", "List a dataset and report every problem found (missing files, bad TIFFs, size mismatches)");
  cmd->add_option("--data", o->data, "Dataset root in the MVTec 3D-AD layout")->required();
  cmd->add_flag("!--no-headers", o->headers, "Only list folders; do not open the files");
  cmd->add_flag("--decode", o->decode,
                "Also decode every image and point cloud as a job would (truncation, corruption, NaN/Inf, "
                "empty clouds)");
  cmd->add_option("--threads", o->threads, "Worker threads")->capture_default_str();
  cmd->callback([o] {
    Dataset dataset(o->data);
    ScanReport report = dataset.scan(o->headers, o->decode, o->threads);
    fmt::print("dataset {}: {} categories, {} samples ({} anomalous)\n", o->data, report.categories.size(),
               report.samples, report.anomalous);
    for (const std::string& category : report.categories) {
      std::string splits;
      for (const std::string& split : dataset.splits(category))
        splits += (splits.empty() ? "" : ", ") + split;
      fmt::print("  {:<20} {}\n", category, splits);
    }
    if (report.ok()) {
      fmt::print("no problems found\n");
      return;
    }
    fmt::print("{} problem(s):\n", report.problems.size());
    for (const DatasetProblem& p : report.problems) fmt::print("  {}: {}\n", p.path, p.problem);
    exit_code() = 1;
  });
}

}  // namespace cfm::cli
