#include "common/util/whole_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <iterator>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/util/error.h"
#include "test_support.h"

namespace fs = std::filesystem;

namespace cfm {
namespace {

TEST(WholeFile, TemporaryNamesAreBesideThePathAndNeverRepeat) {
  std::set<std::string> names;
  for (int i = 0; i < 10000; ++i) {
    std::string name = temporary_path_for("/shared/cache/entry.pth");
    EXPECT_EQ(name.rfind("/shared/cache/entry.pth.", 0), 0u) << name;
    EXPECT_EQ(name.substr(name.size() - 8), ".partial") << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), 10000u);
}

// Processes on several nodes writing one file of a shared disk at once: no write fails, the file is always
// one writer's whole text, and no temporary stays behind. (With one shared temporary name, one writer's
// rename took the other's temporary away and the other failed; this loop met that within milliseconds.)
TEST(WholeFile, WritersOfOneFileAtOnceAllSucceedAndTheLastWholeTextWins) {
  test::TempDir dir;
  const std::string path = dir / "shared.json";
  constexpr int kWriters = 4, kWrites = 400;
  std::vector<std::string> texts, failures(kWriters);
  for (int w = 0; w < kWriters; ++w) texts.push_back(std::string(20000, static_cast<char>('a' + w)) + "\n");
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w)
    writers.emplace_back([&, w] {
      try {
        for (int i = 0; i < kWrites; ++i) write_whole_file(path, texts[static_cast<std::size_t>(w)]);
      } catch (const std::exception& e) {
        failures[static_cast<std::size_t>(w)] = e.what();
      }
    });
  for (std::thread& writer : writers) writer.join();
  for (const std::string& failure : failures) EXPECT_EQ(failure, "");
  const std::string written = read_whole_file(path);
  EXPECT_NE(std::find(texts.begin(), texts.end(), written), texts.end()) << "a mixed or cut file";
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(WholeFile, AMissingFolderIsAnErrorNamingTheFileAndLeavesNothing) {
  test::TempDir dir;
  const std::string path = dir / "absent/result.json";
  try {
    write_whole_file(path, "{}\n");
    FAIL() << "written into a missing folder";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(path), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos) << e.what();
  }
  EXPECT_TRUE(fs::is_empty(dir.path()));
}

// Bytes go through as given (a NUL, a byte above 127), and a file that cannot be read is an error naming it
// and what it should have held.
TEST(WholeFile, BytesRoundTripAndAMissingFileIsAnErrorNamingIt) {
  test::TempDir dir;
  const std::string bytes("\x93NUMPY\0\xff end", 14);
  write_whole_file(dir / "a.npy", bytes);
  EXPECT_EQ(read_whole_file(dir / "a.npy"), bytes);
  try {
    read_whole_file(dir / "absent.npy", "the .npy array");
    FAIL() << "read a missing file";
  } catch (const IoError& e) {
    EXPECT_NE(std::string(e.what()).find(dir / "absent.npy"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("cannot read the .npy array: No such file or directory"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace cfm
