// An experiment grid (docs/architecture.md §3) from YAML:
//
//   name: demo                    # grid name (default: the file name without .yaml)
//   max_attempts: 3               # per job (default 3)
//   fixed: {dataset: data/demo, preset: demo, epochs: 30, ...}
//   axes: {category: [cookie, bagel], layers_kept: [4, 2], seed: [115, 116]}
//   exclude: [{category: bagel, layers_kept: 2}]    # drop cells matching every listed value
//   include: [{category: dowel, layers_kept: 4, seed: 115}]   # extra cells (fixed settings apply)
//
// The grid is the cartesian product of the axes (in file order, last axis fastest), minus excluded
// cells, plus included ones. Relative paths are resolved against the YAML file's folder. Every error
// names the file, the line and the offending key.
#pragma once

#include <string>
#include <vector>

#include "common/grid/job_spec.h"

namespace cfm {

struct Grid {
  std::string name;
  std::string yaml;  // the file's text, stored with the grid
  int max_attempts = 3;
  std::vector<std::string> axes;  // axis names in file order
  std::vector<JobSpec> jobs;      // resolved, with keys
};

// The devices the grid's largest job runs on (devices_per_job; 1 when no job sets it): what a worker's
// slots must hold for every job of the grid to find one.
int largest_devices_per_job(const Grid& grid);

// `with_keys` false: validate and resolve only, without reading weights and datasets (keys left empty).
Grid load_grid(const std::string& path, bool with_keys = true);

// Same, from text (`origin` names it in messages; paths resolve against `base_dir`).
Grid parse_grid(const std::string& yaml, const std::string& origin, const std::string& base_dir,
                const std::string& default_name, bool with_keys = true);

}  // namespace cfm
