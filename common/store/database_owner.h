// One coordinator per results database, and that database on a local disk.
//
// SQLite lets several processes write one file: two coordinators on it would lease the same jobs twice.
// `cfm serve` and `cfm run` therefore hold an exclusive lock (flock) on "<database>.coordinator.lock" while
// they run, and a second one stops at once, naming the first one's host and process; the kernel drops the
// lock when its process ends, however it ends. And SQLite's write-ahead log keeps its index in shared
// memory beside the file, which works only among processes of one host on a local file system: on NFS,
// SMB, Lustre, GPFS, CephFS, AFS or 9p readers can see a torn database, so such a location is refused
// unless the operator insists.
#pragma once

#include <string>

namespace cfm {

class DatabaseOwner {
 public:
  // Throws UsageError when the database's folder is on a network file system (unless `allow_network_fs`)
  // or another process holds the lock; IoError when the lock file cannot be made.
  DatabaseOwner(const std::string& db_path, bool allow_network_fs);
  ~DatabaseOwner();
  DatabaseOwner(const DatabaseOwner&) = delete;
  DatabaseOwner& operator=(const DatabaseOwner&) = delete;

 private:
  int descriptor_ = -1;
};

// The name of a network file system's statfs type ("nfs", "lustre", ...), "" for any other.
std::string network_file_system_name(long statfs_type);

}  // namespace cfm
