// cfm: one executable with sub-commands, deployed the same way everywhere (laptop, container, Slurm node).
#include <fmt/format.h>

#include <cstdlib>

#include "commands.h"
#include "common/cfm/cfm_method.h"
#include "common/memory_bank/memory_bank_method.h"
#include "common/util/error.h"

namespace cfm::cli {

int& exit_code() {
  static int code = 0;
  return code;
}

// CFM_CHECK_ARGS=1: parse and validate the command line (unknown flags, missing required options, bad
// types) without running anything; used to check the commands in docker-compose.yml and scripts. The
// top-level parse-complete callback runs after every check and before any sub-command's callback, so
// throwing there stops the run while the callbacks (which own the options' storage) stay alive.
struct ArgumentsChecked {};

void stop_after_checking_arguments(CLI::App& app) {
  app.parse_complete_callback([] { throw ArgumentsChecked{}; });
}

}  // namespace cfm::cli

int main(int argc, char** argv) {
  CLI::App app{
      "cfm: Crossmodal Feature Mapping (Costanzino et al., CVPR 2024) for multimodal industrial anomaly "
      "detection.\n"
      "See `cfm <command> --help`.",
      "cfm"};
  cfm::register_cfm_method();
  cfm::register_memory_bank_method();
  app.require_subcommand(1);
  app.failure_message(CLI::FailureMessage::simple);
  cfm::cli::add_synth_command(app);
  cfm::cli::add_preprocess_command(app);
  cfm::cli::add_check_command(app);
  cfm::cli::add_features_command(app);
  cfm::cli::add_backbones_command(app);
  cfm::cli::add_metrics_command(app);
  cfm::cli::add_train_eval_commands(app);
  cfm::cli::add_grid_commands(app);
  cfm::cli::add_results_commands(app);
  if (std::getenv("CFM_CHECK_ARGS")) cfm::cli::stop_after_checking_arguments(app);
  try {
    app.parse(argc, argv);
  } catch (const cfm::cli::ArgumentsChecked&) {
    return 0;
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForAllHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    fmt::print(stderr, "cfm: error: {} (see cfm --help)\n", e.what());
    return 2;
  } catch (const cfm::UsageError& e) {
    fmt::print(stderr, "cfm: error: {}\n", e.what());
    return 2;
  } catch (const cfm::Error& e) {
    fmt::print(stderr, "cfm: error: {}\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    fmt::print(stderr, "cfm: error: {}\n", e.what());
    return 1;
  }
  return cfm::cli::exit_code();
}
