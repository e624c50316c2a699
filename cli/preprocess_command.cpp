#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "common/data/preprocess/eyecandies_convert.h"
#include "common/data/preprocess/mvtec_dataset_preprocess.h"
#include "common/util/error.h"

namespace cfm::cli {

void add_preprocess_command(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("preprocess",
                                     "Prepare a real dataset as CFM's official scripts intend (bugs fixed)");
  cmd->require_subcommand(1);

  auto mvtec = std::make_shared<MvtecDatasetOptions>();
  auto in_place = std::make_shared<bool>(false);
  CLI::App* m =
      cmd->add_subcommand("mvtec", "MVTec 3D-AD: background plane removal, square padding, largest cluster");
  m->add_option("--in", mvtec->in, "Dataset root (<category>/<split>/<defect>/xyz/*.tiff)")->required();
  auto* out = m->add_option("--out", mvtec->out, "Output root (a full copy; only the TIFFs change)");
  auto* place = m->add_flag("--in-place", *in_place, "Rewrite the TIFFs under --in");
  out->excludes(place);
  m->add_option("--threads", mvtec->threads, "Worker threads")->capture_default_str();
  m->add_option("--seed", mvtec->params.seed, "RANSAC seed")->capture_default_str();
  m->add_flag("!--no-progress", mvtec->progress, "Do not draw a progress bar");
  m->callback([mvtec, in_place] {
    if (mvtec->out.empty() && !*in_place) throw UsageError("preprocess mvtec: give --out DIR or --in-place");
    BatchReport report = preprocess_mvtec_dataset(*mvtec);
    fmt::print("{}", format_batch_report("preprocess mvtec", report));
    if (!report.failures.empty()) exit_code() = 1;
  });

  auto eyecandies = std::make_shared<EyecandiesConvertOptions>();
  CLI::App* e = cmd->add_subcommand("eyecandies",
                                    "Eyecandies: depth + pose to point-cloud TIFFs in the MVTec-like layout");
  e->add_option("--in", eyecandies->in, "Raw Eyecandies root (<Category>/{train,test_public}/data)")
      ->required();
  e->add_option("--out", eyecandies->out, "Output root")->required();
  e->add_option("--threads", eyecandies->threads, "Worker threads")->capture_default_str();
  e->add_flag("!--no-progress", eyecandies->progress, "Do not draw a progress bar");
  e->callback([eyecandies] {
    BatchReport report = convert_eyecandies_dataset(*eyecandies);
    fmt::print("{}", format_batch_report("preprocess eyecandies", report));
    if (!report.failures.empty()) exit_code() = 1;
  });
}

}  // namespace cfm::cli
