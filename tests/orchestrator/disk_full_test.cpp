// The disk holding the run folders fills up mid-job (a 120 KiB tmpfs): the job fails with an error that
// names the file it could not write and says why, `cfm run` ends normally, and the database (on another
// disk) stays intact. Needs root for the mount (skipped otherwise).
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "common/store/sqlite.h"
#include "orchestrator/tiny_cfm_inputs.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

// A small tmpfs mounted for the test's lifetime.
struct SmallDisk {
  explicit SmallDisk(const std::string& at) : path(at) {
    fs::create_directories(at);
    mounted = test::run_command("mount -t tmpfs -o size=120k cfm-test-full " + at).exit_code == 0;
  }
  ~SmallDisk() {
    if (mounted) test::run_command("umount " + path);
  }
  std::string path;
  bool mounted = false;
};

TEST(DiskFull, TheJobFailsNamingTheFileAndTheDatabaseStaysIntact) {
  if (geteuid() != 0) GTEST_SKIP() << "needs root to mount a small tmpfs";
  test::TempDir dir;
  SmallDisk disk(dir / "full");
  if (!disk.mounted) GTEST_SKIP() << "cannot mount a tmpfs here";
  ASSERT_TRUE(test::write_tiny_cfm_inputs(dir, 2));
  std::ofstream(dir / "grid.yaml") << "name: full\nmax_attempts: 1\nfixed:\n"
                                   << test::kTinyCfmFixedSettings << "  epochs: 1\n";
  auto run =
      test::run_command(fmt::format("{} run {} --db {} --runs {} --workers 1 --no-progress", CFM_BINARY,
                                    dir / "grid.yaml", dir / "r.sqlite", dir / "full/runs"));
  EXPECT_EQ(run.exit_code, 1) << run.output;  // cfm run ends normally and says a job failed
  EXPECT_NE(run.output.find("0 succeeded, 1 failed"), std::string::npos) << run.output;
  Database db(dir / "r.sqlite");
  Statement job = db.prepare("SELECT state, COALESCE(error, '') FROM jobs");
  ASSERT_TRUE(job.step());
  EXPECT_EQ(job.text(0), "failed");
  const std::string error = job.text(1);
  EXPECT_NE(error.find(disk.path + "/runs/"), std::string::npos) << error;       // the file
  EXPECT_NE(error.find("No space left on device"), std::string::npos) << error;  // and why
  Statement check = db.prepare("PRAGMA integrity_check");
  ASSERT_TRUE(check.step());
  EXPECT_EQ(check.text(0), "ok");
}

}  // namespace
}  // namespace cfm
