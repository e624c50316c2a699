// `cfm run GRID.yaml`: the whole grid on this machine. An embedded coordinator listens on loopback with
// a fresh random token, local `cfm worker` processes (one CPU slot each) run the jobs, and a progress
// bar follows the database until every job has succeeded or failed for good. Re-running skips what
// succeeded before; killing `cfm run` loses nothing already finished.
#pragma once

#include <string>
#include <vector>

#include "common/grid/grid_spec.h"
#include "orchestrator/job_store.h"

namespace cfm {

struct LocalRunOptions {
  std::string db_path;
  std::string runs_root;
  std::string cache_dir;   // shared feature cache ("" = <runs_root>/feature-cache)
  std::string cfm_binary;  // executable for workers and jobs
  int workers = 2;
  std::vector<std::string>
      devices;  // one local worker per entry ("cpu", "cuda:N"); empty: `workers` cpu workers
  bool force = false;
  bool progress = true;
  bool allow_network_fs = false;  // a database on NFS, Lustre, ... (common/store/database_owner.h)
};

StateCounts run_grid_locally(const Grid& grid, const LocalRunOptions& options);

}  // namespace cfm
