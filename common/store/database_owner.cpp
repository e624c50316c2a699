#include "common/store/database_owner.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "common/util/error.h"
#include "common/util/host_name.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

// What the holder wrote into the lock file ("pid 123 on node7"), or "" when it cannot be read.
std::string holder_of(int descriptor) {
  char text[200] = {};
  ssize_t n = ::pread(descriptor, text, sizeof text - 1, 0);
  std::string holder(text, n > 0 ? static_cast<std::size_t>(n) : 0);
  return holder.substr(0, holder.find('\n'));
}

// Refuses a database whose folder is on a network file system, unless `allow`.
void check_database_on_local_disk(const std::string& db_path, bool allow) {
  const fs::path folder = fs::absolute(db_path).parent_path();
  struct statfs info {};
  if (::statfs(folder.c_str(), &info) != 0) return;  // a missing folder is the database's own error
  const std::string name = network_file_system_name(static_cast<long>(info.f_type));
  if (name.empty() || allow) return;
  throw UsageError(fmt::format(
      "the results database {} is on a network file system ({}): SQLite's write-ahead log needs the "
      "coordinator host's local disk (readers elsewhere can see a torn database); put --db on a local disk "
      "(the run folders may stay shared), or pass --allow-network-fs if you know this file system is safe",
      db_path, name));
}

}  // namespace

DatabaseOwner::DatabaseOwner(const std::string& db_path, bool allow_network_fs) {
  check_database_on_local_disk(db_path, allow_network_fs);
  const std::string lock_path = db_path + ".coordinator.lock";
  descriptor_ = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (descriptor_ < 0)
    throw IoError(lock_path,
                  std::string("cannot create the coordinator's lock file: ") + std::strerror(errno));
  if (::flock(descriptor_, LOCK_EX | LOCK_NB) != 0) {
    const int error = errno;
    const std::string holder = holder_of(descriptor_);
    ::close(descriptor_);
    descriptor_ = -1;
    if (error == EWOULDBLOCK)
      throw UsageError(
          fmt::format("another coordinator ({}) serves the results database {}; stop it first, or "
                      "give this one another --db",
                      holder.empty() ? "its process holds " + lock_path : holder, db_path));
    throw IoError(lock_path, std::string("cannot lock: ") + std::strerror(error));
  }
  const std::string holder = fmt::format("pid {} on {}\n", ::getpid(), host_name());
  if (::ftruncate(descriptor_, 0) != 0 || ::pwrite(descriptor_, holder.data(), holder.size(), 0) < 0) {
    // The lock holds without the note: only the message to a second coordinator is poorer.
  }
}

DatabaseOwner::~DatabaseOwner() {
  if (descriptor_ >= 0) ::close(descriptor_);  // releases the flock
}

std::string network_file_system_name(long statfs_type) {
  switch (static_cast<unsigned long>(statfs_type) & 0xffffffffUL) {
    case NFS_SUPER_MAGIC:
      return "nfs";
    case SMB_SUPER_MAGIC:
      return "smb";
    case CIFS_SUPER_MAGIC:
      return "cifs";
    case SMB2_SUPER_MAGIC:
      return "smb2";
    case AFS_SUPER_MAGIC:
    case AFS_FS_MAGIC:
      return "afs";
    case CEPH_SUPER_MAGIC:
      return "cephfs";
    case V9FS_MAGIC:
      return "9p";
    case 0x0bd00bd0:
      return "lustre";  // not in linux/magic.h: Lustre's and GPFS's own headers
    case 0x47504653:
      return "gpfs";
    default:
      return "";
  }
}

}  // namespace cfm
