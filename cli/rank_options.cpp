#include "rank_options.h"

namespace cfm::cli {

void add_rank_options(CLI::App* cmd, RankSetup& r) {
  cmd->add_option("--world-size", r.world_size, "Ranks (processes, one per device) that share the work")
      ->check(CLI::PositiveNumber);
  cmd->add_option("--rank", r.rank, "This process's rank, 0 .. world size - 1")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--rendezvous", r.rendezvous,
                  "File through which the ranks meet (the same for all; a fresh name per run)");
  cmd->add_option("--rank-timeout", r.timeout_seconds,
                  "Seconds a rank waits for the others (rendezvous, each collective) before failing")
      ->check(CLI::PositiveNumber);
}

}  // namespace cfm::cli
