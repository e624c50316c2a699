// Which rank of a multi-device run a process is, and how it meets the others (common/distributed/
// rank_group.h): plain values, free of LibTorch, for the command lines and job contexts that carry them.
#pragma once

#include <string>

namespace cfm {

struct RankSetup {
  int rank = 0;
  int world_size = 1;
  std::string rendezvous;        // FileStore path, the same for every rank, fresh for every attempt
  double timeout_seconds = 300;  // rendezvous and each collective
};

}  // namespace cfm
