// The flags that make a process one rank of a multi-device run (`cfm train`, `cfm job`):
// --world-size, --rank, --rendezvous, --rank-timeout (docs/architecture.md §4).
#pragma once

#include <CLI/CLI.hpp>

#include "common/distributed/rank_setup.h"

namespace cfm::cli {

void add_rank_options(CLI::App* cmd, RankSetup& ranks);

}  // namespace cfm::cli
