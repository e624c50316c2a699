// The `cfm` sub-commands. Each add_*_command registers its options on the app and a callback that runs it;
// callbacks throw cfm::Error on failure, which main() prints as one line.
#pragma once

#include <CLI/CLI.hpp>

namespace cfm::cli {

void add_synth_command(CLI::App& app);
void add_preprocess_command(CLI::App& app);
void add_check_command(CLI::App& app);
void add_features_command(CLI::App& app);
void add_backbones_command(CLI::App& app);
void add_metrics_command(CLI::App& app);
void add_train_eval_commands(CLI::App& app);
void add_grid_commands(CLI::App& app);
void add_results_commands(CLI::App& app);

// Exit code a sub-command asks main() to return (e.g. 1 when a batch had failures).
int& exit_code();

}  // namespace cfm::cli
