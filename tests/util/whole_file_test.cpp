#include "common/util/whole_file.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
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

std::string content_of(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

TEST(TextFile, TemporaryNamesAreBesideThePathAndNeverRepeat) {
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
TEST(TextFile, WritersOfOneFileAtOnceAllSucceedAndTheLastWholeTextWins) {
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
  const std::string written = content_of(path);
  EXPECT_NE(std::find(texts.begin(), texts.end(), written), texts.end()) << "a mixed or cut file";
  EXPECT_EQ(std::distance(fs::directory_iterator(dir.path()), fs::directory_iterator()), 1);
}

TEST(TextFile, AMissingFolderIsAnErrorNamingTheFileAndLeavesNothing) {
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

}  // namespace
}  // namespace cfm
