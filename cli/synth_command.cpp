#include <fmt/format.h>

#include <memory>

#include "commands.h"
#include "common/data/synth/synth_writer.h"

namespace cfm::cli {

void add_synth_command(CLI::App& app) {
  auto options = std::make_shared<synth::SynthOptions>();
  auto format = std::make_shared<std::string>("mvtec");
  CLI::App* cmd =
      app.add_subcommand("synth", "Write a synthetic dataset in the MVTec 3D-AD (or raw Eyecandies) layout");
  cmd->add_option("--out", options->out, "Output folder")->required();
  cmd->add_option("--categories", options->categories, "Number of object categories")->capture_default_str();
  cmd->add_option("--size", options->size, "Image height in pixels, a multiple of 100 (MVTec format)")
      ->capture_default_str();
  cmd->add_option("--train", options->train, "Training samples per category")->capture_default_str();
  cmd->add_option("--validation", options->validation, "Validation samples per category")
      ->capture_default_str();
  cmd->add_option("--test", options->test, "Test samples per test folder (good and each defect type)")
      ->capture_default_str();
  cmd->add_option("--seed", options->seed, "Random seed; the same seed gives the same files")
      ->capture_default_str();
  cmd->add_option("--format", *format, "mvtec or eyecandies")
      ->check(CLI::IsMember({"mvtec", "eyecandies"}))
      ->capture_default_str();
  cmd->add_option("--threads", options->threads, "Worker threads")->capture_default_str();
  cmd->add_flag("!--no-progress", options->progress, "Do not draw a progress bar");
  cmd->callback([options, format] {
    options->format =
        *format == "eyecandies" ? synth::DatasetFormat::Eyecandies : synth::DatasetFormat::Mvtec;
    synth::SynthSummary summary = synth::write_synthetic_dataset(*options);
    fmt::print("{}", synth::format_summary(*options, summary));
  });
}

}  // namespace cfm::cli
