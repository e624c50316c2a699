// docker-compose.yml cannot run here (no Docker engine): check its structure and that every command in
// it is a valid `cfm` invocation (CFM_CHECK_ARGS=1 parses a command line without running it).
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>

#include "test_support.h"

namespace cfm {
namespace {

std::string check_args(const YAML::Node& command) {
  std::string line = "CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY);
  for (std::size_t i = 1; i < command.size(); ++i) line += " '" + command[i].as<std::string>() + "'";
  auto r = test::run_command(line);
  return r.exit_code == 0 ? "" : line + "\n" + r.output;
}

std::string flag(const YAML::Node& command, const std::string& name) {
  for (std::size_t i = 0; i + 1 < command.size(); ++i)
    if (command[i].as<std::string>() == name) return command[i + 1].as<std::string>();
  return "";
}

bool has(const YAML::Node& list, const std::string& value) {
  for (const auto& item : list)
    if (item.as<std::string>() == value) return true;
  return false;
}

TEST(DockerCompose, CoordinatorAndGpuWorkersShareResultsAndAToken) {
  YAML::Node compose = YAML::LoadFile(std::string(CFM_SOURCE_DIR) + "/docker-compose.yml");
  YAML::Node coordinator = compose["services"]["coordinator"], worker = compose["services"]["worker"];
  ASSERT_TRUE(coordinator && worker);
  for (const YAML::Node& service : {coordinator, worker}) {
    EXPECT_EQ(service["command"][0].as<std::string>(), "cfm");
    EXPECT_EQ(check_args(service["command"]), "");
    EXPECT_TRUE(has(service["volumes"], "runs:/runs"));
    EXPECT_TRUE(has(service["secrets"], "cfm_token"));
    EXPECT_EQ(flag(service["command"], "--token-file"), "/run/secrets/cfm_token");
  }
  EXPECT_EQ(coordinator["command"][1].as<std::string>(), "serve");
  EXPECT_EQ(worker["command"][1].as<std::string>(), "worker");
  EXPECT_EQ(flag(coordinator["command"], "--db").rfind("/runs/", 0), 0u);
  // The workers reach the coordinator by its service name on the port it listens on.
  std::string listen = flag(coordinator["command"], "--listen"),
              target = flag(worker["command"], "--coordinator");
  EXPECT_EQ(target, "coordinator:" + listen.substr(listen.rfind(':') + 1));
  YAML::Node device = worker["deploy"]["resources"]["reservations"]["devices"][0];
  EXPECT_EQ(device["driver"].as<std::string>(), "nvidia");
  EXPECT_TRUE(has(device["capabilities"], "gpu"));
  EXPECT_TRUE(compose["volumes"]["runs"]);
  EXPECT_TRUE(compose["secrets"]["cfm_token"]["file"]);
}

TEST(DockerCompose, CheckArgsRejectsABadInvocation) {
  auto bad = test::run_command("CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY) +
                               " worker --coordinator x:1 --no-such-flag");
  EXPECT_EQ(bad.exit_code, 2) << bad.output;
  auto missing =
      test::run_command("CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY) + " serve --listen 0.0.0.0:1");
  EXPECT_EQ(missing.exit_code, 2) << missing.output;  // --db and --token-file are required
  auto submit = test::run_command("CFM_CHECK_ARGS=1 " + std::string(CFM_BINARY) +
                                  " submit /experiments/mvtec3d_full.yaml --coordinator coordinator:7733 "
                                  "--token-file /run/secrets/cfm_token");
  EXPECT_EQ(submit.exit_code, 0) << submit.output;  // the command in the file's usage notes
}

}  // namespace
}  // namespace cfm
