// Helpers shared by the tests: a temporary folder per test, and running commands.
#pragma once

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>

namespace cfm::test {

// A fresh folder under the system temp dir, removed when the test ends.
class TempDir {
 public:
  TempDir() {
    std::string pattern = (std::filesystem::temp_directory_path() / "cfm-test-XXXXXX").string();
    path_ = mkdtemp(pattern.data());
  }
  ~TempDir() {
    std::error_code ignored;
    std::filesystem::remove_all(path_, ignored);
  }
  const std::filesystem::path& path() const { return path_; }
  std::string operator/(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

struct CommandResult {
  int exit_code = -1;
  std::string output;  // stdout and stderr together
};

inline CommandResult run_command(const std::string& command) {
  CommandResult result;
  std::FILE* pipe = popen((command + " 2>&1").c_str(), "r");
  if (!pipe) return result;
  char buffer[4096];
  while (std::size_t n = std::fread(buffer, 1, sizeof buffer, pipe)) result.output.append(buffer, n);
  int status = pclose(pipe);
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return result;
}

// Whether Debian's interpreter imports every module of `modules` ("torch, numpy"): the references of the
// parity tests (tools/). Each combination is asked once.
inline bool python_has(const std::string& modules) {
  static std::map<std::string, bool> known;
  auto [it, added] = known.try_emplace(modules, false);
  if (added) it->second = run_command("/usr/bin/python3 -c 'import " + modules + "'").exit_code == 0;
  return it->second;
}

// Under CI=true (.ci/run sets it) a test whose prerequisite is missing fails, so that a CI machine without
// the references cannot pass while checking less; elsewhere it is skipped with the reason (CTest lists it).
inline bool skips_allowed() {
  const char* ci = std::getenv("CI");
  return !(ci && std::string(ci) == "true");
}

}  // namespace cfm::test

// Stops the test when a prerequisite that scripts/setup.sh installs is missing: a skip naming it and the
// Debian package, or under CI=true a failure.
#define CFM_REQUIRE(available, missing, package)                                               \
  do {                                                                                         \
    if (!(available)) {                                                                        \
      if (::cfm::test::skips_allowed()) GTEST_SKIP() << (missing) << " (" << (package) << ")"; \
      FAIL() << (missing) << ": install " << (package) << " (scripts/setup.sh does)";          \
    }                                                                                          \
  } while (0)

// /usr/bin/python3 importing `modules`: the references of the parity tests (tools/).
#define CFM_REQUIRE_PYTHON(modules, package)                                                                \
  CFM_REQUIRE(::cfm::test::python_has(modules), std::string("/usr/bin/python3 cannot import ") + (modules), \
              package)
