#include "common/store/database_owner.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <string>

#include "common/util/error.h"
#include "test_support.h"

namespace cfm {
namespace {

TEST(DatabaseOwner, ASecondOwnerOfTheSameDatabaseIsRefusedUntilTheFirstLets) {
  test::TempDir dir;
  const std::string db = dir / "results.sqlite";
  {
    DatabaseOwner first(db, false);
    try {
      DatabaseOwner second(db, false);
      FAIL() << "two owners of one database";
    } catch (const UsageError& e) {
      const std::string message = e.what();
      EXPECT_NE(message.find("another coordinator (pid " + std::to_string(::getpid()) + " on "),
                std::string::npos)
          << message;
      EXPECT_NE(message.find("serves the results database " + db), std::string::npos) << message;
    }
    DatabaseOwner other_database(dir / "other.sqlite", false);  // another file is another database
  }
  DatabaseOwner again(db, false);  // the first one is gone: its lock went with it
}

TEST(DatabaseOwner, NetworkFileSystemsAreKnownByTheirStatfsType) {
  EXPECT_EQ(network_file_system_name(0x6969), "nfs");
  EXPECT_EQ(network_file_system_name(0x0bd00bd0), "lustre");
  EXPECT_EQ(network_file_system_name(0x47504653), "gpfs");
  EXPECT_EQ(network_file_system_name(0x00c36400), "cephfs");
  EXPECT_EQ(network_file_system_name(static_cast<long>(0xff534d42)), "cifs");
  EXPECT_EQ(network_file_system_name(static_cast<long>(0xfffffffffe534d42)), "smb2");  // a sign-extended type
  EXPECT_EQ(network_file_system_name(0xef53), "");                                     // ext4
  EXPECT_EQ(network_file_system_name(0x01021994), "");                                 // tmpfs
  EXPECT_EQ(network_file_system_name(0x58465342), "");                                 // xfs
}

TEST(DatabaseOwner, ALocalDiskNeedsNoPermission) {
  test::TempDir dir;  // the tests' temporary folder is local
  EXPECT_NO_THROW(DatabaseOwner(dir / "results.sqlite", false));
}

}  // namespace
}  // namespace cfm
