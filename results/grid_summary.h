// The table `cfm run` prints when a grid ends: one row per job in grid order with its axis values,
// state and headline metrics, straight from the database rows. (`cfm results` builds the comparison
// tables across seeds.)
#pragma once

#include <string>

namespace cfm {

class Database;

std::string grid_summary_table(Database& db, const std::string& grid);

// Failed jobs of the grid with their last error, one per line ("" when none failed).
std::string grid_failures(Database& db, const std::string& grid);

}  // namespace cfm
